package kvm

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Integration tests: they run guest code and need a usable /dev/kvm. The
// development and CI machines have none (their kvm_pvm module refuses to
// bind inside a PVM guest), so there they skip.

// requireKVM skips the test when /dev/kvm cannot be opened. A /dev/kvm
// that opens but that New rejects is a failure, not a skip: the probe's
// verdict on a real KVM host is what these tests are for.
func requireKVM(t testing.TB) {
	t.Helper()
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no /dev/kvm: the KVM platform's integration tests need a KVM host (%v)", err)
	}
	unix.Close(fd)
}

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

func newPlatform(t testing.TB) (*memfile.File, *Platform) {
	t.Helper()
	requireKVM(t)
	mf := newTestMemfile(t, 1<<30)
	p, err := New(mf)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return mf, p
}

// newFixture maps code at codeAddr in a new address space and returns a
// context for the calling goroutine, which it locks to its thread.
func newFixture(t testing.TB, code []byte) *fixture {
	t.Helper()
	mf, p := newPlatform(t)
	ctx := threadContext(t, p)
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Release)
	if err := as.MapFile(codeAddr, newPage(t, mf, code), platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	return &fixture{mf, p, as, ctx}
}

// threadContext locks the calling goroutine to its thread for the rest
// of the test and returns a context for it.
func threadContext(t testing.TB, p *Platform) platform.Context {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	ctx, err := p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctx.Release)
	return ctx
}

// mapData maps a fresh zeroed page read-write at addr and returns it.
func (f *fixture) mapData(t testing.TB, addr uint64) memfile.Range {
	t.Helper()
	fr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.as.MapFile(addr, fr, platform.Read|platform.Write); err != nil {
		t.Fatal(err)
	}
	return fr
}

// switchUntil runs Switch, skipping TrapInterrupted (the watchdog's
// preemption points), until another trap.
func switchUntil(t testing.TB, ctx platform.Context, as platform.AddressSpace, st *arch.State) platform.Trap {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		trap, err := ctx.Switch(as, st)
		if err != nil {
			t.Fatalf("Switch: %v", err)
		}
		if trap.Kind != platform.TrapInterrupted {
			return trap
		}
		if time.Now().After(deadline) {
			t.Fatalf("only TrapInterrupted for 10s (rip %#x)", st.Regs.Rip)
		}
	}
}

func TestKVMProbe(t *testing.T) {
	_, p := newPlatform(t)
	t.Logf("syscalls arrive by %s; %d vCPUs at most; NX %v; FPU format %d", p.SyscallEntry(), p.m.pool.max, p.m.nx, p.m.fp)
	if p.entry == entryUnknown {
		t.Fatal("probe recorded nothing")
	}
}

// getppidLoop: mov $110, %eax; syscall; jmp back to start.
var getppidLoop = []byte{0xb8, 110, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7}

func TestKVMSyscallTrap(t *testing.T) {
	f := newFixture(t, getppidLoop)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	for i := 0; i < 3; i++ {
		trap := switchUntil(t, f.ctx, f.as, st)
		if trap.Kind != platform.TrapSyscall || st.SyscallNo() != unix.SYS_GETPPID {
			t.Fatalf("trap %+v nr %d, want syscall getppid", trap, st.SyscallNo())
		}
		if st.Regs.Rip != codeAddr+7 || st.Regs.Rcx != codeAddr+7 {
			t.Fatalf("rip %#x rcx %#x after syscall, want %#x", st.Regs.Rip, st.Regs.Rcx, codeAddr+7)
		}
		if st.Regs.Cs != userCS || st.Regs.Ss != userSS {
			t.Fatalf("cs %#x ss %#x", st.Regs.Cs, st.Regs.Ss)
		}
		st.SetReturn(42)
	}
}

