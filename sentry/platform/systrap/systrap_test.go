package systrap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
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

func newFixture(t testing.TB, code []byte) *fixture {
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
	t.Cleanup(ctx.Release)
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

func TestStubCode(t *testing.T) {
	code, err := handlerCode()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stub handler: %d bytes", len(code))
	if _, err := stubImage(); err != nil {
		t.Fatal(err)
	}
}

func TestSyscallTrap(t *testing.T) {
	f := newFixture(t, getppidLoop)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = 0x1122334455667788
	st.Regs.R15 = 0x99
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
		if st.Regs.Rbx != 0x1122334455667788 || st.Regs.R15 != 0x99 {
			t.Fatalf("registers not preserved: rbx %#x r15 %#x", st.Regs.Rbx, st.Regs.R15)
		}
		st.SetReturn(42)
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
	if trap.Kind != platform.TrapFault || trap.Addr != dataAddr || !trap.NotPresent || trap.Access != platform.Write {
		t.Fatalf("trap %+v, want not-present write fault at %#x", trap, dataAddr)
	}
	if st.Regs.Rip != codeAddr {
		t.Fatalf("rip %#x at fault, want %#x", st.Regs.Rip, codeAddr)
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
	if err != nil || trap.Kind != platform.TrapFault || trap.Code != 2 /* SEGV_ACCERR */ || trap.NotPresent {
		t.Fatalf("store to read-only page: trap %+v err %v", trap, err)
	}
	// Unmapped: any access must fault.
	f.as.Unmap(dataAddr, arch.PageSize)
	st.Regs.Rip = codeAddr + 3 // the load
	trap, err = f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapFault || trap.Code != 1 /* SEGV_MAPERR */ || trap.Access != platform.Read {
		t.Fatalf("load from unmapped page: trap %+v err %v", trap, err)
	}
}

func TestExceptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		code []byte
		sig  unix.Signal
	}{
		{"ud2", []byte{0x0f, 0x0b}, unix.SIGILL},
		{"int3", []byte{0xcc}, unix.SIGTRAP},
		{"div0", []byte{0x31, 0xc9, 0xf7, 0xf1}, unix.SIGFPE}, // xor %ecx,%ecx; div %ecx
		{"hlt", []byte{0xf4}, unix.SIGSEGV},                   // #GP
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.code)
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			trap, err := f.ctx.Switch(f.as, st)
			if err != nil {
				t.Fatal(err)
			}
			if trap.Signo != int(tc.sig) {
				t.Fatalf("trap %+v, want signal %v", trap, tc.sig)
			}
		})
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
	if st.Regs.Rip != codeAddr {
		t.Fatalf("rip %#x, want %#x", st.Regs.Rip, codeAddr)
	}
	// An interrupt before Switch makes it return at once.
	f.ctx.Interrupt()
	trap, err = f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapInterrupted {
		t.Fatalf("pending interrupt: trap %+v err %v", trap, err)
	}
}

// TestFSBase: mov %fs:0, %rax; mov $39, %eax would clobber it, so:
// mov %fs:0, %rdx; mov $39,%eax; syscall.
func TestFSBase(t *testing.T) {
	code := []byte{0x64, 0x48, 0x8b, 0x14, 0x25, 0, 0, 0, 0, 0xb8, 39, 0, 0, 0, 0x0f, 0x05}
	f := newFixture(t, code)
	fr, _ := f.mf.Allocate(arch.PageSize)
	if err := f.as.MapFile(dataAddr, fr, platform.Read|platform.Write); err != nil {
		t.Fatal(err)
	}
	mem := f.mf.Slice(fr)
	mem[0x10], mem[0x20] = 0xaa, 0xbb
	for _, c := range []struct {
		off  uint64
		want uint64
	}{{0x10, 0xaa}, {0x20, 0xbb}, {0x10, 0xaa}} {
		st := &arch.State{}
		st.Regs.Rip = codeAddr
		st.Regs.Fs_base = dataAddr + c.off
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapSyscall || st.Regs.Rdx != c.want || st.Regs.Fs_base != dataAddr+c.off {
			t.Fatalf("fs base %#x: trap %+v err %v rdx %#x", dataAddr+c.off, trap, err, st.Regs.Rdx)
		}
	}
}

