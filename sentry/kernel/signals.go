package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Linux signal numbers run from 1 to 64; 32 and up are real-time.
const (
	// NumSignals is the highest signal number.
	NumSignals = 64
	// SigRTMin is the first real-time signal.
	SigRTMin = 32
)

// SigSet is a set of signals; bit n-1 is signal n.
type SigSet uint64

// sigBit returns the set holding only sig.
func sigBit(sig unix.Signal) SigSet { return 1 << (uint(sig) - 1) }

// unblockable are the signals no mask can block.
const unblockable = SigSet(1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1))

// Signal action flags (sa_flags).
const (
	SANoCldStop = 0x1
	SANoCldWait = 0x2
	SASigInfo   = 0x4
	SAOnStack   = 0x08000000
	SARestart   = 0x10000000
	SANoDefer   = 0x40000000
	SAResetHand = 0x80000000
	SARestorer  = 0x04000000
)

// Handler values.
const (
	SigDfl = 0
	SigIgn = 1
)

// SigAction is Linux's struct sigaction as rt_sigaction passes it.
type SigAction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     SigSet
}

// SigActionSize is the size of struct sigaction on amd64.
const SigActionSize = 32

// DecodeSigAction reads a struct sigaction.
func DecodeSigAction(b []byte) SigAction {
	le := binary.LittleEndian
	return SigAction{Handler: le.Uint64(b[0:]), Flags: le.Uint64(b[8:]), Restorer: le.Uint64(b[16:]), Mask: SigSet(le.Uint64(b[24:]))}
}

// Encode writes the struct sigaction.
func (a SigAction) Encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], a.Handler)
	le.PutUint64(b[8:], a.Flags)
	le.PutUint64(b[16:], a.Restorer)
	le.PutUint64(b[24:], uint64(a.Mask))
}

// defaultAction is what SIG_DFL does with a signal.
type defaultAction int

const (
	actTerminate defaultAction = iota
	actCore
	actIgnore
	actStop
	actContinue
)

func defaultActionOf(sig unix.Signal) defaultAction {
	switch sig {
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
		return actIgnore
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return actStop
	case unix.SIGCONT:
		return actContinue
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE,
		unix.SIGSEGV, unix.SIGSYS, unix.SIGXCPU, unix.SIGXFSZ:
		return actCore
	}
	return actTerminate
}

// stopSignals are the signals whose default action is a job-control stop.
const stopSignals = SigSet(1<<(unix.SIGSTOP-1) | 1<<(unix.SIGTSTP-1) | 1<<(unix.SIGTTIN-1) | 1<<(unix.SIGTTOU-1))

// SignalHandlers are the actions of a thread group (shared by CLONE_SIGHAND
// clones). Protected by Kernel.mu.
type SignalHandlers struct {
	actions [NumSignals + 1]SigAction
}

// copy returns an independent copy (fork without CLONE_SIGHAND).
func (h *SignalHandlers) copy() *SignalHandlers {
	c := *h
	return &c
}

// resetForExec sets every handled signal back to its default, keeping
// ignored ones ignored, as execve does.
func (h *SignalHandlers) resetForExec() {
	for i := range h.actions {
		if h.actions[i].Handler != SigIgn {
			h.actions[i] = SigAction{}
		}
	}
}

// SigInfo is a Linux siginfo_t (128 bytes), with accessors for the fields
// the sentry fills.
type SigInfo struct {
	Signo int32
	Errno int32
	Code  int32
	// fields is the union after the first 16 bytes.
	fields [112]byte
	// onDequeue, if set, runs (with Kernel.mu held) when the signal is
	// taken for delivery: timers fill in their overrun count then.
	onDequeue func(*SigInfo)
	// sender, if set, is the process sending the signal: sendLocked sets
	// si_pid to its ID as the receiver's PID namespace sees it (0 when
	// not visible there), unless keepPID (rt_sigqueueinfo's own si_pid,
	// which Linux keeps unless the sender is in an ancestor namespace).
	sender  *ThreadGroup
	keepPID bool
	// uidNS, if set, is the user namespace whose ID si_uid holds:
	// sendLocked re-expresses it in the receiver's namespace, as the
	// overflow ID when it has none there (Linux's send_signal_locked).
	uidNS *UserNamespace
	// force marks a signal from an ancestor PID namespace (or from
	// outside the sandbox): SIGKILL and SIGSTOP reach a namespace's init.
	force bool
}

// SetSender records tg as the sender; with keepPID the si_pid already in
// the siginfo is kept unless the sender is not visible to the receiver.
func (s *SigInfo) SetSender(tg *ThreadGroup, keepPID bool) {
	s.sender, s.keepPID = tg, keepPID
}

// si_code values.
const (
	SIUser       = 0
	SIKernel     = 0x80
	SIQueue      = -1
	SITimer      = -2
	SITkill      = -6
	CLDExited    = 1
	CLDKilled    = 2
	CLDDumped    = 3
	CLDStopped   = 5
	CLDContinued = 6
)