// TestKVMRegistersPreserved: every register the kernel sets reaches the
// guest, and the guest sees the syscall's return value.
func TestKVMRegistersPreserved(t *testing.T) {
	f := newFixture(t, []byte{
		0x0f, 0x05, // syscall
		0x48, 0x89, 0xc7, // mov %rax, %rdi
		0x0f, 0x05, // syscall
		0xeb, 0xfe, // jmp .
	})
	st := &arch.State{}
	r := &st.Regs
	r.Rip, r.Rax, r.Rbx, r.Rdx, r.Rsi, r.Rbp = codeAddr, 7, 0xb0b, 0xd0d, 0x5151, 0xbb
	r.R8, r.R9, r.R10, r.R12, r.R13, r.R14, r.R15 = 8, 9, 10, 12, 13, 14, 15
	r.Rsp, r.Fs_base, r.Gs_base = 0x7ff0, 0x12345000, 0x6789a000
	want := *r
	if trap := switchUntil(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall || st.SyscallNo() != 7 {
		t.Fatalf("trap %+v nr %d", trap, st.SyscallNo())
	}
	st.SetReturn(42)
	if trap := switchUntil(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v", trap)
	}
	got := st.Regs
	if got.Rdi != 42 || got.Rip != codeAddr+7 || got.R11&rflagsIF == 0 {
		t.Fatalf("rdi %d rip %#x r11 %#x", got.Rdi, got.Rip, got.R11)
	}
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"rbx", got.Rbx, want.Rbx}, {"rdx", got.Rdx, want.Rdx}, {"rsi", got.Rsi, want.Rsi}, {"rbp", got.Rbp, want.Rbp},
		{"r8", got.R8, want.R8}, {"r9", got.R9, want.R9}, {"r10", got.R10, want.R10}, {"r12", got.R12, want.R12},
		{"r13", got.R13, want.R13}, {"r14", got.R14, want.R14}, {"r15", got.R15, want.R15}, {"rsp", got.Rsp, want.Rsp},
		{"fs_base", got.Fs_base, want.Fs_base}, {"gs_base", got.Gs_base, want.Gs_base},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

// storeLoad: mov %rax, (%rbx); mov (%rbx), %rdx; mov $39, %eax; syscall
var storeLoad = []byte{0x48, 0x89, 0x03, 0x48, 0x8b, 0x13, 0xb8, 39, 0, 0, 0, 0x0f, 0x05}

func TestKVMFaultAndUnmapIsEffective(t *testing.T) {
	f := newFixture(t, storeLoad)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = dataAddr
	st.Regs.Rax = 0x1234
	trap := switchUntil(t, f.ctx, f.as, st)
	if trap.Kind != platform.TrapFault || trap.Addr != dataAddr || trap.Access != platform.Write || trap.Code != 1 {
		t.Fatalf("trap %+v, want a write fault at %#x", trap, dataAddr)
	}
	if st.Regs.Rip != codeAddr {
		t.Fatalf("fault rip %#x", st.Regs.Rip)
	}
	fr := f.mapData(t, dataAddr)
	trap = switchUntil(t, f.ctx, f.as, st)
	if trap.Kind != platform.TrapSyscall || st.Regs.Rdx != 0x1234 {
		t.Fatalf("after mapping: trap %+v rdx %#x", trap, st.Regs.Rdx)
	}
	if got := f.mf.Slice(fr)[0]; got != 0x34 {
		t.Fatalf("store did not reach the memory file: %#x", got)
	}
	// Read-only: the store must fault now.
	if err := f.as.MapFile(dataAddr, fr, platform.Read); err != nil {
		t.Fatal(err)
	}
	st.Regs.Rip = codeAddr
	trap = switchUntil(t, f.ctx, f.as, st)
	if trap.Kind != platform.TrapFault || trap.Code != 2 /* SEGV_ACCERR */ || trap.Access != platform.Write {
		t.Fatalf("store to read-only page: trap %+v", trap)
	}
	// Unmapped: any access must fault.
	f.as.Unmap(dataAddr, arch.PageSize)
	st.Regs.Rip = codeAddr + 3 // the load
	trap = switchUntil(t, f.ctx, f.as, st)
	if trap.Kind != platform.TrapFault || trap.Code != 1 /* SEGV_MAPERR */ || trap.Access != platform.Read {
		t.Fatalf("load from unmapped page: trap %+v", trap)
	}
}

func TestKVMInterruptBusyLoop(t *testing.T) {
	f := newFixture(t, []byte{0xeb, 0xfe}) // jmp .
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	go func() {
		time.Sleep(50 * time.Millisecond)
		f.ctx.Interrupt()
	}()
	// The watchdog also interrupts the loop; either way Switch returns
	// TrapInterrupted with the task in its loop.
	trap, err := f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapInterrupted || st.Regs.Rip != codeAddr {
		t.Fatalf("trap %+v err %v rip %#x, want interrupted", trap, err, st.Regs.Rip)
	}
	// An Interrupt before Switch makes it return at once.
	f.ctx.Interrupt()
	trap, err = f.ctx.Switch(f.as, st)
	if err != nil || trap.Kind != platform.TrapInterrupted {
		t.Fatalf("pending interrupt: trap %+v err %v", trap, err)
	}
}

func TestKVMExceptions(t *testing.T) {
	nop := byte(0x90)
	for _, c := range []struct {
		name  string
		code  []byte
		setup func(st *arch.State)
		check func(t *testing.T, trap platform.Trap, st *arch.State)
	}{
		{"int3", []byte{0xcc, nop}, nil, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Kind != platform.TrapException || trap.Signo != int(unix.SIGTRAP) || st.Regs.Rip != codeAddr+1 {
				t.Fatalf("trap %+v rip %#x", trap, st.Regs.Rip)
			}
		}},
		{"ud2", []byte{0x0f, 0x0b}, nil, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Signo != int(unix.SIGILL) || trap.Addr != codeAddr || st.Regs.Rip != codeAddr {
				t.Fatalf("trap %+v rip %#x", trap, st.Regs.Rip)
			}
		}},
		{"divide by zero", []byte{0x31, 0xc9, 0xf7, 0xf1}, nil, func(t *testing.T, trap platform.Trap, st *arch.State) { // xor %ecx,%ecx; div %ecx
			if trap.Signo != int(unix.SIGFPE) || trap.Code != fpeIntDiv {
				t.Fatalf("trap %+v", trap)
			}
		}},
		{"hlt", []byte{0xf4}, nil, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Signo != int(unix.SIGSEGV) || trap.Code != siKernel {
				t.Fatalf("trap %+v", trap)
			}
		}},
		{"in", []byte{0xe4, 0x80}, nil, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Signo != int(unix.SIGSEGV) {
				t.Fatalf("trap %+v", trap)
			}
		}},
		{"int $0x80", []byte{0xcd, 0x80}, nil, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Signo != int(unix.SIGSEGV) {
				t.Fatalf("trap %+v", trap)
			}
		}},
		{"read the trampoline", []byte{0x48, 0x8b, 0x03}, func(st *arch.State) { st.Regs.Rbx = codeVA }, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Kind != platform.TrapException || trap.Signo != int(unix.SIGSEGV) || trap.Addr != codeVA {
				t.Fatalf("trap %+v", trap)
			}
		}},
		{"write the IDT", []byte{0x48, 0x89, 0x03}, func(st *arch.State) { st.Regs.Rbx = idtVA }, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Kind != platform.TrapException || trap.Signo != int(unix.SIGSEGV) || trap.Addr != idtVA {
				t.Fatalf("trap %+v", trap)
			}
		}},
		{"jump to the syscall stub", []byte{0xff, 0xe3}, func(st *arch.State) { st.Regs.Rbx = syscallStubVA }, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Kind != platform.TrapException || trap.Signo != int(unix.SIGSEGV) || st.Regs.Rip != syscallStubVA {
				t.Fatalf("trap %+v rip %#x", trap, st.Regs.Rip)
			}
		}},
		{"write the code", []byte{0x48, 0x89, 0x03}, func(st *arch.State) { st.Regs.Rbx = codeAddr }, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Kind != platform.TrapFault || trap.Access != platform.Write || trap.Code != segvAccErr {
				t.Fatalf("trap %+v", trap)
			}
		}},
		{"non-canonical load", []byte{0x48, 0x8b, 0x03}, func(st *arch.State) { st.Regs.Rbx = 0x8000000000000000 }, func(t *testing.T, trap platform.Trap, st *arch.State) {
			if trap.Signo != int(unix.SIGSEGV) || trap.Code != siKernel {
				t.Fatalf("trap %+v", trap)
			}
		}},
		{"single step", []byte{0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, nop, nop}, // pushf; orq $0x100,(%rsp); popf; nop
			func(st *arch.State) { st.Regs.Rsp = dataAddr + 0x800 }, func(t *testing.T, trap platform.Trap, st *arch.State) {
				if trap.Signo != int(unix.SIGTRAP) || trap.Code != trapTrace {
					t.Fatalf("trap %+v rip %#x", trap, st.Regs.Rip)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.code)
			f.mapData(t, dataAddr)
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			if c.setup != nil {
				c.setup(st)
			}
			trap := switchUntil(t, f.ctx, f.as, st)
			c.check(t, trap, st)
		})
	}
}

