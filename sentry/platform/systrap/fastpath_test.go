package systrap

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

const testTrapTable = 0x60000

// withTrapTable maps a trap table at testTrapTable holding one entry per
// site (entry i+1 for sites[i]), as mm would write it, and returns the
// `jmp *abs32` that enters entry i+1.
func withTrapTable(t *testing.T, f *fixture, sites []struct {
	ret   uint64
	sysno uint32
}) [][]byte {
	t.Helper()
	fr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	mem := f.mf.Slice(fr)
	as := f.as.(*addressSpace)
	var jumps [][]byte
	for i, s := range sites {
		entry := uint64(testTrapTable + 64*(i+1))
		code := as.SyscallTrampoline(entry+8, s.ret, s.sysno)
		if code == nil || 8+len(code) > 64 {
			t.Fatalf("trampoline %d bytes", len(code))
		}
		binary.LittleEndian.PutUint64(mem[entry-testTrapTable:], entry+8)
		copy(mem[entry-testTrapTable+8:], code)
		jump := []byte{0xff, 0x24, 0x25, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(jump[3:], uint32(entry))
		jumps = append(jumps, jump)
	}
	if err := f.as.MapFile(testTrapTable, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	as.SetTrapTable(testTrapTable)
	return jumps
}

// mapTestCode maps a read+execute page at codeAddr holding code.
func mapTestCode(t *testing.T, f *fixture, code []byte) {
	t.Helper()
	fr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.mf.Slice(fr), code)
	if err := f.as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
}

// enablePatching turns patching on for one test, whatever the
// environment says.
func enablePatching(t *testing.T) {
	old := patchingEnabled
	patchingEnabled = true
	t.Cleanup(func() { patchingEnabled = old })
}

func fastThread(f *fixture) *stubThread {
	as := f.as.(*addressSpace)
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.threads[f.ctx.(*context)]
}

// TestPatchedSyscall runs a patched getppid site: the call comes back
// through the syshandler, without a signal, with the registers a `syscall`
// leaves (RCX the return address, R11 the flags) and every other one
// preserved, and the value the sentry returns reaches the application.
func TestPatchedSyscall(t *testing.T) {
	enablePatching(t)
	// codeAddr: jmp *entry1 (the patched `mov $110,%eax; syscall`);
	// mov %rax,%rdx; jmp codeAddr.
	code := make([]byte, 0, 16)
	f := newFixture(t, nil)
	jumps := withTrapTable(t, f, []struct {
		ret   uint64
		sysno uint32
	}{{codeAddr + 7, unix.SYS_GETPPID}})
	code = append(code, jumps[0]...)
	code = append(code, 0x48, 0x89, 0xc2, 0xeb, 0xf4)
	mapTestCode(t, f, code)

	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx, st.Regs.Rbp, st.Regs.R15 = 0x1122334455667788, 0x77, 0x99
	st.Regs.Rdi, st.Regs.Rsi, st.Regs.R10 = 1, 2, 3
	st.Regs.Rsp = 0x12345678
	for i := 0; i < 4; i++ {
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapSyscall || st.SyscallNo() != unix.SYS_GETPPID {
			t.Fatalf("round %d: trap %+v err %v nr %d", i, trap, err, st.SyscallNo())
		}
		if !fastThread(f).fast {
			t.Fatalf("round %d: the call did not come through the syshandler", i)
		}
		if trap.Patchable {
			t.Fatalf("round %d: a patched site reported as patchable", i)
		}
		r := &st.Regs
		if r.Rip != codeAddr+7 || r.Rcx != codeAddr+7 || r.R11 != r.Eflags || r.Rsp != 0x12345678 {
			t.Fatalf("round %d: rip %#x rcx %#x r11 %#x eflags %#x rsp %#x", i, r.Rip, r.Rcx, r.R11, r.Eflags, r.Rsp)
		}
		if r.Rbx != 0x1122334455667788 || r.Rbp != 0x77 || r.R15 != 0x99 || r.Rdi != 1 || r.Rsi != 2 || r.R10 != 3 {
			t.Fatalf("round %d: registers not preserved: %+v", i, *r)
		}
		if i > 0 && r.Rdx != uint64(100+i-1) {
			t.Fatalf("round %d: rdx %d, want the previous return value %d", i, r.Rdx, 100+i-1)
		}
		st.SetReturn(uint64(100 + i))
	}
}

// TestPatchedSyscallRAX runs a patched site of Go's form (the number in
// RAX, the last two argument moves replaced by the jump): the trampoline
// makes the moves, the sentry sees the application's number and arguments
// in the registers a `syscall` would have, and the answer comes back.
func TestPatchedSyscallRAX(t *testing.T) {
	enablePatching(t)
	f := newFixture(t, nil)
	as := f.as.(*addressSpace)
	// codeAddr: mov %rsi,%r10; mov %rdi,%rdx; jmp *entry (replacing mov
	// %rcx,%rsi; mov %rbx,%rdi; syscall, whose last byte stays);
	// ret: mov %rax,%rbp; mov $110,%eax; mov %r12,%rcx; jmp codeAddr.
	ret := uint64(codeAddr + 14)
	entry := uint64(testTrapTable + 64)
	tramp := as.SyscallTrampolineRAX(entry+8, ret, []byte{0x48, 0x89, 0xce, 0x48, 0x89, 0xdf})
	if tramp == nil || 8+len(tramp) > 64 {
		t.Fatalf("trampoline %d bytes", len(tramp))
	}
	tr, _ := f.mf.Allocate(arch.PageSize)
	binary.LittleEndian.PutUint64(f.mf.Slice(tr)[64:], entry+8)
	copy(f.mf.Slice(tr)[72:], tramp)
	if err := f.as.MapFile(testTrapTable, tr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	as.SetTrapTable(testTrapTable)
	code := []byte{0x49, 0x89, 0xf2, 0x48, 0x89, 0xfa, 0xff, 0x24, 0x25, 0, 0, 0, 0, 0x05}
	binary.LittleEndian.PutUint32(code[9:], uint32(entry))
	code = append(code, 0x48, 0x89, 0xc5, 0xb8, 110, 0, 0, 0, 0x4c, 0x89, 0xe1, 0xeb, 0xe5)
	mapTestCode(t, f, code)

	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rax = unix.SYS_GETPPID
	st.Regs.Rbx, st.Regs.Rcx, st.Regs.Rdi, st.Regs.Rsi = 0xa1, 0xa2, 0xa3, 0xa4
	st.Regs.R12 = 0xa2
	st.Regs.Rsp = 0x12345678
	for i := 0; i < 4; i++ {
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapSyscall || st.SyscallNo() != unix.SYS_GETPPID {
			t.Fatalf("round %d: trap %+v err %v nr %d", i, trap, err, st.SyscallNo())
		}
		if !fastThread(f).fast || trap.Patchable {
			t.Fatalf("round %d: the call did not come through the syshandler", i)
		}
		r := &st.Regs
		if r.Rip != ret || r.Rcx != ret || r.R11 != r.Eflags || r.Rsp != 0x12345678 {
			t.Fatalf("round %d: rip %#x rcx %#x r11 %#x eflags %#x rsp %#x", i, r.Rip, r.Rcx, r.R11, r.Eflags, r.Rsp)
		}
		if r.Rdi != 0xa1 || r.Rsi != 0xa2 || r.Rdx != 0xa3 || r.R10 != 0xa4 || r.Rbx != 0xa1 {
			t.Fatalf("round %d: arguments rdi %#x rsi %#x rdx %#x r10 %#x", i, r.Rdi, r.Rsi, r.Rdx, r.R10)
		}
		if i > 0 && r.Rbp != uint64(100+i-1) {
			t.Fatalf("round %d: rbp %d, want the previous return value %d", i, r.Rbp, 100+i-1)
		}
		// The next round's arguments: what the code put where.
		r.Rdi, r.Rsi = 0xa3, 0xa4
		st.SetReturn(uint64(100 + i))
	}
}

// TestPatchedSyscallFPState: the floating-point state of a thread that
// entered through a patched site is live in the CPU; pulling and pushing it
// goes through the thread's signal frame (materialize).
func TestPatchedSyscallFPState(t *testing.T) {
	enablePatching(t)
	f := newFixture(t, nil)
	// movq %rax,%xmm3; jmp *entry1; movq %xmm3,%rdx; jmp *entry2
	jumps := withTrapTable(t, f, []struct {
		ret   uint64
		sysno uint32
	}{{codeAddr + 5 + 7, 39}, {codeAddr + 5 + 7 + 5 + 7, 39}})
	code := []byte{0x66, 0x48, 0x0f, 0x6e, 0xd8}
	code = append(code, jumps[0]...)
	code = append(code, 0x66, 0x48, 0x0f, 0x7e, 0xda)
	code = append(code, jumps[1]...)
	fr, _ := f.mf.Allocate(arch.PageSize)
	copy(f.mf.Slice(fr), code)
	if err := f.as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rax = 0xfeedface
	if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall || !fastThread(f).fast {
		t.Fatalf("trap %+v err %v", trap, err)
	}
	if err := f.ctx.PullFPState(st); err != nil {
		t.Fatal(err)
	}
	if fastThread(f).fast {
		t.Fatal("the thread still has no signal frame after PullFPState")
	}
	if got := *(*uint64)(unsafePtr(&st.FP[160+48])); got != 0xfeedface {
		t.Fatalf("xmm3 pulled %#x, want 0xfeedface", got)
	}
	*(*uint64)(unsafePtr(&st.FP[160+48])) = 0xc0ffee
	if err := f.ctx.PushFPState(st); err != nil {
		t.Fatal(err)
	}
	if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v err %v", trap, err)
	}
	if st.Regs.Rdx != 0xc0ffee || st.Regs.Rip != codeAddr+24 {
		t.Fatalf("after push: rdx %#x rip %#x, want 0xc0ffee at %#x", st.Regs.Rdx, st.Regs.Rip, codeAddr+24)
	}
}

// interruptSoon interrupts ctx from another goroutine after it yields
// its processor yields times; the channel closes once it has.
func interruptSoon(ctx platform.Context, yields int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range yields {
			runtime.Gosched()
		}
		ctx.Interrupt()
	}()
	return done
}

