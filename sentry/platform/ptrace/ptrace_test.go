package ptrace

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

const (
	codeAddr = 0x400000
	dataAddr = 0x600000
)

type fixture struct {
	mf  *memfile.File
	p   *Platform
	as  platform.AddressSpace
	ctx platform.Context
}

func newFixture(t *testing.T, code []byte) *fixture {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	mf, err := memfile.New("test", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	p, err := New(mf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Release)
	ctx, err := p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	fr, err := mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	copy(mf.Slice(fr), code)
	if err := as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	return &fixture{mf, p, as, ctx}
}

// getppidLoop: mov $110, %eax; syscall; jmp back to start.
var getppidLoop = []byte{0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7}

func TestSyscallTrap(t *testing.T) {
	f := newFixture(t, getppidLoop)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	for i := 0; i < 3; i++ {
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil {
			t.Fatal(err)
		}
		if trap.Kind != platform.TrapSyscall || st.SyscallNo() != unix.SYS_GETPPID {
			t.Fatalf("trap %+v nr %d, want syscall getppid", trap, st.SyscallNo())
		}
		if st.Regs.Rip != codeAddr+7 {
			t.Fatalf("rip %#x after syscall, want %#x", st.Regs.Rip, codeAddr+7)
		}
		st.SetReturn(42)
	}
}

// A Switch is charged no more user time than the stub process used, as
// the host counts it, however long its wall time was.
func TestBoundUserTime(t *testing.T) {
	f := newFixture(t, getppidLoop)
	b := f.ctx.(platform.UserTimeBounder)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	for i := 0; i < 3; i++ {
		if _, err := f.ctx.Switch(f.as, st); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.BoundUserTime(time.Hour); got >= time.Second {
		t.Errorf("bound of an hour of wall time = %v, want the stub's CPU time, far below a second", got)
	}
}

// storeLoad: mov %rax, (%rbx); mov (%rbx), %rdx; mov $39, %eax; syscall
var storeLoad = []byte{0x48, 0x89, 0x03, 0x48, 0x8b, 0x13, 0xb8, 39, 0, 0, 0, 0x0f, 0x05}

func TestFaultAndUnmapIsEffective(t *testing.T) {
	f := newFixture(t, storeLoad)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = dataAddr
	st.Regs.Rax = 0x1234
	trap, err := f.ctx.Switch(f.as, st)
	if err != nil {
		t.Fatal(err)
	}
	if trap.Kind != platform.TrapFault || trap.Addr != dataAddr {
		t.Fatalf("trap %+v, want fault at %#x", trap, dataAddr)
	}
	fr, _ := f.mf.Allocate(arch.PageSize)
	if err := f.as.MapFile(dataAddr, fr, platform.Read|platform.Write); err != nil {
		t.Fatal(err)
	}
	trap, err = f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapSyscall || st.Regs.Rdx != 0x1234 {
		t.Fatalf("after mapping: trap %+v err %v rdx %#x", trap, err, st.Regs.Rdx)
	}
	if got := f.mf.Slice(fr)[0]; got != 0x34 {
		t.Fatalf("store did not reach the memory file: %#x", got)
	}
	// Read-only: the store must fault now.
	if err := f.as.MapFile(dataAddr, fr, platform.Read); err != nil {
		t.Fatal(err)
	}
	st.Regs.Rip = codeAddr
	trap, err = f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapFault || trap.Code != 2 /* SEGV_ACCERR */ {
		t.Fatalf("store to read-only page: trap %+v err %v", trap, err)
	}
	// Unmapped: any access must fault.
	f.as.Unmap(dataAddr, arch.PageSize)
	st.Regs.Rip = codeAddr + 3 // the load
	trap, err = f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapFault || trap.Code != 1 /* SEGV_MAPERR */ {
		t.Fatalf("load from unmapped page: trap %+v err %v", trap, err)
	}
}

func TestInterruptBusyLoop(t *testing.T) {
	f := newFixture(t, []byte{0xeb, 0xfe}) // jmp .
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	go func() {
		for i := 0; i < 1000; i++ {
			runtime.Gosched()
		}
		f.ctx.Interrupt()
	}()
	trap, err := f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapInterrupted {
		t.Fatalf("trap %+v err %v, want interrupted", trap, err)
	}
}

func BenchmarkSyscallRoundTrip(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mf, _ := memfile.New("bench", 1<<30)
	defer mf.Close()
	p, err := New(mf)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	as, err := p.NewAddressSpace()
	if err != nil {
		b.Fatal(err)
	}
	defer as.Release()
	ctx, _ := p.NewContext()
	fr, _ := mf.Allocate(arch.PageSize)
	copy(mf.Slice(fr), getppidLoop)
	if err := as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		b.Fatal(err)
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ctx.Switch(as, st); err != nil {
			b.Fatal(err)
		}
	}
}

// TestThreadsShareAddressSpace runs two tasks on two host threads in one
// address space: each gets its own stub thread, both see the same memory,
// and one task's exit leaves the other running.
func TestThreadsShareAddressSpace(t *testing.T) {
	// Each worker: store its id at dataAddr+8*id, then getpid-loop.
	// mov %rax,(%rbx); mov $39,%eax; syscall; jmp .-7 (back to mov $39)
	code := []byte{0x48, 0x89, 0x03, 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7}
	f := newFixture(t, code)
	fr, _ := f.mf.Allocate(arch.PageSize)
	if err := f.as.MapFile(dataAddr, fr, platform.Read|platform.Write); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for id := uint64(1); id <= 2; id++ {
		go func() {
			runtime.LockOSThread()
			// The thread ends with the goroutine; Release ends its
			// stub thread first.
			ctx, err := f.p.NewContext()
			if err != nil {
				errs <- err
				return
			}
			defer ctx.Release()
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			st.Regs.Rbx = dataAddr + 8*id
			st.Regs.Rax = id * 0x1111
			for i := 0; i < 50; i++ {
				trap, err := ctx.Switch(f.as, st)
				if err != nil || trap.Kind != platform.TrapSyscall {
					errs <- fmt.Errorf("task %d: trap %+v err %v", id, trap, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	mem := f.mf.Slice(fr)
	if mem[8] != 0x11 || mem[16] != 0x22 {
		t.Fatalf("stores from the two tasks: %#x %#x", mem[8], mem[16])
	}
	// The address space still works for a third thread (this one).
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = dataAddr
	if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("after the workers exited: trap %+v err %v", trap, err)
	}
}

// TestFaultAccessProbe checks that a fault's access can be told after the
// fact: a store and a load at an unmapped page, and a store to a
// read-only one, with the task's FP state and registers intact for the
// Switch after the probe.
func TestFaultAccessProbe(t *testing.T) {
	f := newFixture(t, storeLoad)
	prober, ok := f.ctx.(platform.FaultAccessProber)
	if !ok {
		t.Fatal("the ptrace context does not probe faults")
	}
	st := &arch.State{}
	if err := f.ctx.PullFPState(st); err != nil {
		t.Fatal(err)
	}
	// xmm0 (FXSAVE offset 160) gets a pattern the probe must not lose.
	for i := 0; i < 16; i++ {
		st.FP[160+i] = byte(0xa0 + i)
	}
	run := func(rip uint64, want platform.AccessType) {
		t.Helper()
		st.Regs.Rip = rip
		st.Regs.Rbx = dataAddr
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapFault || trap.Addr != dataAddr {
			t.Fatalf("trap %+v err %v, want a fault at %#x", trap, err, dataAddr)
		}
		if got := prober.FaultAccess(); got != want {
			t.Fatalf("access %v at %#x, want %v", got, rip, want)
		}
		// Asked twice: the stop is gone.
		if got := prober.FaultAccess(); got != 0 {
			t.Fatalf("second FaultAccess = %v, want 0", got)
		}
	}
	run(codeAddr, platform.Write)  // the store
	run(codeAddr+3, platform.Read) // the load
	fr, _ := f.mf.Allocate(arch.PageSize)
	if err := f.as.MapFile(dataAddr, fr, platform.Read); err != nil {
		t.Fatal(err)
	}
	run(codeAddr, platform.Write)
	if err := f.ctx.PullFPState(st); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 16; i++ {
		if st.FP[160+i] != byte(0xa0+i) {
			t.Fatalf("xmm0 byte %d = %#x after the probes, want %#x", i, st.FP[160+i], 0xa0+i)
		}
	}
	// A fault served by mapping the page uses the thread, and the stop
	// is no longer there to probe.
	st.Regs.Rip = codeAddr
	if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapFault {
		t.Fatalf("trap %+v err %v, want a fault", trap, err)
	}
	if err := f.as.MapFile(dataAddr, fr, platform.Read|platform.Write); err != nil {
		t.Fatal(err)
	}
	if got := prober.FaultAccess(); got != 0 {
		t.Fatalf("FaultAccess after MapFile = %v, want 0", got)
	}
	st.Regs.Rax = 0x77
	trap, err := f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapSyscall || st.Regs.Rdx != 0x77 {
		t.Fatalf("after the probes: trap %+v err %v rdx %#x", trap, err, st.Regs.Rdx)
	}
}