// TestFPState: movq %rax, %xmm3; mov $39,%eax; syscall; movq %xmm3, %rdx; syscall
func TestFPState(t *testing.T) {
	code := []byte{0x66, 0x48, 0x0f, 0x6e, 0xd8, 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x66, 0x48, 0x0f, 0x7e, 0xda, 0x0f, 0x05}
	f := newFixture(t, code)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rax = 0xfeedface
	if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v err %v", trap, err)
	}
	if err := f.ctx.PullFPState(st); err != nil {
		t.Fatal(err)
	}
	// XMM3 is at 160 + 3*16 in the FXSAVE layout.
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
	if st.Regs.Rdx != 0xc0ffee {
		t.Fatalf("xmm3 after push: %#x, want 0xc0ffee", st.Regs.Rdx)
	}
}

// TestEscapeRawSyscall: a raw `syscall` of the application never reaches
// the host: getpid and kill(getppid, SIGKILL) and a write to fd 0 (the
// memory file in the stub) all come back to the sentry as traps.
func TestEscapeRawSyscall(t *testing.T) {
	f := newFixture(t, []byte{0x0f, 0x05, 0xeb, 0xfc}) // syscall; jmp back
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	for _, call := range []struct {
		nr   uint64
		args [3]uint64
	}{
		{unix.SYS_GETPID, [3]uint64{}},
		{unix.SYS_KILL, [3]uint64{uint64(os.Getpid()), uint64(unix.SIGKILL)}},
		{unix.SYS_WRITE, [3]uint64{0, codeAddr, 2}},
		{unix.SYS_EXIT_GROUP, [3]uint64{0}},
		{0x40000000 | unix.SYS_GETPID, [3]uint64{}}, // x32
	} {
		st.Regs.Rax = call.nr
		st.Regs.Rdi, st.Regs.Rsi, st.Regs.Rdx = call.args[0], call.args[1], call.args[2]
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapSyscall || st.SyscallNo() != call.nr {
			t.Fatalf("syscall %#x: trap %+v err %v nr %#x", call.nr, trap, err, st.SyscallNo())
		}
		st.Regs.Rip = codeAddr
	}
	// int $0x80 (the 32-bit entry) is trapped too, or is a #GP where the
	// host has no 32-bit emulation.
	f2 := newFixture(t, []byte{0xcd, 0x80})
	st = &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rax = 20 // getpid (i386)
	trap, err := f2.ctx.Switch(f2.as, st)
	if err != nil || (trap.Kind != platform.TrapSyscall && trap.Signo != int(unix.SIGSEGV)) {
		t.Fatalf("int $0x80: trap %+v err %v", trap, err)
	}
}

// TestEscapeThroughStubCode: jumping to the stub's own `syscall`
// instructions (the only ones the master filter lets through) with a call
// outside the hand-off path kills the stub instead of running it.
func TestEscapeThroughStubCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		nr   uint64
		args [6]uint64
	}{
		{"getpid", unix.SYS_GETPID, [6]uint64{}},
		{"mmap", unix.SYS_MMAP, [6]uint64{dataAddr, 4096, unix.PROT_READ | unix.PROT_WRITE, unix.MAP_SHARED | unix.MAP_FIXED, 0, 0}},
		{"futex-requeue", unix.SYS_FUTEX, [6]uint64{codeAddr, 3}},
		{"arch_prctl-get-gs", unix.SYS_ARCH_PRCTL, [6]uint64{0x1004, dataAddr}},
	} {
		// The hand-off's first `syscall` (its futex wake).
		handoffSyscall := stubHandoffAddr + uint64(bytes.Index(handoffBytes, []byte{0x0f, 0x05}))
		// The syscall thread's `syscall` that runs the requests.
		sysThreadLoop := sysThreadSyscalls()[2]
		for _, target := range []uint64{stubSyscallAddr, stubRestorerAddr + 5, sysThreadLoop, handoffSyscall} {
			t.Run(fmt.Sprintf("%s@%#x", tc.name, target), func(t *testing.T) {
				// mov $target, %rcx; jmp *%rcx
				code := []byte{0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xe1}
				*(*uint64)(unsafePtr(&code[2])) = target
				f := newFixture(t, code)
				st := &arch.State{}
				st.Regs.Rip = codeAddr
				st.Regs.Rax = tc.nr
				r := &st.Regs
				r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9 = tc.args[0], tc.args[1], tc.args[2], tc.args[3], tc.args[4], tc.args[5]
				trap, err := f.ctx.Switch(f.as, st)
				if err == nil {
					t.Fatalf("stub survived a %s from its own code: trap %+v", tc.name, trap)
				}
			})
		}
	}
}

