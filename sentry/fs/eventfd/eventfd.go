// Package eventfd implements eventfd(2): a 64-bit counter that reads drain
// (or decrement, in semaphore mode) and writes add to.
package eventfd

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// maxValue is the largest value the counter can hold.
const maxValue = ^uint64(0) - 1

// File is an eventfd.
type File struct {
	attr      unix.Stat_t
	semaphore bool
	queue     waiter.Queue

	// mu protects value.
	mu    sync.Mutex
	value uint64
}

// New returns an eventfd starting at initval.
func New(initval uint64, semaphore bool) *File {
	return &File{attr: synth.Attr(synth.NewIno(), 0o600, 0), value: initval, semaphore: semaphore}
}

func (*File) IsStream() bool               { return true }
func (f *File) Stat() (unix.Stat_t, error) { return f.attr, nil }
func (*File) Close() error                 { return nil }

// ReadAt reads the counter: EINVAL for a buffer under 8 bytes, EAGAIN
// when it is zero.
func (f *File) ReadAt(dst []byte, _ int64) (int, error) {
	if len(dst) < 8 {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	if f.value == 0 {
		f.mu.Unlock()
		return 0, unix.EAGAIN
	}
	v := f.value
	if f.semaphore {
		v = 1
	}
	f.value -= v
	f.mu.Unlock()
	binary.LittleEndian.PutUint64(dst, v)
	f.queue.Notify(waiter.EventOut)
	return 8, nil
}

// WriteAt adds to the counter: EINVAL for a short buffer or the value
// 2^64-1, EAGAIN while it would overflow.
func (f *File) WriteAt(src []byte, _ int64) (int, error) {
	if len(src) < 8 {
		return 0, unix.EINVAL
	}
	v := binary.LittleEndian.Uint64(src)
	if v == ^uint64(0) {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	if maxValue-f.value < v {
		f.mu.Unlock()
		return 0, unix.EAGAIN
	}
	f.value += v
	f.mu.Unlock()
	if v != 0 {
		f.queue.Notify(waiter.EventIn)
	}
	return 8, nil
}

// Readiness implements waiter.Waitable.
func (f *File) Readiness(mask uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var r uint32
	if f.value > 0 {
		r |= waiter.EventIn
	}
	if f.value < maxValue {
		r |= waiter.EventOut
	}
	return r & mask
}

func (f *File) EventRegister(ch chan struct{}, mask uint32) { f.queue.EventRegister(ch, mask) }
func (f *File) EventUnregister(ch chan struct{})            { f.queue.EventUnregister(ch) }
