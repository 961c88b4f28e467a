// Package eventpoll implements epoll(7) instances: an interest list of
// (file, descriptor) pairs whose readiness is asked of each file, level- or
// edge-triggered, with EPOLLONESHOT and EPOLLEXCLUSIVE accepted.
package eventpoll

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Flags of an interest's events word that are not events.
const (
	EPOLLET        = 1 << 31
	EPOLLONESHOT   = 1 << 30
	EPOLLWAKEUP    = 1 << 29
	EPOLLEXCLUSIVE = 1 << 28
	flagMask       = EPOLLET | EPOLLONESHOT | EPOLLWAKEUP | EPOLLEXCLUSIVE
	// alwaysReported are reported whether asked for or not.
	alwaysReported = waiter.EventErr | waiter.EventHUp
)

// key identifies an interest: the same file may be registered under
// several descriptors.
type key struct {
	file *vfs.File
	fd   int32
}

// interest is one registered descriptor.
type interest struct {
	key    key
	events uint32
	data   uint64
	// cb is what the file notifies: notified below, then the instance's
	// waiters, in the notifier's goroutine (a file whose queue does not
	// take callbacks gets a goroutine that relays its sends instead).
	cb *waiter.Callback
	// notified is set by cb and taken by Ready: an edge not yet
	// reported, seen synchronously (a file notifies before the syscall
	// that made it ready returns).
	notified atomic.Bool
	// disabled is set after a one-shot interest fired.
	disabled bool
	// edge is set when an edge-triggered interest must be reported
	// once more (when added, modified or notified); ep.mu protects it.
	edge bool
}

// Event is one ready interest, as epoll_wait reports it.
type Event struct {
	Events uint32
	Data   uint64
}

// Instance is an epoll instance (the description behind an epoll fd).
type Instance struct {
	attr unix.Stat_t
	// queue wakes waiters of the instance itself (an epoll fd can be
	// polled or nested).
	queue waiter.Queue

	// mu protects interests.
	mu        sync.Mutex
	interests map[key]*interest
	// notify is signalled by every interest's file; epoll_wait blocks on
	// it.
	notify chan struct{}
}

// New returns an empty instance.
func New() *Instance {
	return &Instance{
		attr:      synth.Attr(synth.NewIno(), 0o600, 0),
		interests: make(map[key]*interest),
		notify:    waiter.NewChannel(),
	}
}

// Notify returns the channel epoll_wait waits on.
func (ep *Instance) Notify() <-chan struct{} { return ep.notify }

// wake tells the instance's waiters that an interest's file notified. It
// runs in the notifier's goroutine with the file's queue locked, so it
// takes no lock of the instance's but its queue's (an instance watching
// this one is never watched by it: Add refuses cycles).
func (ep *Instance) wake(in *interest) {
	in.notified.Store(true)
	select {
	case ep.notify <- struct{}{}:
	default:
	}
	ep.queue.Notify(waiter.EventIn)
}

// register makes w notify in for events.
func register(w waiter.Waitable, in *interest, events uint32) {
	w.EventRegister(in.cb.Channel(), events|alwaysReported)
}

// Add implements EPOLL_CTL_ADD.
func (ep *Instance) Add(file *vfs.File, fd int32, events uint32, data uint64) error {
	w, ok := file.Impl().(waiter.Waitable)
	if !ok {
		// Regular files and directories cannot be polled by epoll.
		return unix.EPERM
	}
	if file.Impl() == vfs.FileImpl(ep) {
		return unix.EINVAL
	}
	if events&EPOLLEXCLUSIVE != 0 && events&EPOLLONESHOT != 0 {
		return unix.EINVAL
	}
	if inner, ok := file.Impl().(*Instance); ok {
		if events&EPOLLEXCLUSIVE != 0 {
			return unix.EINVAL
		}
		// No cycles, and at most EPOLL_MAX_NESTS levels of nesting.
		if inner.reaches(ep, 0) || inner.depth(0)+ep.height() > maxNests {
			return unix.ELOOP
		}
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	k := key{file, fd}
	if _, ok := ep.interests[k]; ok {
		return unix.EEXIST
	}
	in := &interest{key: k, events: events, data: data, edge: true}
	in.cb = waiter.NewCallback(func() { ep.wake(in) })
	// No reference on the file: like Linux, the interest goes when the
	// file's last descriptor is closed.
	file.OnRelease(ep, func() { ep.RemoveFile(file) })
	ep.interests[k] = in
	register(w, in, events)
	if !in.cb.Adopted() {
		go in.cb.Relay()
	}
	// Make an already-ready file visible to a waiter.
	select {
	case ep.notify <- struct{}{}:
	default:
	}
	return nil
}

// Modify implements EPOLL_CTL_MOD.
func (ep *Instance) Modify(file *vfs.File, fd int32, events uint32, data uint64) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	in, ok := ep.interests[key{file, fd}]
	if !ok {
		return unix.ENOENT
	}
	if in.events&EPOLLEXCLUSIVE != 0 || events&EPOLLEXCLUSIVE != 0 {
		return unix.EINVAL
	}
	in.events, in.data, in.disabled, in.edge = events, data, false, true
	w := file.Impl().(waiter.Waitable)
	w.EventUnregister(in.cb.Channel())
	register(w, in, events)
	select {
	case ep.notify <- struct{}{}:
	default:
	}
	return nil
}

