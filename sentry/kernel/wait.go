package kernel

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

// WaitOptions select which children wait4/waitid report.
type WaitOptions struct {
	// Which is P_ALL, P_PID or P_PGID; ID the pid or process group (0 for
	// the caller's group with P_PGID), in the caller's PID namespace.
	// Target, when set, is the process P_PID selects instead of ID (a
	// pidfd's).
	Which  int
	ID     int32
	Target *ThreadGroup
	// Exited, Stopped and Continued are WEXITED, WSTOPPED/WUNTRACED and
	// WCONTINUED.
	Exited, Stopped, Continued bool
	// NoHang is WNOHANG; NoWait is WNOWAIT (report without reaping).
	NoHang, NoWait bool
	// CloneOnly (__WCLONE) waits only for children whose exit signal is
	// not SIGCHLD; All (__WALL) for every child; by default only for
	// those with SIGCHLD.
	CloneOnly, All bool
}

// Selector kinds.
const (
	PAll  = 0
	PPID  = 1
	PPGID = 2
)

// WaitResult describes the child wait reported.
type WaitResult struct {
	// PID is the child's ID in the caller's PID namespace.
	PID int32
	// UID is the child's real user ID in the caller's user namespace.
	UID uint32
	// Status is the wait4 status word.
	Status unix.WaitStatus
	// Code and CodeStatus are waitid's si_code and si_status.
	Code       int32
	CodeStatus int32
	// User and Sys are the child's CPU time, with its own reaped
	// children's (wait4's rusage).
	User, Sys time.Duration
	// MaxRSS is the child's peak resident set size in pages, its reaped
	// children's included (wait4's ru_maxrss).
	MaxRSS uint64
	// MinFlt and MajFlt are the child's page faults, its reaped
	// children's included (wait4's ru_minflt and ru_majflt).
	MinFlt, MajFlt uint64
	// liveMM is a stopped or continued child's address space, whose
	// peak Wait adds to MaxRSS once Kernel.mu is released.
	liveMM *mm.MemoryManager
}

// Wait implements wait4 and waitid. It returns a zero result with WNOHANG
// when no child is ready.
func (t *Task) Wait(opts WaitOptions) (WaitResult, error) {
	k := t.k
	for {
		k.mu.Lock()
		tg := t.tg
		ns := t.pidns
		// The selector's IDs as root IDs; -1 matches nothing (an ID the
		// caller's namespace does not have).
		sel := int32(-1)
		switch {
		case opts.Which == PPID && opts.Target != nil:
			sel = opts.Target.id
		case opts.Which == PPGID && opts.ID == 0:
			sel = tg.pgid
		case opts.Which == PPID || opts.Which == PPGID:
			if r, ok := ns.rootLocked(opts.ID); ok {
				sel = r
			}
		}
		any := false
		for child := range tg.children {
			switch opts.Which {
			case PPID:
				if child.id != sel {
					continue
				}
			case PPGID:
				if child.pgid != sel {
					continue
				}
			}
			if !opts.All && (child.exitSignal == unix.SIGCHLD) == opts.CloneOnly {
				continue
			}
			any = true
			if res, ok := child.waitableLocked(opts, ns.idLocked(child.id)); ok {
				// si_uid: the child's real user ID as the caller's
				// user namespace sees it.
				res.UID = t.creds.UserNamespace().MungedUID(child.leader.creds.UID)
				k.mu.Unlock()
				if res.liveMM != nil {
					res.MaxRSS = max(res.MaxRSS, res.liveMM.PeakResidentPages())
					res.liveMM = nil
				}
				return res, nil
			}
		}
		if !any {
			k.mu.Unlock()
			return WaitResult{}, unix.ECHILD
		}
		if opts.NoHang {
			k.mu.Unlock()
			return WaitResult{}, nil
		}
		ch := tg.childEvent
		k.mu.Unlock()
		if err := t.Block(ch); err != nil {
			return WaitResult{}, err
		}
	}
}

// waitableLocked reports child's state if opts wants it, consuming the
// event unless NoWait.
//
// Preconditions: k.mu is held.
func (child *ThreadGroup) waitableLocked(opts WaitOptions, id int32) (WaitResult, bool) {
	res := WaitResult{PID: id}
	u, s := child.cpuTimeLocked()
	res.User, res.Sys = time.Duration(u+child.childUserNS), time.Duration(s+child.childSysNS)
	res.MaxRSS = max(child.maxRSS, child.childMaxRSS)
	faults := child.processFaultsLocked()
	faults.add(child.childFaults)
	res.MinFlt, res.MajFlt = faults.minor, faults.major
	for t := range child.tasks {
		res.liveMM = t.mm
		break
	}
	switch {
	case child.zombie && opts.Exited:
		ws := child.exitStatus
		res.Status = ws
		switch {
		case ws.Signaled() && ws.CoreDump():
			res.Code, res.CodeStatus = CLDDumped, int32(ws.Signal())
		case ws.Signaled():
			res.Code, res.CodeStatus = CLDKilled, int32(ws.Signal())
		default:
			res.Code, res.CodeStatus = CLDExited, int32(ws.ExitStatus())
		}
		if !opts.NoWait {
			child.reapLocked()
		}
		return res, true
	case child.stopped && !child.stopReported && opts.Stopped && !child.zombie:
		res.Status = unix.WaitStatus(int(child.stopSignal)<<8 | 0x7f)
		res.Code, res.CodeStatus = CLDStopped, int32(child.stopSignal)
		if !opts.NoWait {
			child.stopReported = true
		}
		return res, true
	case child.continued && !child.continuedReported && opts.Continued && !child.zombie:
		res.Status = 0xffff
		res.Code, res.CodeStatus = CLDContinued, int32(unix.SIGCONT)
		if !opts.NoWait {
			child.continuedReported = true
		}
		return res, true
	}
	return res, false
}
