package devpts

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// File is an open end of a pseudo-terminal: the master (from /dev/ptmx) or
// a replica (/dev/pts/N). It implements vfs.FileImpl, vfs.Streamer,
// vfs.Nonblocker, vfs.Ioctler and waiter.Waitable.
type File struct {
	t        *TTY
	master   bool
	readable bool
	nonblock atomic.Bool
	closed   sync.Once

	// VTIME state of a replica read, protected by t.mu: the deadline of
	// the read waiting now, the input count it was armed at (VMIN > 0:
	// VTIME times the gap between bytes), and the timer that wakes it.
	vtDeadline time.Time
	vtAvail    int
	vtTimer    *time.Timer
}

// TTY returns the terminal this file is an end of.
func (f *File) TTY() *TTY { return f.t }

// IsMaster reports whether f is the master end.
func (f *File) IsMaster() bool { return f.master }

// IsStream implements vfs.Streamer.
func (*File) IsStream() bool { return true }

// SetNonblocking implements vfs.Nonblocker. A non-blocking replica read
// returns what is there, whatever VMIN and VTIME say (as Linux).
func (f *File) SetNonblocking(nb bool) { f.nonblock.Store(nb) }

// Stat implements vfs.FileImpl.Stat: the master is /dev/ptmx (c 5,2), a
// replica /dev/pts/N.
func (f *File) Stat() (unix.Stat_t, error) {
	if f.master {
		return f.t.fs.ptmx.attr, nil
	}
	return f.t.attr(), nil
}

// Close implements vfs.FileImpl.Close. Closing the master hangs up the
// replica: its reads return 0, its writes and most ioctls fail with EIO,
// its node goes away, and the session it controls is hung up (Hooks).
// Closing the last replica makes master reads fail with EIO once drained
// and polls report EPOLLHUP, until a replica is opened again.
func (f *File) Close() error {
	f.closed.Do(func() {
		if f.master {
			f.t.closeMaster()
			return
		}
		f.t.mu.Lock()
		f.stopTimerLocked()
		f.t.mu.Unlock()
		f.t.closeReplica()
	})
	return nil
}

// OpenPeer opens the replica of this master (TIOCGPTPEER, whose new
// descriptor the syscall layer installs): EIO while locked, EBUSY while
// exclusive, EINVAL for flags other than O_ACCMODE, O_NOCTTY, O_NONBLOCK
// and O_CLOEXEC, ENOTTY on a replica.
func (f *File) OpenPeer(flags int) (vfs.FileImpl, error) {
	if !f.master {
		return nil, unix.ENOTTY
	}
	if flags&^(unix.O_ACCMODE|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC) != 0 {
		return nil, unix.EINVAL
	}
	return f.t.openReplica(flags)
}

// SetControllingTTYOnOpen is for the syscall layer after it opened a
// replica for jc with open(2) flags: as Linux's tty_open_proc_set_tty, a
// session leader without a controlling terminal that opens a terminal no
// session has, readable and without O_NOCTTY, acquires it. The master is
// never acquired this way.
func (f *File) SetControllingTTYOnOpen(jc JobControl, flags int) {
	if f.master || jc == nil || flags&unix.O_NOCTTY != 0 || !f.readable {
		return
	}
	if !jc.IsSessionLeader() || jc.ControllingTTY() != nil {
		return
	}
	t := f.t
	sid, pg := jc.SessionID(), jc.ProcessGroupID()
	t.mu.Lock()
	if t.session != 0 || t.hungUp {
		t.mu.Unlock()
		return
	}
	t.session, t.pgrp = sid, pg
	t.mu.Unlock()
	jc.SetControllingTTY(t)
}

// ReadAt implements vfs.FileImpl.ReadAt: ReadTask without job control.
func (f *File) ReadAt(dst []byte, _ int64) (int, error) { return f.ReadTask(nil, dst) }

// WriteAt implements vfs.FileImpl.WriteAt: WriteTask without job control.
func (f *File) WriteAt(src []byte, _ int64) (int, error) { return f.WriteTask(nil, src) }

