package systrap

import (
	"os"
	"sync/atomic"
	"unsafe"
)

// sched_yield without the sentry.
//
// The sentry's sched_yield does nothing a sandbox can see: the call only
// gives the CPU up, and the hand-off to the sentry and back, two context
// switches on the host, is most of what it costs. A Go program's scheduler
// makes it by the thousand a second while its idle threads look for work
// (osyield), as do spin locks that back off. The trampoline of a patched
// sched_yield site therefore jumps through the sysmsg's Yield: to the
// stub's own yield (yieldCode in stub_amd64.s), a host sched_yield and a
// return to the application, while the task lets it; to the syshandler,
// like every other site, while the sentry must see each of the task's
// calls (seccomp filters, strace: context.SetLocalYield).
//
// An Interrupt points Yield at the syshandler before it kicks the thread.
// A kick that lands in a trampoline is dropped by the handler's kick
// filter, since the syshandler posts an event right after; the store makes
// sure that a sched_yield trampoline goes there too. A kick that lands in
// the stub's yield is posted as if the call had returned (stub_amd64.s).
// Switch points Yield back at the stub's yield before the thread runs
// again.
const (
	// stubYieldOffset is where the stub's yield sits in the code page,
	// between the syshandler and the hand-off; stubYieldSize is the span
	// the kick filter treats as the yield's.
	stubYieldOffset = 0xb80
	stubYieldAddr   = stubStart + stubYieldOffset
	stubYieldSize   = 0x40
)

var _ [stubHandoffOffset - stubYieldOffset - stubYieldSize]struct{}

// localYieldEnabled turns the stub's yield on; COCOON_SYSTRAP_LOCAL_YIELD=0
// sends every sched_yield to the sentry, to compare or to rule it out.
var localYieldEnabled = os.Getenv("COCOON_SYSTRAP_LOCAL_YIELD") != "0"

// yieldCode is the stub's yield in stub_amd64.s; copied, never called.
func yieldCode()

// yieldCodeStart returns the address of yieldCode.
func yieldCodeStart() unsafe.Pointer

// yieldBytes is the stub's yield; stubImage fails with yieldErr.
var yieldBytes, yieldErr = loadCode(yieldCodeStart(), "yield", stubYieldOffset, stubYieldOffset+stubYieldSize)

// SetLocalYield implements platform.LocalYielder.
func (c *context) SetLocalYield(on bool) {
	c.localYield = on && localYieldEnabled && patchingEnabled
}

// yieldTarget is where t's sched_yield trampolines jump in the run that
// Switch is about to start.
func (c *context) yieldTarget() uint64 {
	if c.localYield {
		return stubYieldAddr
	}
	return stubSyshandlerAddr
}

// sendYieldsToSentry makes t's next sched_yield come to the sentry.
func (t *stubThread) sendYieldsToSentry() {
	atomic.StoreUint64(&t.msg.Yield, stubSyshandlerAddr)
}
