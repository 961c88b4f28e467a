package devpts

import (
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// mem is a fake application memory for ioctl arguments: addresses are
// offsets; addresses past the end fault.
type mem struct{ b []byte }

func newMem() *mem { return &mem{b: make([]byte, 256)} }

func (m *mem) CopyIn(addr uint64, dst []byte) (int, error) {
	if addr+uint64(len(dst)) > uint64(len(m.b)) {
		return 0, unix.EFAULT
	}
	return copy(dst, m.b[addr:]), nil
}

func (m *mem) CopyOut(addr uint64, src []byte) (int, error) {
	if addr+uint64(len(src)) > uint64(len(m.b)) {
		return 0, unix.EFAULT
	}
	return copy(m.b[addr:], src), nil
}

const badAddr = 1 << 20

// sigRec records signals sent through the hooks or a fake JobControl.
type sigRec struct {
	mu   sync.Mutex
	sent []pendingSignal
	hups []int32
}

func (r *sigRec) send(pgid int32, sig unix.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, pendingSignal{pgid, sig})
}

func (r *sigRec) take() []pendingSignal {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sent
	r.sent = nil
	return s
}

func (r *sigRec) hooks() Hooks { return Hooks{SignalProcessGroup: r.send} }

// fakeJC is a task with job-control state; groups maps each process
// group to its session.
type fakeJC struct {
	sid, pgid int32
	leader    bool
	ctty      any
	ignored   map[unix.Signal]bool
	orphaned  bool
	admin     bool
	groups    map[int32]int32
	rec       *sigRec
	cleared   []int32
}

func (j *fakeJC) SessionID() int32          { return j.sid }
func (j *fakeJC) ProcessGroupID() int32     { return j.pgid }
func (j *fakeJC) IsSessionLeader() bool     { return j.leader }
func (j *fakeJC) ControllingTTY() any       { return j.ctty }
func (j *fakeJC) SetControllingTTY(tty any) { j.ctty = tty }
func (j *fakeJC) ClearControllingTTY(sid int32, tty any) {
	j.cleared = append(j.cleared, sid)
	if j.sid == sid && j.ctty == tty {
		j.ctty = nil
	}
}
func (j *fakeJC) ProcessGroupSession(pg int32) (int32, bool) {
	s, ok := j.groups[pg]
	return s, ok
}
func (j *fakeJC) SignalProcessGroup(pg int32, sig unix.Signal) { j.rec.send(pg, sig) }
func (j *fakeJC) SignalIgnoredOrBlocked(sig unix.Signal) bool  { return j.ignored[sig] }
func (j *fakeJC) ProcessGroupOrphaned() bool                   { return j.orphaned }
func (j *fakeJC) HasCapSysAdmin() bool                         { return j.admin }

// pair is a pseudo-terminal with its master and one replica open.
type pair struct {
	fs      *FS
	master  *File
	replica *File
	rec     *sigRec
	m       *mem
}

func openMaster(t *testing.T, fs *FS) *File {
	t.Helper()
	impl, err := fs.OpenMaster(unix.O_RDWR)
	if err != nil {
		t.Fatalf("OpenMaster: %v", err)
	}
	return impl.(*File)
}

func unlock(t *testing.T, f *File) {
	t.Helper()
	m := newMem()
	if _, err := f.Ioctl(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("TIOCSPTLCK: %v", err)
	}
}

func openReplica(t *testing.T, fs *FS, idx int) (*File, error) {
	t.Helper()
	in, err := fs.Root().Lookup(strconv.Itoa(idx))
	if err != nil {
		return nil, err
	}
	impl, err := in.Open(unix.O_RDWR)
	if err != nil {
		return nil, err
	}
	return impl.(*File), nil
}

func newPair(t *testing.T) *pair {
	t.Helper()
	fs := New()
	rec := &sigRec{}
	fs.SetHooks(rec.hooks())
	m := openMaster(t, fs)
	unlock(t, m)
	r, err := openReplica(t, fs, m.TTY().Index())
	if err != nil {
		t.Fatalf("open replica: %v", err)
	}
	t.Cleanup(func() { _ = r.Close(); _ = m.Close() })
	return &pair{fs: fs, master: m, replica: r, rec: rec, m: newMem()}
}

func mustWrite(t *testing.T, f *File, s string) {
	t.Helper()
	n, err := f.WriteAt([]byte(s), 0)
	if err != nil || n != len(s) {
		t.Fatalf("write %q: %d, %v", s, n, err)
	}
}

// readNow reads what is there (up to 64 KiB); "" on EAGAIN.
func readNow(t *testing.T, f *File) string {
	t.Helper()
	b := make([]byte, 1<<16)
	n, err := f.ReadAt(b, 0)
	if errors.Is(err, unix.EAGAIN) {
		return ""
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b[:n])
}

// readWait is the syscall layer's blocking read: retry on EAGAIN after a
// notification, as waitFor does.
func readWait(f *File, b []byte, timeout time.Duration) (int, error) {
	ch := waiter.NewChannel()
	f.EventRegister(ch, waiter.EventIn|waiter.EventHUp|waiter.EventErr)
	defer f.EventUnregister(ch)
	deadline := time.After(timeout)
	for {
		n, err := f.ReadAt(b, 0)
		if err != unix.EAGAIN {
			return n, err
		}
		select {
		case <-ch:
		case <-deadline:
			return 0, unix.ETIMEDOUT
		}
	}
}

// writeWait is the syscall layer's blocking write.
func writeWait(f *File, b []byte, timeout time.Duration) (int, error) {
	ch := waiter.NewChannel()
	f.EventRegister(ch, waiter.EventOut|waiter.EventHUp|waiter.EventErr)
	defer f.EventUnregister(ch)
	deadline := time.After(timeout)
	done := 0
	for done < len(b) {
		n, err := f.WriteAt(b[done:], 0)
		done += n
		if err != nil && err != unix.EAGAIN {
			return done, err
		}
		if err == unix.EAGAIN {
			for f.Readiness(waiter.EventOut|waiter.EventErr) == 0 {
				select {
				case <-ch:
				case <-deadline:
					return done, unix.ETIMEDOUT
				}
			}
		}
	}
	return done, nil
}

func (p *pair) termios(t *testing.T) Termios {
	t.Helper()
	if _, err := p.replica.Ioctl(p.m, unix.TCGETS, 0); err != nil {
		t.Fatalf("TCGETS: %v", err)
	}
	return DecodeTermios(p.m.b)
}

func (p *pair) setTermios(t *testing.T, tm Termios) {
	t.Helper()
	copy(p.m.b, tm.Encode())
	if _, err := p.replica.Ioctl(p.m, unix.TCSETS, 0); err != nil {
		t.Fatalf("TCSETS: %v", err)
	}
}

func (p *pair) update(t *testing.T, fn func(*Termios)) {
	t.Helper()
	tm := p.termios(t)
	fn(&tm)
	p.setTermios(t, tm)
}

func intAt(m *mem, addr uint64) int32 { return int32(binary.LittleEndian.Uint32(m.b[addr:])) }

func putInt(m *mem, addr uint64, v int32) { binary.LittleEndian.PutUint32(m.b[addr:], uint32(v)) }

var _ vfs.IoctlIO = (*mem)(nil)