func (s *SigInfo) put32(off int, v uint32) { binary.LittleEndian.PutUint32(s.fields[off:], v) }
func (s *SigInfo) put64(off int, v uint64) { binary.LittleEndian.PutUint64(s.fields[off:], v) }

// SetPIDUID fills si_pid and si_uid (kill, sigqueue, SIGCHLD), leaving
// si_uid as it is whoever receives it.
func (s *SigInfo) SetPIDUID(pid int32, uid uint32) {
	s.put32(0, uint32(pid))
	s.put32(4, uid)
}

// SetPIDKUID fills si_pid and si_uid with kernel user ID kuid, which each
// receiver sees in its own user namespace.
func (s *SigInfo) SetPIDKUID(pid int32, kuid uint32) {
	s.SetPIDUID(pid, kuid)
	s.uidNS = initialUserNS
}

// SetUIDNamespace says si_uid, as it is, is an ID of ns
// (rt_sigqueueinfo's own siginfo: the caller's namespace).
func (s *SigInfo) SetUIDNamespace(ns *UserNamespace) { s.uidNS = ns }

// UID returns si_uid.
func (s *SigInfo) UID() uint32 { return binary.LittleEndian.Uint32(s.fields[4:]) }

// PID returns si_pid.
func (s *SigInfo) PID() int32 { return int32(binary.LittleEndian.Uint32(s.fields[0:])) }

// SetStatus fills si_status for SIGCHLD.
func (s *SigInfo) SetStatus(status int32) { s.put32(8, uint32(status)) }

// SetValue fills si_value for sigqueue and timers.
func (s *SigInfo) SetValue(v uint64) { s.put64(8, v) }

// SetAddr fills si_addr for fault signals.
func (s *SigInfo) SetAddr(addr uint64) { s.put64(0, addr) }

// SetTimer fills si_tid (timer id) and si_overrun for timer signals.
func (s *SigInfo) SetTimer(id int32, overrun int32) {
	s.put32(0, uint32(id))
	s.put32(4, uint32(overrun))
}

// Bytes encodes the siginfo.
func (s *SigInfo) Bytes() []byte {
	b := make([]byte, 128)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(s.Signo))
	le.PutUint32(b[4:], uint32(s.Errno))
	le.PutUint32(b[8:], uint32(s.Code))
	copy(b[16:], s.fields[:])
	return b
}

// DecodeSigInfo reads a siginfo_t.
func DecodeSigInfo(b []byte) SigInfo {
	le := binary.LittleEndian
	s := SigInfo{Signo: int32(le.Uint32(b[0:])), Errno: int32(le.Uint32(b[4:])), Code: int32(le.Uint32(b[8:]))}
	copy(s.fields[:], b[16:128])
	return s
}

// pendingSignals is a set of queued signals: one instance of each standard
// signal, a queue of each real-time one. Protected by Kernel.mu.
type pendingSignals struct {
	set   SigSet
	infos [NumSignals + 1][]*SigInfo
}

// enqueue adds info; a standard signal already pending is not queued
// again. It reports whether the signal was queued.
func (p *pendingSignals) enqueue(info *SigInfo) bool {
	sig := unix.Signal(info.Signo)
	if sig < SigRTMin && p.set&sigBit(sig) != 0 {
		return false
	}
	p.set |= sigBit(sig)
	p.infos[sig] = append(p.infos[sig], info)
	return true
}

// dequeue removes and returns the lowest pending signal not in mask.
func (p *pendingSignals) dequeue(mask SigSet) *SigInfo {
	ready := p.set &^ mask
	if ready == 0 {
		return nil
	}
	sig := 1
	for ready&1 == 0 {
		ready >>= 1
		sig++
	}
	q := p.infos[sig]
	info := q[0]
	p.infos[sig] = q[1:]
	if len(p.infos[sig]) == 0 {
		p.infos[sig] = nil
		p.set &^= sigBit(unix.Signal(sig))
	}
	if info.onDequeue != nil {
		info.onDequeue(info)
		info.onDequeue = nil
	}
	return info
}

// remove drops one queued instance (a deleted timer's signal, which Linux
// takes back); it reports whether info was queued.
func (p *pendingSignals) remove(info *SigInfo) bool {
	sig := info.Signo
	q := p.infos[sig]
	for i, qi := range q {
		if qi == info {
			p.infos[sig] = append(q[:i:i], q[i+1:]...)
			if len(p.infos[sig]) == 0 {
				p.infos[sig] = nil
				p.set &^= sigBit(unix.Signal(sig))
			}
			return true
		}
	}
	return false
}

// discard drops every pending instance of the signals in set.
func (p *pendingSignals) discard(set SigSet) {
	for sig := 1; sig <= NumSignals; sig++ {
		if set&sigBit(unix.Signal(sig)) != 0 {
			p.infos[sig] = nil
		}
	}
	p.set &^= set
}