// TestInterruptAfterPatchedSyscall: a busy loop after a patched site is
// still interrupted (a kick that lands anywhere on the way back is not
// lost).
func TestInterruptAfterPatchedSyscall(t *testing.T) {
	enablePatching(t)
	f := newFixture(t, nil)
	jumps := withTrapTable(t, f, []struct {
		ret   uint64
		sysno uint32
	}{{codeAddr + 7, 39}})
	code := append(append([]byte(nil), jumps[0]...), 0xeb, 0xfe) // then jmp .
	fr, _ := f.mf.Allocate(arch.PageSize)
	copy(f.mf.Slice(fr), code)
	if err := f.as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		st := &arch.State{}
		st.Regs.Rip = codeAddr
		if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
			t.Fatalf("trap %+v err %v", trap, err)
		}
		done := interruptSoon(f.ctx, i%7)
		trap, err := f.ctx.Switch(f.as, st)
		<-done
		if err != nil || trap.Kind != platform.TrapInterrupted {
			t.Fatalf("round %d: trap %+v err %v, want interrupted", i, trap, err)
		}
		if st.Regs.Rip != codeAddr+7 {
			t.Fatalf("round %d: interrupted at rip %#x", i, st.Regs.Rip)
		}
	}
}

// TestPostedMappingFailureAfterPatchedSyscall: a queued mapping that fails
// while the thread waits in the syshandler fails that Switch (the thread,
// which waits for the request itself, reports it instead of returning to
// the application), and the next Switch returns from the patched call with
// the registers the sentry hands back.
func TestPostedMappingFailureAfterPatchedSyscall(t *testing.T) {
	enablePatching(t)
	f := newFixture(t, nil)
	jumps := withTrapTable(t, f, []struct {
		ret   uint64
		sysno uint32
	}{{codeAddr + 7, unix.SYS_GETPPID}})
	// jmp *entry1; mov %rax,%rdx; jmp codeAddr.
	code := append(append([]byte(nil), jumps[0]...), 0x48, 0x89, 0xc2, 0xeb, 0xf4)
	fr, _ := f.mf.Allocate(arch.PageSize)
	copy(f.mf.Slice(fr), code)
	if err := f.as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall || !fastThread(f).fast {
		t.Fatalf("first patched call: trap %+v err %v", trap, err)
	}
	for i := 0; i < 3; i++ {
		// Misaligned: the host's mmap says EINVAL.
		if err := f.as.MapFile(dataAddr+1, fr, platform.Read); err != nil {
			t.Fatal(err)
		}
		st.SetReturn(uint64(42 + i))
		if trap, err := f.ctx.Switch(f.as, st); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("round %d: Switch with a bad queued mapping: trap %+v err %v, want EINVAL", i, trap, err)
		}
		if !fastThread(f).fast {
			t.Fatalf("round %d: the thread left the syshandler", i)
		}
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapSyscall || st.Regs.Rip != codeAddr+7 {
			t.Fatalf("round %d: after the failure: trap %+v err %v rip %#x", i, trap, err, st.Regs.Rip)
		}
		if st.Regs.Rdx != uint64(42+i) {
			t.Fatalf("round %d: rdx %d, want the return value handed back, %d", i, st.Regs.Rdx, 42+i)
		}
	}
}

