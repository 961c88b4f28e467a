package kernel

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

// OOM score adjustments (/proc/[pid]/oom_score_adj, the legacy oom_adj)
// and the OOM score (/proc/[pid]/oom_score). A process's adjustment,
// which fork copies, weighs how its container's OOM killer ranks it, as
// Linux's oom_badness does: its resident pages plus adj thousandths of
// the container's limit; -1000 exempts it. Programs use it to have a
// disposable child killed before their main process (redis's save child,
// a browser's renderers).

// Bounds of the adjustments (include/uapi/linux/oom.h).
const (
	oomScoreAdjMin = -1000
	oomScoreAdjMax = 1000
	oomDisable     = -17
	oomAdjustMax   = 15
)

// ValidOOMScoreAdj tells whether v is an oom_score_adj Linux accepts.
func ValidOOMScoreAdj(v int) bool { return v >= oomScoreAdjMin && v <= oomScoreAdjMax }

// oomState is embedded in ThreadGroup; protected by Kernel.mu.
type oomState struct {
	// oomScoreAdj is the process's adjustment and oomScoreAdjMin the
	// lowest a writer without CAP_SYS_RESOURCE may set (the last
	// value a writer with it set).
	oomScoreAdj, oomScoreAdjMin int16
}

// inheritOOMLocked copies the parent's adjustments to a new process, as
// copy_signal does.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) inheritOOMLocked(parent *ThreadGroup) {
	tg.oomScoreAdj, tg.oomScoreAdjMin = parent.oomScoreAdj, parent.oomScoreAdjMin
}

// oomBadnessLocked is oom_badness: the process's resident pages plus its
// adjustment in thousandths of totalPages; ok is false for a process the
// OOM killer must not choose (adjustment -1000, or no address space).
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) oomBadnessLocked(totalPages uint64) (points int64, ok bool) {
	if tg.oomScoreAdj == oomScoreAdjMin {
		return 0, false
	}
	if m := tg.memoryLocked(); m != nil {
		return int64(m.ResidentPages()) + int64(tg.oomScoreAdj)*int64(totalPages/1000), true
	}
	return 0, false
}

// processLocked returns the process pid names in ns (a zombie too, whose
// adjustment Linux still shows).
//
// Preconditions: k.mu is held.
func (ns *PIDNamespace) processLocked(pid int32) (*ThreadGroup, error) {
	if tg := ns.lookupThreadGroupLocked(pid); tg != nil {
		return tg, nil
	}
	return nil, unix.ESRCH
}

// OOMScoreAdj returns process pid's adjustment: oom_score_adj, or with
// legacy oom_adj's value (-17 to 15).
func (k *Kernel) OOMScoreAdj(ns *PIDNamespace, pid int32, legacy bool) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tg, err := ns.processLocked(pid)
	if err != nil {
		return 0, err
	}
	adj := int(tg.oomScoreAdj)
	if !legacy {
		return adj, nil
	}
	if adj == oomScoreAdjMax {
		return oomAdjustMax, nil
	}
	return adj * -oomDisable / oomScoreAdjMax, nil
}

// SetCallerOOMScoreAdj sets process pid's adjustment on behalf of the
// calling task, as oom_score_adj_write (and, legacy, oom_adj_write, whose
// -17 to 15 it scales): EINVAL out of range; without CAP_SYS_RESOURCE,
// EACCES below the process's floor (legacy: below its current value),
// and with it the value becomes the floor.
func (k *Kernel) SetCallerOOMScoreAdj(ns *PIDNamespace, pid int32, value int, legacy bool) error {
	if legacy {
		if value < oomDisable || value > oomAdjustMax {
			return unix.EINVAL
		}
		if value == oomAdjustMax {
			value = oomScoreAdjMax
		} else {
			value = value * oomScoreAdjMax / -oomDisable
		}
	} else if !ValidOOMScoreAdj(value) {
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	tg, err := ns.processLocked(pid)
	if err != nil {
		return err
	}
	privileged := false
	if caller := k.callerLocked(); caller != nil {
		privileged = caller.creds.HasCap(CapSysResource)
	}
	floor := tg.oomScoreAdjMin
	if legacy {
		floor = tg.oomScoreAdj
	}
	if int16(value) < floor && !privileged {
		return unix.EACCES
	}
	for _, p := range k.memorySharersLocked(tg) {
		p.oomScoreAdj = int16(value)
		if !legacy && privileged {
			p.oomScoreAdjMin = int16(value)
		}
	}
	return nil
}

// memorySharersLocked returns tg and the processes that share its
// address space (clone(CLONE_VM) without CLONE_THREAD), whose adjustment
// __set_oom_adj sets with tg's, since the OOM killer would free nothing
// by killing one without the others: not a vfork child, whose parent
// waits for it to exec or exit, nor the root PID namespace's init.
//
// Preconditions: k.mu is held.
func (k *Kernel) memorySharersLocked(tg *ThreadGroup) []*ThreadGroup {
	sharers := []*ThreadGroup{tg}
	m := tg.memoryLocked()
	if m == nil {
		return sharers
	}
	for _, other := range k.threadGroups {
		if other == tg || (other.isInitLocked() && other.pidns.isRoot()) {
			continue
		}
		for task := range other.tasks {
			if task.mm == m && task.vforkDone == nil {
				sharers = append(sharers, other)
			}
			break
		}
	}
	return sharers
}

// memoryLocked returns the address space of tg's tasks (nil once they
// have all exited).
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) memoryLocked() *mm.MemoryManager {
	for task := range tg.tasks {
		if task.mm != nil {
			return task.mm
		}
	}
	return nil
}

// OOMScore returns process pid's OOM score as proc_oom_score shows it:
// its badness against the sandbox's memory, scaled to 0-2000 and then by
// two thirds; 0 for a process the OOM killer never chooses.
func (k *Kernel) OOMScore(ns *PIDNamespace, pid int32) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tg, err := ns.processLocked(pid)
	if err != nil {
		return 0, err
	}
	total := max(k.MemoryLimit/4096, 1)
	badness, ok := tg.oomBadnessLocked(total)
	if !ok {
		return 0, nil
	}
	return int((1000 + badness*1000/int64(total)) * 2 / 3), nil
}