// ReadTask reads for the task jc (nil: no job control). It never blocks:
// EAGAIN means wait for EventIn and retry. On a replica that is jc's
// controlling terminal, a background process group gets SIGTTIN and
// ErrJobControlStop (EIO when SIGTTIN is ignored or blocked or the group
// is orphaned). A hung-up replica reads 0; a master whose replicas all
// closed reads EIO once drained.
func (f *File) ReadTask(jc JobControl, dst []byte) (int, error) {
	if f.master {
		return f.masterRead(dst)
	}
	if err := f.t.checkChange(jc, unix.SIGTTIN); err != nil {
		return 0, err
	}
	return f.replicaRead(dst)
}

// WriteTask writes for the task jc (nil: no job control). It takes what
// fits and never blocks: EAGAIN means nothing fitted (or output is stopped
// by ^S); wait for EventOut and retry. With TOSTOP, a background process
// group writing to its controlling terminal gets SIGTTOU and
// ErrJobControlStop (EIO if orphaned; ignoring or blocking SIGTTOU lets
// it write). A hung-up replica fails with EIO, and so does the master
// while no replica is open.
func (f *File) WriteTask(jc JobControl, src []byte) (int, error) {
	t := f.t
	if f.master {
		t.mu.Lock()
		defer t.unlock()
		if t.replicas == 0 {
			return 0, unix.EIO
		}
		if len(src) == 0 {
			return 0, nil
		}
		if n := t.masterWriteLocked(src); n > 0 {
			return n, nil
		}
		return 0, unix.EAGAIN
	}
	t.mu.Lock()
	tostop := t.termios.lflag(unix.TOSTOP)
	t.mu.Unlock()
	if tostop {
		if err := t.checkChange(jc, unix.SIGTTOU); err != nil {
			return 0, err
		}
	}
	t.mu.Lock()
	defer t.unlock()
	if t.hungUp {
		return 0, unix.EIO
	}
	if len(src) == 0 {
		return 0, nil
	}
	if t.stopped {
		return 0, unix.EAGAIN
	}
	if n := t.replicaWriteLocked(src); n > 0 {
		return n, nil
	}
	return 0, unix.EAGAIN
}

func (f *File) masterRead(dst []byte) (int, error) {
	t := f.t
	t.mu.Lock()
	defer t.unlock()
	if len(dst) == 0 {
		return 0, nil
	}
	if t.packet && t.pktStatus != 0 {
		dst[0] = t.pktStatus
		t.pktStatus = 0
		return 1, nil
	}
	if len(t.out) == 0 {
		if t.otherClosed {
			return 0, unix.EIO
		}
		return 0, unix.EAGAIN
	}
	off := 0
	if t.packet {
		dst[0] = unix.TIOCPKT_DATA
		off = 1
	}
	n := copy(dst[off:], t.out)
	if n == len(t.out) {
		t.out = nil
	} else {
		t.out = t.out[n:]
	}
	t.notifyR |= waiter.EventOut
	return n + off, nil
}

func (f *File) replicaRead(dst []byte) (int, error) {
	t := f.t
	t.mu.Lock()
	defer t.unlock()
	if t.hungUp || len(dst) == 0 {
		return 0, nil
	}
	if t.canonLocked() {
		if len(t.marks) == 0 {
			return 0, unix.EAGAIN
		}
		n := copy(dst, t.in[:t.marks[0]])
		t.consumeLocked(n)
		return n, nil
	}
	vmin, vtime := int(t.termios.CC[unix.VMIN]), int(t.termios.CC[unix.VTIME])
	avail := len(t.in)
	if f.nonblock.Load() {
		if avail == 0 {
			if vmin == 0 && vtime == 0 {
				return 0, nil
			}
			return 0, unix.EAGAIN
		}
		return f.takeLocked(dst), nil
	}
	need := min(vmin, len(dst))
	switch {
	case avail > 0 && avail >= need:
		return f.takeLocked(dst), nil
	case vmin == 0 && vtime == 0:
		return 0, nil
	case vtime == 0 || avail == 0 && vmin > 0:
		// Wait for VMIN bytes, or for the first one before VTIME runs.
		f.stopTimerLocked()
		return 0, unix.EAGAIN
	}
	// VTIME runs: a read timeout (VMIN 0) or the gap between bytes.
	d := time.Duration(vtime) * 100 * time.Millisecond
	now := time.Now()
	// A deadline well past is the leftover of a read that was
	// interrupted; this read starts its own.
	if f.vtDeadline.IsZero() || f.vtAvail != avail || now.Sub(f.vtDeadline) > d {
		f.stopTimerLocked()
		f.vtDeadline, f.vtAvail = now.Add(d), avail
		f.vtTimer = time.AfterFunc(d, func() { t.rq.Notify(waiter.EventIn) })
		return 0, unix.EAGAIN
	}
	if now.Before(f.vtDeadline) {
		return 0, unix.EAGAIN
	}
	if avail == 0 {
		f.stopTimerLocked()
		return 0, nil
	}
	return f.takeLocked(dst), nil
}