// TestLocalYield runs a patched sched_yield site in a loop that counts the
// calls in RDX. While the task lets it, the stub answers every call itself
// (the Switch comes back only when interrupted, with the loop's registers
// whatever instruction the kick found, the call in progress finished, or
// after taking to the sentry a call whose trampoline the kick found);
// otherwise each call comes to the sentry.
func TestLocalYield(t *testing.T) {
	enablePatching(t)
	if !localYieldEnabled {
		t.Skip("COCOON_SYSTRAP_LOCAL_YIELD=0")
	}
	f := newFixture(t, nil)
	jumps := withTrapTable(t, f, []struct {
		ret   uint64
		sysno uint32
	}{{codeAddr + 7, unix.SYS_SCHED_YIELD}})
	// jmp *entry1; inc %rdx; jmp codeAddr
	code := append(append([]byte(nil), jumps[0]...), 0x48, 0xff, 0xc2, 0xeb, 0xf4)
	mapTestCode(t, f, code)
	ctx := f.ctx.(*context)

	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rsp, st.Regs.Rbx, st.Regs.R15 = 0x12345678, 0x1122334455667788, 0x99
	ctx.SetLocalYield(false)
	for i := 0; i < 3; i++ {
		trap, err := ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapSyscall || st.SyscallNo() != unix.SYS_SCHED_YIELD {
			t.Fatalf("round %d: trap %+v err %v nr %d, want sched_yield", i, trap, err, st.SyscallNo())
		}
		st.SetReturn(0)
	}
	ctx.SetLocalYield(true)
	var last uint64
	for i := 0; i < 50; i++ {
		done := interruptSoon(ctx, 1+i%7)
		trap, err := ctx.Switch(f.as, st)
		<-done
		if err == nil && trap.Kind == platform.TrapSyscall && st.SyscallNo() == unix.SYS_SCHED_YIELD {
			// The kick landed in the trampoline, which then took
			// the call to the sentry; the interrupt is still due.
			st.SetReturn(0)
			trap, err = ctx.Switch(f.as, st)
		}
		if err != nil || trap.Kind != platform.TrapInterrupted {
			t.Fatalf("round %d: trap %+v err %v, want interrupted", i, trap, err)
		}
		r := &st.Regs
		if r.Rip < codeAddr || r.Rip >= codeAddr+uint64(len(code)) || r.Rsp != 0x12345678 {
			t.Fatalf("round %d: interrupted at rip %#x rsp %#x, outside the loop", i, r.Rip, r.Rsp)
		}
		if r.Rbx != 0x1122334455667788 || r.R15 != 0x99 {
			t.Fatalf("round %d: registers not preserved: %+v", i, *r)
		}
		if r.Rdx < last {
			t.Fatalf("round %d: count went back from %d to %d", i, last, r.Rdx)
		}
		last = r.Rdx
	}
	if last == 0 {
		t.Fatal("no sched_yield was answered by the stub")
	}
	t.Logf("%d calls answered by the stub", last)
}