func TestKVMExecuteNX(t *testing.T) {
	f := newFixture(t, []byte{0xff, 0xe3}) // jmp *%rbx
	if !f.p.m.nx {
		t.Skip("no NX on this host: execute cannot be denied")
	}
	f.mapData(t, dataAddr)
	st := &arch.State{}
	st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
	trap := switchUntil(t, f.ctx, f.as, st)
	if trap.Kind != platform.TrapFault || trap.Access != platform.Execute || trap.Addr != dataAddr {
		t.Fatalf("trap %+v", trap)
	}
}

// TestKVMReturnToNonCanonical: a RIP the kernel sets (sigreturn) that is not
// canonical is SIGSEGV, whichever return path would have been used.
func TestKVMReturnToNonCanonical(t *testing.T) {
	f := newFixture(t, getppidLoop)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	if trap := switchUntil(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v", trap)
	}
	st.Regs.Rip, st.Regs.Rcx = 0x0000800000000000, 0x0000800000000000
	trap, err := f.ctx.Switch(f.as, st)
	if err != nil || trap.Signo != int(unix.SIGSEGV) {
		t.Fatalf("trap %+v err %v", trap, err)
	}
	// A canonical kernel-half RIP faults in the guest instead.
	st.Regs.Rip, st.Regs.Rcx = 0xffff800000001000, 0xffff800000001000
	trap = switchUntil(t, f.ctx, f.as, st)
	if trap.Signo != int(unix.SIGSEGV) || trap.Addr != 0xffff800000001000 {
		t.Fatalf("trap %+v", trap)
	}
	// And the task still works.
	st.Regs.Rip = codeAddr
	if trap := switchUntil(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v", trap)
	}
}