// takeLocked reads non-canonical input into dst.
func (f *File) takeLocked(dst []byte) int {
	f.stopTimerLocked()
	n := copy(dst, f.t.in)
	f.t.consumeLocked(n)
	return n
}

func (f *File) stopTimerLocked() {
	if f.vtTimer != nil {
		f.vtTimer.Stop()
		f.vtTimer = nil
	}
	f.vtDeadline, f.vtAvail = time.Time{}, 0
}

// consumeLocked drops n bytes read from the front of in and lets more
// input in.
// In canonical mode the read line is dropped once read to its end.
func (t *TTY) consumeLocked(n int) {
	t.in = append(t.in[:0], t.in[n:]...)
	for i := range t.marks {
		t.marks[i] -= n
	}
	if len(t.marks) > 0 && t.marks[0] == 0 {
		t.marks = t.marks[1:]
		if len(t.marks) == 0 {
			t.marks = nil
		}
	}
	t.processInputLocked()
}

// Readiness implements waiter.Waitable with Linux's n_tty_poll and
// hung_up_tty_poll.
func (f *File) Readiness(mask uint32) uint32 {
	t := f.t
	t.mu.Lock()
	defer t.mu.Unlock()
	var ready uint32
	if f.master {
		if len(t.out) > 0 {
			ready |= waiter.EventIn
		}
		if t.packet && t.pktStatus != 0 {
			ready |= waiter.EventIn | waiter.EventPri
		}
		if t.otherClosed {
			ready |= waiter.EventHUp
		}
		if len(t.raw) < flipBufSize {
			ready |= waiter.EventOut
		}
		return ready & mask
	}
	if t.hungUp {
		return (waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp) & mask
	}
	if t.canonLocked() {
		if len(t.marks) > 0 {
			ready |= waiter.EventIn
		}
	} else {
		amt := 1
		if vmin := int(t.termios.CC[unix.VMIN]); vmin > 0 && t.termios.CC[unix.VTIME] == 0 {
			amt = vmin
		}
		if len(t.in) >= amt {
			ready |= waiter.EventIn
		}
	}
	if !t.stopped && flipBufSize-len(t.out) >= maxExpansion {
		ready |= waiter.EventOut
	}
	return ready & mask
}

// EventRegister implements waiter.Waitable.
func (f *File) EventRegister(ch chan struct{}, mask uint32) { f.queue().EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (f *File) EventUnregister(ch chan struct{}) { f.queue().EventUnregister(ch) }

func (f *File) queue() *waiter.Queue {
	if f.master {
		return &f.t.mq
	}
	return &f.t.rq
}

// --- ioctl ---

// Ioctl implements vfs.Ioctler: IoctlTask without job control, so the
// requests that need the caller (TIOCSCTTY, TIOCNOTTY, TIOCSPGRP) fail
// with ENOTTY and the others skip the background checks.
func (f *File) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	return f.IoctlTask(nil, io, request, arg)
}