// TestThreadsShareAddressSpace runs two tasks on two host threads in one
// address space: each gets its own stub thread, both see the same memory,
// and one task's exit leaves the other running.
func TestThreadsShareAddressSpace(t *testing.T) {
	// mov %rax,(%rbx); mov $39,%eax; syscall; jmp .-7 (back to mov $39)
	code := []byte{0x48, 0x89, 0x03, 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7}
	f := newFixture(t, code)
	fr, _ := f.mf.Allocate(arch.PageSize)
	if err := f.as.MapFile(dataAddr, fr, platform.Read|platform.Write); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		errs := make(chan error, 2)
		for id := uint64(1); id <= 2; id++ {
			go func() {
				runtime.LockOSThread()
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
	}
	mem := f.mf.Slice(fr)
	if mem[8] != 0x11 || mem[16] != 0x22 {
		t.Fatalf("stores from the two tasks: %#x %#x", mem[8], mem[16])
	}
	// Regions of exited threads are reused.
	as := f.as.(*addressSpace)
	as.mu.Lock()
	n := len(as.regions)
	as.mu.Unlock()
	if n > 4 {
		t.Errorf("%d regions for at most 3 threads at a time", n)
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = dataAddr
	if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("after the workers exited: trap %+v err %v", trap, err)
	}
}

// TestTwoAddressSpaces: a task moves to a new address space (as after
// exec) and keeps its FP state.
// TestExitedTaskThreadServesNextTask: the stub thread of a task that
// exited runs the process's next task, with that task's registers.
func TestExitedTaskThreadServesNextTask(t *testing.T) {
	f := newFixture(t, getppidLoop)
	as := f.as.(*addressSpace)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	if _, err := f.ctx.Switch(f.as, st); err != nil {
		t.Fatal(err)
	}
	tid := as.threads[f.ctx.(*context)].tid
	f.ctx.Release()
	next, err := f.p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer next.Release()
	// getppid's mov: the thread runs from where the new task says.
	st = &arch.State{}
	st.Regs.Rip = codeAddr + 5
	st.Regs.Rax = unix.SYS_GETPID
	trap, err := next.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v err %v", trap, err)
	}
	if st.Regs.Orig_rax != unix.SYS_GETPID || st.Regs.Rip != codeAddr+7 {
		t.Errorf("system call %d at %#x, want %d at %#x", st.Regs.Orig_rax, st.Regs.Rip, unix.SYS_GETPID, codeAddr+7)
	}
	if got := as.threads[next.(*context)].tid; got != tid {
		t.Errorf("the next task runs on stub thread %d, want the exited task's %d", got, tid)
	}
}

func TestTwoAddressSpaces(t *testing.T) {
	f := newFixture(t, getppidLoop)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	if _, err := f.ctx.Switch(f.as, st); err != nil {
		t.Fatal(err)
	}
	as2, err := f.p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as2.Release()
	fr, _ := f.mf.Allocate(arch.PageSize)
	copy(f.mf.Slice(fr), getppidLoop)
	if err := as2.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	f.as.Release()
	st.Regs.Rip = codeAddr
	if trap, err := f.ctx.Switch(as2, st); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v err %v", trap, err)
	}
}

