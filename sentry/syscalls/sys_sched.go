package syscalls

import (
	"encoding/binary"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// The sandbox's CPUs are those its sentry may run on; tasks report all of
// them and changing affinity is accepted within them (the sentry schedules
// tasks itself).

func numCPU() int { return runtime.NumCPU() }

// SchedGetaffinity implements Linux syscall sched_getaffinity(2).
func SchedGetaffinity(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid, size := int32(args[0]), args[1]
	if pid != 0 && t.LookupTask(pid) == nil {
		return 0, unix.ESRCH
	}
	n := numCPU()
	need := uint64((n + 63) / 64 * 8)
	if size < need || size%8 != 0 {
		return 0, unix.EINVAL
	}
	b := make([]byte, need)
	for i := 0; i < n; i++ {
		b[i/8] |= 1 << (i % 8)
	}
	if _, err := t.CopyOut(args[2], b); err != nil {
		return 0, unix.EFAULT
	}
	return need, nil
}

// SchedSetaffinity implements Linux syscall sched_setaffinity(2).
func SchedSetaffinity(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid, size := int32(args[0]), args[1]
	if pid != 0 && t.LookupTask(pid) == nil {
		return 0, unix.ESRCH
	}
	b := make([]byte, min(size, 1024))
	if _, err := t.CopyIn(args[2], b); err != nil {
		return 0, unix.EFAULT
	}
	for i := 0; i < numCPU() && i/8 < len(b); i++ {
		if b[i/8]&(1<<(i%8)) != 0 {
			return 0, nil
		}
	}
	return 0, unix.EINVAL
}

// SchedGetscheduler implements Linux syscall sched_getscheduler(2).
func SchedGetscheduler(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	policy, err := t.SchedPolicy(int32(args[0]))
	return uint64(policy), err
}

// schedParam reads struct sched_param: EINVAL for a NULL one, as
// do_sched_setscheduler checks it before copying.
func schedParam(t *kernel.Task, addr uint64) (int32, error) {
	if addr == 0 {
		return 0, unix.EINVAL
	}
	var b [4]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, unix.EFAULT
	}
	return int32(binary.LittleEndian.Uint32(b[:])), nil
}

// SchedSetscheduler implements Linux syscall sched_setscheduler(2).
func SchedSetscheduler(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid, policy := int32(args[0]), int32(args[1])
	if policy < 0 || pid < 0 {
		return 0, unix.EINVAL
	}
	prio, err := schedParam(t, args[2])
	if err != nil {
		return 0, err
	}
	return 0, t.SetSchedPolicy(pid, policy, prio)
}

// SchedGetparam implements Linux syscall sched_getparam(2): the priority
// is 0, that of every normal policy.
func SchedGetparam(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if args[1] == 0 {
		return 0, unix.EINVAL
	}
	if _, err := t.SchedPolicy(int32(args[0])); err != nil {
		return 0, err
	}
	var zero [4]byte
	if _, err := t.CopyOut(args[1], zero[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// SchedSetparam implements Linux syscall sched_setparam(2).
func SchedSetparam(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	pid := int32(args[0])
	if pid < 0 {
		return 0, unix.EINVAL
	}
	prio, err := schedParam(t, args[1])
	if err != nil {
		return 0, err
	}
	return 0, t.SetSchedPolicy(pid, -1, prio)
}

// SchedGetPriorityMax implements Linux syscall sched_get_priority_max(2).
func SchedGetPriorityMax(_ *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	switch args[0] {
	case 1, 2:
		return 99, nil
	case kernel.SchedOther, kernel.SchedBatch, kernel.SchedIdle:
		return 0, nil
	}
	return 0, unix.EINVAL
}

// SchedGetPriorityMin implements Linux syscall sched_get_priority_min(2).
func SchedGetPriorityMin(_ *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	switch args[0] {
	case 1, 2:
		return 1, nil
	case kernel.SchedOther, kernel.SchedBatch, kernel.SchedIdle:
		return 0, nil
	}
	return 0, unix.EINVAL
}

// Getpriority implements Linux syscall getpriority(2): the system call
// returns 20 - nice (1..40), which the C library turns back.
func Getpriority(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	nice, err := t.Priority(int(args[0]), int32(args[1]))
	if err != nil {
		return 0, err
	}
	return uint64(20 - nice), nil
}

// Setpriority implements Linux syscall setpriority(2).
func Setpriority(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.SetPriority(int(args[0]), int32(args[1]), int32(args[2]))
}

// IoprioSet implements Linux syscall ioprio_set(2).
func IoprioSet(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.SetIOPriority(int(int32(args[0])), int32(args[1]), int32(args[2]))
}

// IoprioGet implements Linux syscall ioprio_get(2).
func IoprioGet(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	prio, err := t.IOPriority(int(int32(args[0])), int32(args[1]))
	return uint64(prio), err
}

// Personality implements Linux syscall personality(2).
func Personality(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if uint32(args[0]) == 0xffffffff {
		return uint64(t.Personality(0, false)), nil
	}
	return uint64(t.Personality(uint32(args[0]), true)), nil
}