func copyOut(io vfs.IoctlIO, addr uint64, b []byte) error {
	if _, err := io.CopyOut(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}

func copyIn(io vfs.IoctlIO, addr uint64, b []byte) error {
	if _, err := io.CopyIn(addr, b); err != nil {
		return unix.EFAULT
	}
	return nil
}

func copyOutInt(io vfs.IoctlIO, addr uint64, v int32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	return copyOut(io, addr, b[:])
}

func copyInInt(io vfs.IoctlIO, addr uint64) (int32, error) {
	var b [4]byte
	if err := copyIn(io, addr, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.LittleEndian.Uint32(b[:])), nil
}

// IoctlTask serves ioctl(2) for the task jc (nil: none). termios, window
// size and job-control requests on either end act on the replica's
// settings, as Linux's pty does. TIOCGPTPEER is ENOTTY here: the syscall
// layer serves it with OpenPeer.
func (f *File) IoctlTask(jc JobControl, io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	t := f.t
	if !f.master {
		t.mu.Lock()
		hung := t.hungUp
		t.mu.Unlock()
		if hung {
			if request == unix.TIOCSPGRP {
				return 0, unix.ENOTTY
			}
			return 0, unix.EIO
		}
	}
	switch request {
	case unix.TCGETS, unix.TCGETS2:
		t.mu.Lock()
		tm, is, os := t.termios, t.ispeed, t.ospeed
		t.mu.Unlock()
		b := tm.Encode()
		if request == unix.TCGETS2 {
			b = binary.LittleEndian.AppendUint32(b, is)
			b = binary.LittleEndian.AppendUint32(b, os)
		}
		return 0, copyOut(io, arg, b)

	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF, unix.TCSETS2, unix.TCSETSW2, unix.TCSETSF2:
		if err := t.checkChange(jc, unix.SIGTTOU); err != nil {
			return 0, err
		}
		two := request == unix.TCSETS2 || request == unix.TCSETSW2 || request == unix.TCSETSF2
		b := make([]byte, termiosSize)
		if two {
			b = make([]byte, termios2Size)
		}
		if err := copyIn(io, arg, b); err != nil {
			return 0, err
		}
		nt := DecodeTermios(b)
		t.mu.Lock()
		if two {
			t.ispeed = binary.LittleEndian.Uint32(b[36:])
			t.ospeed = binary.LittleEndian.Uint32(b[40:])
		} else if nt.Cflag&unix.CBAUD != t.termios.Cflag&unix.CBAUD {
			if s, ok := baudRates[nt.Cflag&unix.CBAUD]; ok {
				t.ispeed, t.ospeed = s, s
			}
		}
		if request == unix.TCSETSF || request == unix.TCSETSF2 {
			t.flushInputLocked()
		}
		t.setTermiosLocked(nt)
		t.unlock()
		return 0, nil

	case unix.TIOCGWINSZ:
		t.mu.Lock()
		ws := t.winsize
		t.mu.Unlock()
		return 0, copyOut(io, arg, ws.encode())

	case unix.TIOCSWINSZ:
		b := make([]byte, winsizeSize)
		if err := copyIn(io, arg, b); err != nil {
			return 0, err
		}
		ws := decodeWinsize(b)
		t.mu.Lock()
		if ws != t.winsize {
			t.winsize = ws
			t.signalLocked(t.pgrp, unix.SIGWINCH)
		}
		t.unlock()
		return 0, nil

	case unix.TIOCGPTN, unix.TIOCSPTLCK, unix.TIOCGPTLCK, unix.TIOCPKT, unix.TIOCGPKT, unix.TIOCSIG:
		if !f.master {
			return 0, unix.ENOTTY
		}
		return f.masterIoctl(io, request, arg)

	case unix.TIOCGPTPEER:
		return 0, unix.ENOTTY

	case unix.TIOCINQ:
		t.mu.Lock()
		n := len(t.out)
		if !f.master {
			n = t.readableLocked()
		}
		t.mu.Unlock()
		return 0, copyOutInt(io, arg, int32(n))

	case unix.TIOCOUTQ:
		t.mu.Lock()
		n := len(t.raw)
		if !f.master {
			n = len(t.out)
		}
		t.mu.Unlock()
		return 0, copyOutInt(io, arg, int32(n))

	case unix.TCFLSH:
		if arg > unix.TCIOFLUSH {
			return 0, unix.EINVAL
		}
		if !f.master {
			if err := t.checkChange(jc, unix.SIGTTOU); err != nil {
				return 0, err
			}
		}
		t.mu.Lock()
		if arg == unix.TCIFLUSH || arg == unix.TCIOFLUSH {
			if f.master {
				// The master's input is what the replica wrote.
				if len(t.out) > 0 {
					t.notifyR |= waiter.EventOut
				}
				t.out = nil
			} else {
				t.flushInputLocked()
			}
		}
		if (arg == unix.TCOFLUSH || arg == unix.TCIOFLUSH) && !f.master {
			// Linux's pty_flush_buffer drops nothing, it only
			// tells a packet-mode master.
			t.setPktLocked(unix.TIOCPKT_FLUSHWRITE)
		}
		t.unlock()
		return 0, nil

	case unix.TCXONC:
		if !f.master {
			if err := t.checkChange(jc, unix.SIGTTOU); err != nil {
				return 0, err
			}
		}
		t.mu.Lock()
		defer t.unlock()
		switch arg {
		case unix.TCOOFF:
			t.stopLocked()
		case unix.TCOON:
			t.startLocked()
		case unix.TCIOFF, unix.TCION:
			// Sending STOP/START to the other end: nothing to do
			// for a pseudo-terminal.
		default:
			return 0, unix.EINVAL
		}
		return 0, nil

	case unix.TCSBRK, unix.TCSBRKP, unix.TIOCSBRK, unix.TIOCCBRK:
		// No output queue to drain and no line to break.
		return 0, nil

	case unix.TIOCEXCL, unix.TIOCNXCL:
		t.mu.Lock()
		t.exclusive = request == unix.TIOCEXCL
		t.mu.Unlock()
		return 0, nil

	case unix.TIOCGEXCL:
		t.mu.Lock()
		ex := t.exclusive
		t.mu.Unlock()
		v := int32(0)
		if ex {
			v = 1
		}
		return 0, copyOutInt(io, arg, v)

	case unix.TIOCGETD:
		return 0, copyOutInt(io, arg, 0) // N_TTY

	case unix.TIOCSCTTY:
		return 0, f.setCTTY(jc, arg)

	case unix.TIOCNOTTY:
		if jc == nil || f.master || !t.isCTTY(jc) {
			return 0, unix.ENOTTY
		}
		if jc.IsSessionLeader() {
			sid := jc.SessionID()
			t.Disassociate(false)
			jc.ClearControllingTTY(sid, t)
		} else {
			jc.SetControllingTTY(nil)
		}
		return 0, nil

	case unix.TIOCGPGRP, unix.TIOCGSID:
		if !f.master && (jc == nil || !t.isCTTY(jc)) {
			return 0, unix.ENOTTY
		}
		t.mu.Lock()
		pg, sid := t.pgrp, t.session
		t.mu.Unlock()
		if request == unix.TIOCGSID {
			if sid == 0 {
				return 0, unix.ENOTTY
			}
			return 0, copyOutInt(io, arg, pidToUser(jc, sid))
		}
		return 0, copyOutInt(io, arg, pidToUser(jc, pg))

	case unix.TIOCSPGRP:
		if jc == nil {
			return 0, unix.ENOTTY
		}
		if err := t.checkChange(jc, unix.SIGTTOU); err != nil {
			if err == unix.EIO {
				return 0, unix.ENOTTY
			}
			return 0, err
		}
		pg, err := copyInInt(io, arg)
		if err != nil {
			return 0, err
		}
		if pg < 0 {
			return 0, unix.EINVAL
		}
		if tr, ok := jc.(PIDTranslator); ok {
			if pg, ok = tr.PIDFromUser(pg); !ok {
				return 0, unix.ESRCH
			}
		}
		mySID := jc.SessionID()
		if !t.isCTTY(jc) || t.SessionID() != mySID {
			return 0, unix.ENOTTY
		}
		sid, ok := jc.ProcessGroupSession(pg)
		if !ok {
			return 0, unix.ESRCH
		}
		if sid != mySID {
			return 0, unix.EPERM
		}
		t.mu.Lock()
		t.pgrp = pg
		t.mu.Unlock()
		return 0, nil
	}
	return 0, unix.ENOTTY
}

// masterIoctl serves the requests only the master has.
func (f *File) masterIoctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	t := f.t
	switch request {
	case unix.TIOCGPTN:
		return 0, copyOutInt(io, arg, int32(t.index))
	case unix.TIOCSPTLCK:
		v, err := copyInInt(io, arg)
		if err != nil {
			return 0, err
		}
		t.mu.Lock()
		t.locked = v != 0
		t.mu.Unlock()
		return 0, nil
	case unix.TIOCGPTLCK:
		t.mu.Lock()
		l := t.locked
		t.mu.Unlock()
		v := int32(0)
		if l {
			v = 1
		}
		return 0, copyOutInt(io, arg, v)
	case unix.TIOCPKT:
		v, err := copyInInt(io, arg)
		if err != nil {
			return 0, err
		}
		t.mu.Lock()
		t.packet = v != 0
		t.pktStatus = 0
		t.mu.Unlock()
		return 0, nil
	case unix.TIOCGPKT:
		t.mu.Lock()
		p := t.packet
		t.mu.Unlock()
		v := int32(0)
		if p {
			v = 1
		}
		return 0, copyOutInt(io, arg, v)
	case unix.TIOCSIG:
		sig := unix.Signal(arg)
		if sig != unix.SIGINT && sig != unix.SIGQUIT && sig != unix.SIGTSTP {
			return 0, unix.EINVAL
		}
		t.mu.Lock()
		t.signalLocked(t.pgrp, sig)
		t.unlock()
		return 0, nil
	}
	return 0, unix.ENOTTY
}