func BenchmarkSyscallRoundTrip(b *testing.B) {
	f := newFixture(b, getppidLoop)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.ctx.Switch(f.as, st); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapFile(b *testing.B) {
	f := newFixture(b, getppidLoop)
	fr, _ := f.mf.Allocate(arch.PageSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := f.as.MapFile(dataAddr, fr, platform.Read); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEscapeJIT: code the application writes at run time (a JIT) and
// executes is trapped like any other: the `syscall` it generates comes back
// to the sentry.
func TestEscapeJIT(t *testing.T) {
	// movl $0x9090050f, (%rbx)   (syscall; nop; nop)
	// mov $39, %eax; jmp *%rbx
	code := []byte{0xc7, 0x03, 0x0f, 0x05, 0x90, 0x90, 0xb8, 39, 0, 0, 0, 0xff, 0xe3}
	f := newFixture(t, code)
	fr, _ := f.mf.Allocate(arch.PageSize)
	if err := f.as.MapFile(dataAddr, fr, platform.Read|platform.Write|platform.Execute); err != nil {
		t.Fatal(err)
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = dataAddr
	trap, err := f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapSyscall || st.SyscallNo() != unix.SYS_GETPID || st.Regs.Rip != dataAddr+2 {
		t.Fatalf("trap %+v err %v nr %d rip %#x", trap, err, st.SyscallNo(), st.Regs.Rip)
	}
}

// sumPages: add (%rbx),%rdx; add $4096,%rbx; dec %rcx; jne back;
// mov $110,%eax; syscall.
var sumPages = []byte{0x48, 0x03, 0x13, 0x48, 0x81, 0xc3, 0x00, 0x10, 0x00, 0x00, 0x48, 0xff,
	0xc9, 0x75, 0xf1, 0xb8, 0x6e, 0x00, 0x00, 0x00, 0x0f, 0x05}

// Mappings made while the application is stopped are queued and run in
// batches before it runs again: more than a batch holds, each page its own
// call, must all be in place.
func TestBatchedMappings(t *testing.T) {
	f := newFixture(t, sumPages)
	const n = maxBatch + maxBatch/2
	var want uint64
	for i := 0; i < n; i++ {
		fr, err := f.mf.Allocate(arch.PageSize)
		if err != nil {
			t.Fatal(err)
		}
		// Every other page from a separate allocation, so no two
		// calls could be merged.
		if _, err := f.mf.Allocate(arch.PageSize); err != nil {
			t.Fatal(err)
		}
		v := uint64(i+1) * 1000003
		f.mf.Slice(fr)[0], f.mf.Slice(fr)[1], f.mf.Slice(fr)[2] = byte(v), byte(v>>8), byte(v>>16)
		want += v & 0xffffff
		if err := f.as.MapFile(dataAddr+uint64(i)*arch.PageSize, fr, platform.Read); err != nil {
			t.Fatal(err)
		}
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = dataAddr
	st.Regs.Rcx = n
	trap, err := f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v err %v, want the syscall after the loop", trap, err)
	}
	if st.Regs.Rdx != want {
		t.Fatalf("sum of %d batched pages = %#x, want %#x", n, st.Regs.Rdx, want)
	}
}

// A queued call the host refuses fails the Switch that runs it, saying
// which; the stub goes on serving the ones after it.
func TestBatchedMappingFailure(t *testing.T) {
	f := newFixture(t, getppidLoop)
	fr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.as.MapFile(dataAddr, fr, platform.Read); err != nil {
		t.Fatal(err)
	}
	// Misaligned: the host's mmap says EINVAL.
	if err := f.as.MapFile(dataAddr+arch.PageSize+1, fr, platform.Read); err != nil {
		t.Fatal(err)
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	if _, err := f.ctx.Switch(f.as, st); err == nil || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Switch with a bad queued mapping: %v, want EINVAL", err)
	}
	st.Regs.Rip = codeAddr
	if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("Switch after the failed batch: trap %+v err %v", trap, err)
	}
}

// sysThreadSyscalls returns the addresses of the `syscall` instructions of
// the syscall thread's code, in order: rt_sigprocmask, the futex wait for
// a request, the request's calls, the three failure pwrites (Rem, Errno,
// Failed), the Done pwrite, the futex wake, exit_group.
func sysThreadSyscalls() []uint64 {
	var out []uint64
	for off := 0; ; {
		i := bytes.Index(sysThreadBytes[off:], []byte{0x0f, 0x05})
		if i < 0 {
			return out
		}
		out = append(out, stubSysThreadAddr+uint64(off+i))
		off += i + 2
	}
}

func TestSysThreadCode(t *testing.T) {
	if got := len(sysThreadSyscalls()); got != 9 {
		t.Fatalf("syscall thread code has %d syscall instructions, want 9 (the tests name them by index)", got)
	}
}

// TestEscapeThroughSysThreadCode: entering the syscall thread's code with
// registers or entries of the application's making runs none of its calls:
// the requests' loop, or any of its pwrites (a forged completion report),
// kill the stub, since the application threads' filter refuses them from
// the stub's code page.
func TestEscapeThroughSysThreadCode(t *testing.T) {
	sc := sysThreadSyscalls()
	// The loop's first instruction, mov (%rbx),%rax: 48 8b 03.
	loop := bytes.Index(sysThreadBytes, []byte{0x48, 0x8b, 0x03, 0x48, 0x8b, 0x7b, 0x08})
	if loop < 0 {
		t.Fatal("syscall thread loop not found")
	}
	for _, tc := range []struct {
		name   string
		target uint64
		regs   func(r *arch.Registers)
	}{
		// Entries at dataAddr: an mmap over the stub's own data page.
		{"forged-entries", stubSysThreadAddr + uint64(loop), func(r *arch.Registers) { r.Rbx, r.R12 = dataAddr, 1 }},
		// pwrite(0, dataAddr, 4, file offset of the Done word): the
		// offset does not matter, the call is refused by number.
		{"pwrite-rem", sc[3], func(r *arch.Registers) {
			r.Rax, r.Rdi, r.Rsi, r.Rdx, r.R10 = unix.SYS_PWRITE64, 0, dataAddr, 1, 0
		}},
		{"pwrite-errno", sc[4], func(r *arch.Registers) {
			r.Rax, r.Rdi, r.Rsi, r.Rdx, r.R10 = unix.SYS_PWRITE64, 0, dataAddr, 1, 0
		}},
		{"pwrite-failed", sc[5], func(r *arch.Registers) {
			r.Rax, r.Rdi, r.Rsi, r.Rdx, r.R10 = unix.SYS_PWRITE64, 0, dataAddr, 4, 0
		}},
		{"pwrite-done", sc[6], func(r *arch.Registers) {
			r.Rax, r.Rdi, r.Rsi, r.Rdx, r.R10 = unix.SYS_PWRITE64, 0, dataAddr, 4, 0
		}},
		{"mmap-at-loop", sc[2], func(r *arch.Registers) {
			r.Rax, r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9 = unix.SYS_MMAP, dataAddr+0x10000, 4096,
				unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED, 0, 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// mov $target,%rcx; jmp *%rcx
			code := []byte{0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xe1}
			*(*uint64)(unsafePtr(&code[2])) = tc.target
			f := newFixture(t, code)
			fr, err := f.mf.Allocate(arch.PageSize)
			if err != nil {
				t.Fatal(err)
			}
			entry := (*[7]uint64)(unsafePtr(&f.mf.Slice(fr)[0]))
			*entry = [7]uint64{unix.SYS_MMAP, stubDataAddr, 4096, unix.PROT_READ | unix.PROT_WRITE, unix.MAP_SHARED | unix.MAP_FIXED, 0, 0}
			if err := f.as.MapFile(dataAddr, fr, platform.Read|platform.Write); err != nil {
				t.Fatal(err)
			}
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			tc.regs(&st.Regs)
			if trap, err := f.ctx.Switch(f.as, st); err == nil {
				t.Fatalf("stub survived: trap %+v", trap)
			}
		})
	}
}

// The syscall thread's edits complete before Unmap returns: a page
// unmapped and then read faults, many times over, with the syscall thread
// asleep or not.
func TestUnmapIsSynchronous(t *testing.T) {
	// mov (%rbx),%rax; mov $110,%eax; syscall
	code := []byte{0x48, 0x8b, 0x03, 0xb8, 110, 0, 0, 0, 0x0f, 0x05}
	f := newFixture(t, code)
	fr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if err := f.as.MapFile(dataAddr, fr, platform.Read); err != nil {
			t.Fatal(err)
		}
		st := &arch.State{}
		st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
		if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
			t.Fatalf("round %d, mapped: trap %+v err %v", i, trap, err)
		}
		f.as.Unmap(dataAddr, arch.PageSize)
		st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapFault || trap.Addr != dataAddr {
			t.Fatalf("round %d, unmapped: trap %+v err %v, want a fault at %#x", i, trap, err, dataAddr)
		}
		if i%2 == 1 {
			// Let the syscall thread fall asleep.
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// An munmap the host refuses kills the stub instead of leaving the pages
// mapped.
func TestFailedUnmapKillsStub(t *testing.T) {
	f := newFixture(t, getppidLoop)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	if _, err := f.ctx.Switch(f.as, st); err != nil {
		t.Fatal(err)
	}
	// Misaligned: the host's munmap says EINVAL.
	f.as.Unmap(dataAddr+1, arch.PageSize)
	st.Regs.Rip = codeAddr
	if trap, err := f.ctx.Switch(f.as, st); err == nil {
		t.Fatalf("stub survived a failed munmap: trap %+v", trap)
	}
}

// offRounds returns how many rounds in a row s now refuses to spin.
func offRounds(s *spinner) int {
	n := 0
	for !s.enabled() {
		n++
	}
	return n
}

// TestSpinnerBackoff: two misses in a row switch spinning off for
// spinMinOffRounds rounds, each further miss right after for twice as
// long, up to spinOffRounds; a hit starts over; misses while the other
// side slept count only spinNeutralLimit at a time, and not across a miss
// that counts.
func TestSpinnerBackoff(t *testing.T) {
	var s spinner
	s.record(false)
	if got := offRounds(&s); got != 0 {
		t.Fatalf("one miss: off %d rounds, want 0", got)
	}
	s.record(false)
	want := spinMinOffRounds
	for i := 0; i < 6; i++ {
		if i > 0 {
			s.record(false)
		}
		if got := offRounds(&s); got != want {
			t.Fatalf("switch-off %d: off %d rounds, want %d", i, got, want)
		}
		want = min(2*want, spinOffRounds)
	}
	s.record(true)
	s.record(false)
	if got := offRounds(&s); got != 0 {
		t.Fatalf("a miss after a hit: off %d rounds, want 0", got)
	}
	s.record(true)
	for i := 1; i < spinNeutralLimit; i++ {
		s.recordAsleep()
	}
	s.record(true)
	for i := 1; i < spinNeutralLimit; i++ {
		s.recordAsleep()
	}
	if got := offRounds(&s); got != 0 {
		t.Fatalf("neutral misses broken by a hit: off %d rounds, want 0", got)
	}
	for i := 0; i < 2*spinNeutralLimit; i++ {
		s.recordAsleep()
	}
	if got := offRounds(&s); got != spinMinOffRounds {
		t.Fatalf("%d neutral misses: off %d rounds, want %d", 2*spinNeutralLimit, got, spinMinOffRounds)
	}
}

// TestStubSpinSurvivesLongCalls: a program that mixes calls the sentry
// serves for longer than the stub's spin lasts with cheap ones keeps the
// stub spinning for the cheap ones; a stub that sleeps through answers
// the sentry gave quickly still stops spinning.
func TestStubSpinSurvivesLongCalls(t *testing.T) {
	var th stubThread
	th.sentryAwake = true
	for round := 0; round < 10*spinOffRounds; round++ {
		if !th.stubSpin.enabled() {
			t.Fatalf("round %d: the stub stopped spinning, though every spin it lost was to a call served for %v", round, 10*stubSpinBudget)
		}
		long := round%3 != 2
		if long {
			th.recordStubSpin(true, 10*stubSpinBudget)
		} else {
			th.recordStubSpin(false, stubSpinBudget/10)
		}
	}
	for i := 0; i < spinMissLimit; i++ {
		th.recordStubSpin(true, stubSpinBudget/10)
	}
	if got := offRounds(&th.stubSpin); got != spinMinOffRounds {
		t.Fatalf("the stub slept through %d quick answers: off %d rounds, want %d", spinMissLimit, got, spinMinOffRounds)
	}
}

// TestBlockingStopsTheStubSpinning: a stub thread spinning for the answer
// to a call goes to sleep as soon as the sentry says the task blocks,
// rather than when its spin runs out, and is woken by the answer.
func TestBlockingStopsTheStubSpinning(t *testing.T) {
	f := newFixture(t, getppidLoop)
	withoutCPUHints(t)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	c := f.ctx.(*context)
	old := stubSpin
	// Once the sentry has handed the thread back with it, the stub
	// spins for far longer than the test waits.
	stubSpin = 1 << 30
	t.Cleanup(func() { stubSpin = old })
	for i := 0; i < 2; i++ {
		if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
			t.Fatalf("trap %+v err %v", trap, err)
		}
	}
	for i := 0; i < 3; i++ {
		if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
			t.Fatalf("trap %+v err %v", trap, err)
		}
		msg := c.last.msg
		if atomic.LoadUint32(&msg.StubSleeping) != 0 {
			t.Fatalf("round %d: the stub sleeps before its spin of %d could run out", i, stubSpin)
		}
		c.Blocking()
		deadline := time.Now().Add(5 * time.Second)
		for atomic.LoadUint32(&msg.StubSleeping) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the stub still spins 5s after Blocking", i)
			}
			time.Sleep(time.Millisecond)
		}
		st.Regs.Rip = codeAddr
	}
}