// TestKVMStaleTranslationWhileRunning proves that a page unmapped or
// write-protected while another thread's vCPU is writing it in a loop is
// inaccessible once Unmap/MapFile return: a stale translation would be a
// sandbox escape.
func TestKVMStaleTranslationWhileRunning(t *testing.T) {
	for _, protect := range []bool{false, true} {
		name := map[bool]string{false: "unmap", true: "write-protect"}[protect]
		t.Run(name, func(t *testing.T) {
			// 1: incq (%rbx); jmp 1b
			f := newFixture(t, []byte{0x48, 0xff, 0x03, 0xeb, 0xfb})
			fr := f.mapData(t, dataAddr)
			counter := func() uint64 { return atomic.LoadUint64(u64ptr(f.mf.Slice(fr))) }
			result := make(chan platform.Trap, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				ctx, err := f.p.NewContext()
				if err != nil {
					t.Error(err)
					result <- platform.Trap{}
					return
				}
				defer ctx.Release()
				st := &arch.State{}
				st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
				for {
					trap, err := ctx.Switch(f.as, st)
					if err != nil {
						t.Error(err)
						result <- platform.Trap{}
						return
					}
					if trap.Kind != platform.TrapInterrupted {
						result <- trap
						return
					}
				}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for counter() < 1000 {
				if time.Now().After(deadline) {
					t.Fatal("the guest loop never ran")
				}
				time.Sleep(time.Millisecond)
			}
			if protect {
				if err := f.as.MapFile(dataAddr, fr, platform.Read); err != nil {
					t.Fatal(err)
				}
			} else {
				f.as.Unmap(dataAddr, arch.PageSize)
			}
			c1 := counter()
			time.Sleep(50 * time.Millisecond)
			if c2 := counter(); c2 != c1 {
				t.Fatalf("the guest wrote the page %d times after %s returned", c2-c1, name)
			}
			select {
			case trap := <-result:
				if trap.Kind != platform.TrapFault || trap.Addr != dataAddr || trap.Access != platform.Write {
					t.Fatalf("guest stopped with %+v", trap)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the guest never faulted")
			}
		})
	}
}

// TestKVMAddressSpaceSwitch: one task alternating between two address
// spaces that map different pages at the same address reads each one's
// page (CR3 switch and TLB flush).
func TestKVMAddressSpaceSwitch(t *testing.T) {
	// mov (%rbx), %rax; syscall; jmp back
	code := []byte{0x48, 0x8b, 0x03, 0x0f, 0x05, 0xeb, 0xf9}
	f := newFixture(t, code)
	as2, err := f.p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as2.Release()
	codePage, _ := f.mf.Allocate(arch.PageSize)
	copy(f.mf.Slice(codePage), code)
	if err := as2.MapFile(codeAddr, codePage, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	p1 := f.mapData(t, dataAddr)
	p2, _ := f.mf.Allocate(arch.PageSize)
	if err := as2.MapFile(dataAddr, p2, platform.Read); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(f.mf.Slice(p1), 0x1111)
	binary.LittleEndian.PutUint64(f.mf.Slice(p2), 0x2222)
	st1, st2 := &arch.State{}, &arch.State{}
	st1.Regs.Rip, st1.Regs.Rbx = codeAddr, dataAddr
	st2.Regs.Rip, st2.Regs.Rbx = codeAddr, dataAddr
	for i := 0; i < 20; i++ {
		if trap := switchUntil(t, f.ctx, f.as, st1); trap.Kind != platform.TrapSyscall || st1.SyscallNo() != 0x1111 {
			t.Fatalf("round %d, first address space: %+v rax %#x", i, trap, st1.SyscallNo())
		}
		if trap := switchUntil(t, f.ctx, as2, st2); trap.Kind != platform.TrapSyscall || st2.SyscallNo() != 0x2222 {
			t.Fatalf("round %d, second address space: %+v rax %#x", i, trap, st2.SyscallNo())
		}
	}
}

// TestKVMFPStatePerTask: two tasks on one thread share a vCPU; each keeps
// its own XMM0, and PullFPState/PushFPState read and replace it.
func TestKVMFPStatePerTask(t *testing.T) {
	// movq %rax, %xmm0; syscall; movq %xmm0, %rax; syscall
	f := newFixture(t, []byte{0x66, 0x48, 0x0f, 0x6e, 0xc0, 0x0f, 0x05, 0x66, 0x48, 0x0f, 0x7e, 0xc0, 0x0f, 0x05, 0xeb, 0xfe})
	ctx2, err := f.p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx2.Release()
	st1, st2 := &arch.State{}, &arch.State{}
	st1.Regs.Rip, st1.Regs.Rax = codeAddr, 111
	st2.Regs.Rip, st2.Regs.Rax = codeAddr, 222
	switchUntil(t, f.ctx, f.as, st1)
	switchUntil(t, ctx2, f.as, st2)
	if err := f.ctx.PullFPState(st1); err != nil {
		t.Fatal(err)
	}
	if x := binary.LittleEndian.Uint64(st1.FP[fxXMM0:]); x != 111 {
		t.Fatalf("pulled xmm0 %d, want 111", x)
	}
	// Replace task 2's XMM0.
	if err := ctx2.PullFPState(st2); err != nil {
		t.Fatal(err)
	}
	fp := append([]byte(nil), st2.FP...)
	binary.LittleEndian.PutUint64(fp[fxXMM0:], 333)
	st2.FP = fp
	if err := ctx2.PushFPState(st2); err != nil {
		t.Fatal(err)
	}
	st1.SetReturn(0)
	st2.SetReturn(0)
	if trap := switchUntil(t, f.ctx, f.as, st1); trap.Kind != platform.TrapSyscall || st1.SyscallNo() != 111 {
		t.Fatalf("task 1: %+v xmm0 %d", trap, st1.SyscallNo())
	}
	if trap := switchUntil(t, ctx2, f.as, st2); trap.Kind != platform.TrapSyscall || st2.SyscallNo() != 333 {
		t.Fatalf("task 2: %+v xmm0 %d", trap, st2.SyscallNo())
	}
}

// TestKVMThreadsShareAddressSpace runs several threads in one address space
// at once, each making syscalls.
func TestKVMThreadsShareAddressSpace(t *testing.T) {
	f := newFixture(t, getppidLoop)
	const threads, calls = 4, 200
	errs := make(chan error, threads)
	for i := 0; i < threads; i++ {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ctx, err := f.p.NewContext()
			if err != nil {
				errs <- err
				return
			}
			defer ctx.Release()
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			for n := 0; n < calls; {
				trap, err := ctx.Switch(f.as, st)
				if err != nil {
					errs <- err
					return
				}
				if trap.Kind == platform.TrapSyscall {
					n++
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < threads; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkSyscallRoundTrip(b *testing.B) {
	f := newFixture(b, getppidLoop)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	for i := 0; i < 100; i++ {
		f.ctx.Switch(f.as, st)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.ctx.Switch(f.as, st); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.Logf("syscalls arrive by %s", f.p.SyscallEntry())
}

// BenchmarkRawExit measures the cheapest exit (RawExitRoundTrip), the
// floor under BenchmarkSyscallRoundTrip.
func BenchmarkRawExit(b *testing.B) {
	_, p := newPlatform(b)
	d, err := p.RawExitRoundTrip(b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.Nanoseconds()), "ns/exit")
}

// TestKVMPushFPStateReachesTheGuest: a state the kernel pushes (a signal
// handler's clean state, sigreturn's saved one) is what the application
// runs with: MXCSR, which KVM_SET_FPU does not carry, and, where the vCPU
// has AVX, the upper halves of the ymm registers, which FXSAVE does not.
func TestKVMPushFPStateReachesTheGuest(t *testing.T) {
	// stmxcsr (%rbx); vmovdqu %ymm0, 0x20(%rbx) (AVX only); syscall; jmp .
	code := []byte{0x0f, 0xae, 0x1b, 0xc5, 0xfe, 0x7f, 0x43, 0x20, 0x0f, 0x05, 0xeb, 0xfe}
	f := newFixture(t, code)
	avx := f.p.m.fp == fpXSAVE && f.p.m.xcr0&xfeatureAVX != 0
	if !avx {
		// Leave out the vmovdqu.
		code = append(code[:3:3], code[8:]...)
		f = newFixture(t, code)
	}
	data := f.mapData(t, dataAddr)
	st := &arch.State{}
	if err := f.ctx.PullFPState(st); err != nil {
		t.Fatal(err)
	}
	fp := append([]byte(nil), st.FP...)
	le := binary.LittleEndian
	const mxcsr = 0x1f80 | 3<<13 // round toward zero
	le.PutUint32(fp[fxMXCSR:], mxcsr)
	if avx {
		const ymmHi = 576 // the AVX component in the standard format
		for i := range 16 {
			fp[ymmHi+i] = 0xa0 + byte(i)
		}
		le.PutUint64(fp[xsaveHdrBV:], le.Uint64(fp[xsaveHdrBV:])|xfeatureAVX)
	}
	st.FP = fp
	if err := f.ctx.PushFPState(st); err != nil {
		t.Fatal(err)
	}
	st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
	if trap := switchUntil(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v", trap)
	}
	got := f.mf.Slice(data)
	if m := le.Uint32(got); m != mxcsr {
		t.Errorf("the guest ran with MXCSR %#x, want %#x", m, mxcsr)
	}
	if avx {
		for i := range 16 {
			if got[0x20+16+i] != 0xa0+byte(i) {
				t.Fatalf("ymm0's upper half in the guest % x, want a0 a1 ...", got[0x30:0x40])
			}
		}
	}
	t.Logf("FP format %d, AVX checked %v", f.p.m.fp, avx)
}