// setCTTY is TIOCSCTTY (Linux's tiocsctty) on either end: it makes the
// replica the caller's controlling terminal.
func (f *File) setCTTY(jc JobControl, arg uint64) error {
	if jc == nil {
		return unix.ENOTTY
	}
	t := f.t
	sid := jc.SessionID()
	leader := jc.IsSessionLeader()
	cur := t.SessionID()
	if leader && cur == sid {
		return nil
	}
	if !leader || jc.ControllingTTY() != nil {
		return unix.EPERM
	}
	if cur != 0 {
		if arg != 1 || !jc.HasCapSysAdmin() {
			return unix.EPERM
		}
		// Steal it from the session that has it.
		jc.ClearControllingTTY(cur, t)
	}
	if !f.readable && !jc.HasCapSysAdmin() {
		return unix.EPERM
	}
	pg := jc.ProcessGroupID()
	t.mu.Lock()
	t.session, t.pgrp = sid, pg
	t.mu.Unlock()
	jc.SetControllingTTY(t)
	return nil
}

// baudRates maps the CBAUD codes to speeds, for TCGETS2 after TCSETS.
var baudRates = map[uint32]uint32{
	unix.B0: 0, unix.B50: 50, unix.B75: 75, unix.B110: 110, unix.B134: 134, unix.B150: 150,
	unix.B200: 200, unix.B300: 300, unix.B600: 600, unix.B1200: 1200, unix.B1800: 1800,
	unix.B2400: 2400, unix.B4800: 4800, unix.B9600: 9600, unix.B19200: 19200, unix.B38400: 38400,
	unix.B57600: 57600, unix.B115200: 115200, unix.B230400: 230400, unix.B460800: 460800,
	unix.B500000: 500000, unix.B576000: 576000, unix.B921600: 921600, unix.B1000000: 1000000,
	unix.B1152000: 1152000, unix.B1500000: 1500000, unix.B2000000: 2000000, unix.B2500000: 2500000,
	unix.B3000000: 3000000, unix.B3500000: 3500000, unix.B4000000: 4000000,
}
