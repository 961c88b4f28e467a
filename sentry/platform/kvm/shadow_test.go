package kvm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

func TestFrameRunsCoalesce(t *testing.T) {
	var f frameRuns
	for _, p := range []uint64{0x1000, 0x2000, 0x3000, 0x8000, 0x9000, 0x5000} {
		f.add(p)
	}
	want := []physRange{{0x1000, 0x4000}, {0x8000, 0xa000}, {0x5000, 0x6000}}
	if len(f.runs) != len(want) {
		t.Fatalf("runs %x, want %x", f.runs, want)
	}
	for i := range want {
		if f.runs[i] != want[i] {
			t.Fatalf("runs %x, want %x", f.runs, want)
		}
	}
}

// TestPageTablesReportTakenFrames: the pages whose translations a change
// takes away are reported, and only those.
func TestPageTablesReportTakenFrames(t *testing.T) {
	mf := newTestMemfile(t, 64<<20)
	m := newTestMachine(t, mf, true)
	as, err := newAddressSpace(m)
	if err != nil {
		t.Fatal(err)
	}
	pt := &as.pt
	const va = 0x7000_0000
	phys := physBase + uint64(16<<20)
	rw := userLeafFlags(platform.Read|platform.Write, true)
	ro := userLeafFlags(platform.Read, true)
	must(t, pt.mapRange(va, va+4*pageSize, phys, ro, userTableFlags, nil))

	// Adding rights takes nothing away.
	var taken frameRuns
	must(t, pt.mapRange(va, va+4*pageSize, phys, rw, userTableFlags, &taken))
	if len(taken.runs) != 0 {
		t.Fatalf("adding write reported %x", taken.runs)
	}
	// Removing write from the middle two pages takes those.
	must(t, pt.mapRange(va+pageSize, va+3*pageSize, phys+pageSize, ro, userTableFlags, &taken))
	if len(taken.runs) != 1 || taken.runs[0] != (physRange{phys + pageSize, phys + 3*pageSize}) {
		t.Fatalf("write-protect reported %x", taken.runs)
	}
	// Mapping another page over the first takes the old one.
	taken = frameRuns{}
	must(t, pt.mapRange(va, va+pageSize, phys+100*pageSize, ro, userTableFlags, &taken))
	if len(taken.runs) != 1 || taken.runs[0] != (physRange{phys, phys + pageSize}) {
		t.Fatalf("remap reported %x", taken.runs)
	}
	// Unmapping everything takes what was mapped, absent pages not.
	taken = frameRuns{}
	pt.unmapRange(va-pageSize, va+8*pageSize, &taken)
	want := []physRange{{phys + 100*pageSize, phys + 101*pageSize}, {phys + pageSize, phys + 4*pageSize}}
	if len(taken.runs) != 2 || taken.runs[0] != want[0] || taken.runs[1] != want[1] {
		t.Fatalf("unmap reported %x, want %x", taken.runs, want)
	}
}

// loadThenGetppid: mov (%rbx), %rdx; mov $110, %eax; syscall
var loadThenGetppid = []byte{0x48, 0x8b, 0x13, 0xb8, 110, 0, 0, 0, 0x0f, 0x05}

// TestKVMReusedTablesBringNoTranslations: an address space built from
// the tables and root of a released one must not reach what the released
// one mapped. On a host that shadows page tables that takes the discard
// of the host's shadows before the pages are reused (shadow.go).
func TestKVMReusedTablesBringNoTranslations(t *testing.T) {
	mf, p := newPlatform(t)
	defer func(n int) { quarantineLimit = n }(quarantineLimit)
	quarantineLimit = 1
	ctx := threadContext(t, p)
	code := newPage(t, mf, loadThenGetppid)
	data := newPage(t, mf, []byte{0x5a})

	run := func(as platform.AddressSpace) platform.Trap {
		st := &arch.State{}
		st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
		trap := switchUntil(t, ctx, as, st)
		if trap.Kind == platform.TrapSyscall && st.Regs.Rdx != 0x5a {
			t.Fatalf("loaded %#x, want 0x5a", st.Regs.Rdx)
		}
		return trap
	}
	newAS := func(withData bool) platform.AddressSpace {
		as, err := p.NewAddressSpace()
		if err != nil {
			t.Fatal(err)
		}
		if err := as.MapFile(codeAddr, code, platform.Read|platform.Execute); err != nil {
			t.Fatal(err)
		}
		if withData {
			if err := as.MapFile(dataAddr, data, platform.Read); err != nil {
				t.Fatal(err)
			}
		}
		return as
	}

	roots := map[uint64]bool{}
	for round := range 4 {
		// One that reads the page, released...
		as := newAS(true)
		roots[as.(*addressSpace).root] = true
		if trap := run(as); trap.Kind != platform.TrapSyscall {
			t.Fatalf("round %d: the mapped load: trap %+v", round, trap)
		}
		as.Release()
		// ...then one without it, on recycled pages.
		as = newAS(false)
		reused := roots[as.(*addressSpace).root]
		trap := run(as)
		as.Release()
		if trap.Kind != platform.TrapFault || trap.Addr != dataAddr {
			t.Fatalf("round %d (root reused %v): an address space that never mapped the page reached it: trap %+v", round, reused, trap)
		}
	}
	if p.m.shadow.on && p.m.shadow.discards.Load() == 0 {
		t.Fatal("the host shadows page tables, and no discard ran: the test reused nothing")
	}
	t.Logf("host shadows page tables: %v; discards: %d", p.m.shadow.on, p.m.shadow.discards.Load())
}

// TestKVMDiscardWhileOtherVCPUsRun: discards of the host's shadow tables
// while vCPUs of other address spaces run do not disturb them: they go
// on making system calls through and after the discards.
func TestKVMDiscardWhileOtherVCPUsRun(t *testing.T) {
	mf, p := newPlatform(t)
	if !p.m.shadow.on {
		t.Skip("this host's KVM does not shadow page tables: no discards")
	}
	code := newPage(t, mf, getppidLoop)
	var stop atomic.Bool
	var syscalls atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ctx, err := p.NewContext()
			if err != nil {
				t.Error(err)
				return
			}
			defer ctx.Release()
			as, err := p.NewAddressSpace()
			if err != nil {
				t.Error(err)
				return
			}
			defer as.Release()
			if err := as.MapFile(codeAddr, code, platform.Read|platform.Execute); err != nil {
				t.Error(err)
				return
			}
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			for !stop.Load() {
				trap, err := ctx.Switch(as, st)
				if err != nil {
					t.Errorf("Switch: %v", err)
					return
				}
				if trap.Kind == platform.TrapSyscall {
					syscalls.Add(1)
				}
			}
		}()
	}
	for syscalls.Load() < 10 && !t.Failed() {
		runtime.Gosched()
	}
	for range 20 {
		p.m.shadow.mu.Lock()
		err := p.m.discardShadowsLocked()
		p.m.shadow.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	before := syscalls.Load()
	for syscalls.Load() < before+100 && !t.Failed() {
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
}