// BenchmarkAddressSpaceLifetime is what a fork or an exec costs the
// platform: a new address space, one mapping, its first run to a system
// call and its release, with the factory making the next spare meanwhile.
func BenchmarkAddressSpaceLifetime(b *testing.B) {
	f := newFixture(b, getppidLoop)
	fr, _ := f.mf.Allocate(arch.PageSize)
	copy(f.mf.Slice(fr), getppidLoop)
	st := &arch.State{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		as, err := f.p.NewAddressSpace()
		if err != nil {
			b.Fatal(err)
		}
		if err := as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
			b.Fatal(err)
		}
		st.Regs.Rip = codeAddr
		if trap, err := f.ctx.Switch(as, st); err != nil || trap.Kind != platform.TrapSyscall {
			b.Fatalf("trap %+v err %v", trap, err)
		}
		as.Release()
	}
}

// BenchmarkFaultRoundTrip: the application touches a page that is not
// mapped, the sentry maps it and hands the thread back, which touches the
// next page: what a first touch of anonymous memory costs the platform.
func BenchmarkFaultRoundTrip(b *testing.B) {
	// loop: movb (%rbx), %al; add $0x1000, %rbx; jmp loop
	code := []byte{0x8a, 0x03, 0x48, 0x81, 0xc3, 0x00, 0x10, 0x00, 0x00, 0xeb, 0xf5}
	f := newFixture(b, code)
	const base = 0x10000000
	fr, err := f.mf.Allocate(uint64(b.N+1) * arch.PageSize)
	if err != nil {
		b.Fatal(err)
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = base
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapFault {
			b.Fatalf("trap %+v err %v", trap, err)
		}
		off := trap.Addr - base
		if err := f.as.MapFile(trap.Addr, memfile.Range{Start: fr.Start + off, End: fr.Start + off + arch.PageSize}, platform.Read); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewThread is what a stub thread costs the factory: every
// forked child's first task, and every recycled spare, needs one.
func BenchmarkNewThread(b *testing.B) {
	f := newFixture(b, getppidLoop)
	as := f.as.(*addressSpace)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		as.mu.Lock()
		th, err := as.newThreadLocked(func(fn func() error) error {
			return as.p.do(func(*tracee) error { return fn() })
		})
		if err != nil {
			as.mu.Unlock()
			b.Fatal(err)
		}
		th.msg.Cmd = cmdExit
		th.resume()
		as.exiting = append(as.exiting, th)
		as.mu.Unlock()
	}
}