// Delete implements EPOLL_CTL_DEL.
func (ep *Instance) Delete(file *vfs.File, fd int32) error {
	ep.mu.Lock()
	in, ok := ep.interests[key{file, fd}]
	delete(ep.interests, key{file, fd})
	ep.mu.Unlock()
	if !ok {
		return unix.ENOENT
	}
	ep.drop(in)
	return nil
}

func (ep *Instance) drop(in *interest) {
	w := in.key.file.Impl().(waiter.Waitable)
	w.EventUnregister(in.cb.Channel())
	in.cb.Release()
}

// Ready returns up to max ready events. Level-triggered interests are
// reported while ready; edge-triggered ones (EPOLLET) once per
// notification, which Linux approximates the same way for files that only
// signal changes.
func (ep *Instance) Ready(max int) []Event {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	var out []Event
	for _, in := range ep.interests {
		if len(out) >= max {
			break
		}
		if in.disabled {
			continue
		}
		et := in.events&EPOLLET != 0
		if et {
			if in.notified.Swap(false) {
				in.edge = true
			}
			if !in.edge {
				continue
			}
		}
		mask := in.events&^flagMask | alwaysReported
		ready := in.key.file.Impl().(waiter.Waitable).Readiness(mask)
		if ready == 0 {
			continue
		}
		if et {
			in.edge = false
		}
		out = append(out, Event{Events: ready, Data: in.data})
		if in.events&EPOLLONESHOT != 0 {
			in.disabled = true
		}
	}
	return out
}

// maxNests is EPOLL_MAX_NESTS.
const maxNests = 4

// reaches reports whether target is ep or is watched, directly or through
// nested instances, by ep.
func (ep *Instance) reaches(target *Instance, level int) bool {
	if ep == target {
		return true
	}
	if level > maxNests {
		return true
	}
	for _, inner := range ep.nested() {
		if inner.reaches(target, level+1) {
			return true
		}
	}
	return false
}

// depth returns how many levels of instances ep watches below itself.
func (ep *Instance) depth(level int) int {
	if level > maxNests {
		return level
	}
	d := 0
	for _, inner := range ep.nested() {
		d = max(d, 1+inner.depth(level+1))
	}
	return d
}

// height is how deep ep is nested in other instances; instances do not
// track their watchers, so a nest is limited from the top only.
func (ep *Instance) height() int { return 1 }

// nested returns the instances ep watches.
func (ep *Instance) nested() []*Instance {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	var out []*Instance
	for k := range ep.interests {
		if inner, ok := k.file.Impl().(*Instance); ok {
			out = append(out, inner)
		}
	}
	return out
}

// Release drops every interest (the instance's last descriptor closed).
func (ep *Instance) Release() {
	ep.mu.Lock()
	ins := ep.interests
	ep.interests = nil
	ep.mu.Unlock()
	for _, in := range ins {
		in.key.file.CancelOnRelease(ep)
		ep.drop(in)
	}
}

// RemoveFile drops the interests of file when its last descriptor closes;
// Linux removes them automatically then.
func (ep *Instance) RemoveFile(file *vfs.File) {
	ep.mu.Lock()
	var gone []*interest
	for k, in := range ep.interests {
		if k.file == file {
			gone = append(gone, in)
			delete(ep.interests, k)
		}
	}
	ep.mu.Unlock()
	for _, in := range gone {
		ep.drop(in)
	}
}

// The instance is itself a file.

func (*Instance) IsStream() bool                              { return true }
func (*Instance) ReadAt([]byte, int64) (int, error)           { return 0, unix.EINVAL }
func (*Instance) WriteAt([]byte, int64) (int, error)          { return 0, unix.EINVAL }
func (ep *Instance) Stat() (unix.Stat_t, error)               { return ep.attr, nil }
func (ep *Instance) Close() error                             { ep.Release(); return nil }
func (ep *Instance) EventRegister(ch chan struct{}, m uint32) { ep.queue.EventRegister(ch, m) }
func (ep *Instance) EventUnregister(ch chan struct{})         { ep.queue.EventUnregister(ch) }

// Readiness implements waiter.Waitable: readable when an event is ready.
func (ep *Instance) Readiness(mask uint32) uint32 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for _, in := range ep.interests {
		if in.disabled {
			continue
		}
		if in.key.file.Impl().(waiter.Waitable).Readiness(in.events&^flagMask|alwaysReported) != 0 {
			return waiter.EventIn & mask
		}
	}
	return 0
}
