package systrap

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A spin waits for the other side of a hand-off to answer, which it can
// do meanwhile only from another CPU. When the scheduler has put both
// threads on one CPU, the side that spins holds the other off until its
// spin runs out or it is preempted: a wake-up does not preempt at once,
// and sched_yield hands the CPU over only to a thread the scheduler
// finds eligible (EEVDF), which a thread that has run a lot is not. So:
//
//   - a side that has just woken the other gives the CPU up once
//     (sched_yield) before it spins: the kernel often queues the woken
//     thread on the waker's CPU, and the yield works on a thread just
//     woken; it returns at once when nothing else waits for the CPU;
//   - each side publishes in the sysmsg the CPU it starts to wait on,
//     and a side that finds the other, awake, last waiting on its own
//     CPU, sleeps at once instead of spinning: the other is queued
//     behind it (stub_amd64.s reads the same fields).
//
// A thread reads its CPU as Linux's vgetcpu does without RDPID: with LSL
// of the per-CPU segment Linux puts in every CPU's GDT (selector 0x7b:
// GDT_ENTRY_CPUNODE 15, RPL 3), whose limit it sets to (node << 12) |
// cpu. It takes no CPU feature (RDTSCP, which an
// earlier version read TSC_AUX with, is missing on some virtual CPUs) and
// a few cycles against a getcpu system call. Both values are hints. A
// stale one costs a spin as before, or a sleep and a futex wake-up; the
// application can write them, which changes only how its own threads
// wait.

// noCPU in SentryCPU tells the stub not to read its CPU: the host keeps
// no CPU number in the segment.
const noCPU = ^uint32(0)

// cpuNumberMask is the CPU number in the segment's limit (the rest is
// the NUMA node).
const cpuNumberMask = 0xfff

var (
	cpuHintsOnce sync.Once
	cpuHints     bool
)

// segmentCPU returns the per-CPU segment's limit, (node << 12) | cpu,
// and false where LSL finds no such segment (pause_amd64.s).
func segmentCPU() (cpu uint32, ok bool)

// checkCPUHints enables the hints when the segment gives the CPU number
// getcpu gives.
func checkCPUHints() {
	cpuHintsOnce.Do(func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		agreed := false
		for range 8 {
			before, ok1 := getcpu()
			seg, ok := segmentCPU()
			after, ok2 := getcpu()
			if !ok || !ok1 || !ok2 {
				return
			}
			if before != after {
				continue // moved between the reads: no verdict
			}
			if seg&cpuNumberMask != before {
				return
			}
			agreed = true
		}
		cpuHints = agreed
	})
}

// getcpu returns the CPU the calling thread runs on, as getcpu(2) says.
func getcpu() (uint32, bool) {
	var cpu uint32
	_, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0)
	return cpu, errno == 0
}

// sentryWaitsOn publishes the CPU the sentry thread waits for msg's stub
// on and reports whether the stub last waited on that same CPU.
func sentryWaitsOn(msg *sysmsg) (shared bool) {
	if !cpuHints {
		return false
	}
	seg, _ := segmentCPU()
	cpu := seg & cpuNumberMask
	atomic.StoreUint32(&msg.SentryCPU, cpu)
	return atomic.LoadUint32(&msg.StubCPU) == cpu
}
