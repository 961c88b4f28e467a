package kvm

import (
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Tests of the whole Switch loop and the probe against the CPU model of
// fakecpu_test.go, on both kinds of host.

var hosts = []struct {
	name string
	pvm  bool
}{{"vmx", false}, {"pvm", true}}

type fakeFixture struct {
	w   *fakeWorld
	m   *machine
	p   *Platform
	mf  *memfile.File
	as  *addressSpace
	ctx *context
}

func newFakeFixture(t *testing.T, pvm bool, prog ...fakeInsn) *fakeFixture {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	w := &fakeWorld{pvm: pvm}
	m, p := newFakeMachine(t, w)
	if pvm {
		p.entry = entryPageFault
	} else {
		p.entry = entryRing0
	}
	as, err := newAddressSpace(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(as.Release)
	code, _ := m.mf.Allocate(pageSize)
	must(t, as.MapFile(codeAddr, code, platform.Read|platform.Execute))
	w.load(codeAddr, prog...)
	ctx := p.newContext()
	t.Cleanup(ctx.Release)
	return &fakeFixture{w, m, p, m.mf, as, ctx}
}

func (f *fakeFixture) data(t *testing.T, addr uint64, perms platform.AccessType) memfile.Range {
	t.Helper()
	fr, _ := f.mf.Allocate(pageSize)
	must(t, f.as.MapFile(addr, fr, perms))
	return fr
}

func fakeSwitch(t *testing.T, ctx *context, as *addressSpace, st *arch.State) platform.Trap {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		trap, err := ctx.Switch(as, st)
		if err != nil {
			t.Fatalf("Switch: %v", err)
		}
		if trap.Kind != platform.TrapInterrupted {
			return trap
		}
	}
	t.Fatalf("only TrapInterrupted for 10s (rip %#x)", st.Regs.Rip)
	return platform.Trap{}
}

func TestFakeSyscallLoop(t *testing.T) {
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			f := newFakeFixture(t, h.pvm, fakeInsn{op: opSyscall}, fakeInsn{op: opJmp, target: codeAddr})
			st := &arch.State{}
			st.Regs.Rip, st.Regs.Rax, st.Regs.Rdi, st.Regs.Rsp = codeAddr, 110, 7, 0x7ff000
			for i := 0; i < 5; i++ {
				trap := fakeSwitch(t, f.ctx, f.as, st)
				if trap.Kind != platform.TrapSyscall || st.SyscallNo() != 110 || st.Regs.Rip != codeAddr+2 || st.Regs.Rdi != 7 || st.Regs.Rsp != 0x7ff000 {
					t.Fatalf("round %d: trap %+v nr %d rip %#x rdi %d rsp %#x", i, trap, st.SyscallNo(), st.Regs.Rip, st.Regs.Rdi, st.Regs.Rsp)
				}
				if int64(st.Regs.Rax) != -errnoENOSYS || st.Regs.Rcx != codeAddr+2 || st.Regs.Eflags&rflagsIF == 0 {
					t.Fatalf("rax %#x rcx %#x eflags %#x", st.Regs.Rax, st.Regs.Rcx, st.Regs.Eflags)
				}
				st.SetReturn(110) // the guest's rax for the next call
			}
			// One CR3 load for the first entry; then sysretq on VMX,
			// iretq on PVM, and no further CR3 load.
			w := f.w
			if w.cr3Loads != 1 {
				t.Fatalf("%d CR3 loads", w.cr3Loads)
			}
			if h.pvm && (w.sysrets != 0 || w.irets != 5) || !h.pvm && (w.sysrets != 4 || w.irets != 1) {
				t.Fatalf("sysrets %d irets %d", w.sysrets, w.irets)
			}
		})
	}
}

func TestFakeFaultsAndStaleTLB(t *testing.T) {
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			// store; load; syscall
			f := newFakeFixture(t, h.pvm, fakeInsn{op: opStore}, fakeInsn{op: opLoad}, fakeInsn{op: opSyscall}, fakeInsn{op: opSpin})
			st := &arch.State{}
			st.Regs.Rip, st.Regs.Rbx, st.Regs.Rax = codeAddr, dataAddr, 0x1234
			trap := fakeSwitch(t, f.ctx, f.as, st)
			if trap.Kind != platform.TrapFault || trap.Addr != dataAddr || trap.Access != platform.Write || trap.Code != segvMapErr || st.Regs.Rip != codeAddr {
				t.Fatalf("trap %+v rip %#x", trap, st.Regs.Rip)
			}
			fr := f.data(t, dataAddr, platform.Read|platform.Write)
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall || st.SyscallNo() != 0x1234 {
				t.Fatalf("after mapping: %+v rax %#x", trap, st.SyscallNo())
			}
			if binary.LittleEndian.Uint64(f.mf.Slice(fr)) != 0x1234 {
				t.Fatal("store did not reach memory")
			}
			// The vCPU's TLB now holds a writable translation of the
			// page. Write-protect it: the store must fault.
			must(t, f.as.MapFile(dataAddr, fr, platform.Read))
			st.Regs.Rip, st.Regs.Rax = codeAddr, 0x5678
			trap = fakeSwitch(t, f.ctx, f.as, st)
			if trap.Kind != platform.TrapFault || trap.Code != segvAccErr || trap.Access != platform.Write {
				t.Fatalf("store to a write-protected page: %+v", trap)
			}
			// Load it (cached again), then unmap: the load must fault.
			st.Regs.Rip = codeAddr + 3
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall {
				t.Fatalf("load: %+v", trap)
			}
			f.as.Unmap(dataAddr, pageSize)
			st.Regs.Rip = codeAddr + 3
			trap = fakeSwitch(t, f.ctx, f.as, st)
			if trap.Kind != platform.TrapFault || trap.Code != segvMapErr || trap.Access != platform.Read {
				t.Fatalf("load from an unmapped page: %+v", trap)
			}
			if binary.LittleEndian.Uint64(f.mf.Slice(fr)) != 0x1234 {
				t.Fatal("a store went through a write-protected page")
			}
		})
	}
}

// TestFakeSpuriousFaultRetried: adding a right needs no shootdown, so a
// vCPU may still hold the read-only entry in its TLB; the fault it causes
// is retried, never reported.
func TestFakeSpuriousFaultRetried(t *testing.T) {
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			f := newFakeFixture(t, h.pvm, fakeInsn{op: opLoad}, fakeInsn{op: opSyscall}, fakeInsn{op: opStore}, fakeInsn{op: opSyscall}, fakeInsn{op: opSpin})
			fr := f.data(t, dataAddr, platform.Read)
			st := &arch.State{}
			st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
			// The load caches a read-only entry.
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall {
				t.Fatalf("trap %+v", trap)
			}
			gen := f.as.gen.Load()
			must(t, f.as.MapFile(dataAddr, fr, platform.Read|platform.Write))
			if f.as.gen.Load() != gen {
				t.Fatal("adding a right took a shootdown")
			}
			st.Regs.Rax = 0x77
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall || st.Regs.Rip != codeAddr+10 {
				t.Fatalf("store after adding write: %+v at %#x", trap, st.Regs.Rip)
			}
			if binary.LittleEndian.Uint64(f.mf.Slice(fr)) != 0x77 {
				t.Fatal("the store did not happen")
			}
		})
	}
}

func TestFakeExceptionsAndProtection(t *testing.T) {
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			f := newFakeFixture(t, h.pvm, fakeInsn{op: opUD2})
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Signo != int(unix.SIGILL) || trap.Addr != codeAddr {
				t.Fatalf("ud2: %+v", trap)
			}
			// Jumping to the syscall stub is a SIGSEGV, not a syscall.
			st.Regs.Rip = syscallStubVA
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapException || trap.Signo != int(unix.SIGSEGV) || trap.Addr != syscallStubVA {
				t.Fatalf("jump to the stub: %+v", trap)
			}
			// So is reading the trampoline.
			f.w.load(codeAddr+0x100, fakeInsn{op: opLoad})
			st.Regs.Rip, st.Regs.Rbx = codeAddr+0x100, idtVA
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapException || trap.Signo != int(unix.SIGSEGV) || trap.Addr != idtVA {
				t.Fatalf("read the IDT: %+v", trap)
			}
			// Executing a data page (NX).
			f.data(t, dataAddr, platform.Read|platform.Write)
			f.w.load(dataAddr, fakeInsn{op: opSyscall})
			st.Regs.Rip = dataAddr
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapFault || trap.Access != platform.Execute || trap.Addr != dataAddr {
				t.Fatalf("execute NX: %+v", trap)
			}
			// A non-canonical return address never reaches the CPU.
			st.Regs.Rip = 0x0000800000000000
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Signo != int(unix.SIGSEGV) || trap.Code != siKernel {
				t.Fatalf("non-canonical rip: %+v", trap)
			}
		})
	}
}

func TestFakeInterrupt(t *testing.T) {
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			f := newFakeFixture(t, h.pvm, fakeInsn{op: opSpin})
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			go func() {
				time.Sleep(5 * time.Millisecond)
				f.ctx.Interrupt()
			}()
			trap, err := f.ctx.Switch(f.as, st)
			if err != nil || trap.Kind != platform.TrapInterrupted || st.Regs.Rip != codeAddr {
				t.Fatalf("trap %+v err %v rip %#x", trap, err, st.Regs.Rip)
			}
			// Resuming a task stopped in user mode goes straight back.
			irets := f.w.irets
			f.ctx.Interrupt() // pending: the next Switch returns at once
			if trap, _ := f.ctx.Switch(f.as, st); trap.Kind != platform.TrapInterrupted {
				t.Fatalf("pending interrupt: %+v", trap)
			}
			go func() {
				time.Sleep(5 * time.Millisecond)
				f.ctx.Interrupt()
			}()
			if trap, _ := f.ctx.Switch(f.as, st); trap.Kind != platform.TrapInterrupted {
				t.Fatalf("resume: %+v", trap)
			}
			if f.w.irets != irets {
				t.Fatal("a task stopped in user mode was resumed through ring 0")
			}
		})
	}
}

// TestFakeConcurrentShootdown: a thread's vCPU stores to a page in a loop;
// once Unmap (or a write-protect) returns, no store reaches the page.
func TestFakeConcurrentShootdown(t *testing.T) {
	for _, h := range hosts {
		for _, protect := range []bool{false, true} {
			t.Run(h.name+map[bool]string{false: "/unmap", true: "/protect"}[protect], func(t *testing.T) {
				f := newFakeFixture(t, h.pvm, fakeInsn{op: opSpinStore})
				fr := f.data(t, dataAddr, platform.Read|platform.Write)
				counter := func() uint64 { return atomic.LoadUint64(u64ptr(f.mf.Slice(fr))) }
				result := make(chan platform.Trap, 1)
				go func() {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					c := f.p.newContext()
					defer c.Release()
					st := &arch.State{}
					st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
					for {
						trap, err := c.Switch(f.as, st)
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
				for counter() < 100 {
					if time.Now().After(deadline) {
						t.Fatal("the guest loop never ran")
					}
					time.Sleep(time.Millisecond)
				}
				if protect {
					must(t, f.as.MapFile(dataAddr, fr, platform.Read))
				} else {
					f.as.Unmap(dataAddr, pageSize)
				}
				c1 := counter()
				time.Sleep(30 * time.Millisecond)
				if c2 := counter(); c2 != c1 {
					t.Fatalf("%d stores after the change returned", c2-c1)
				}
				var trap platform.Trap
				select {
				case trap = <-result:
				case <-time.After(10 * time.Second):
					t.Fatal("the guest never faulted")
				}
				if trap.Kind != platform.TrapFault || trap.Addr != dataAddr || trap.Access != platform.Write {
					t.Fatalf("trap %+v", trap)
				}
			})
		}
	}
}

func TestFakeAddressSpaceSwitch(t *testing.T) {
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			f := newFakeFixture(t, h.pvm, fakeInsn{op: opLoad}, fakeInsn{op: opSyscall}, fakeInsn{op: opJmp, target: codeAddr})
			as2, _ := newAddressSpace(f.m)
			defer as2.Release()
			code2, _ := f.mf.Allocate(pageSize)
			must(t, as2.MapFile(codeAddr, code2, platform.Read|platform.Execute))
			p1 := f.data(t, dataAddr, platform.Read)
			p2, _ := f.mf.Allocate(pageSize)
			must(t, as2.MapFile(dataAddr, p2, platform.Read))
			binary.LittleEndian.PutUint64(f.mf.Slice(p1), 0x1111)
			binary.LittleEndian.PutUint64(f.mf.Slice(p2), 0x2222)
			st1, st2 := &arch.State{}, &arch.State{}
			st1.Regs.Rip, st1.Regs.Rbx = codeAddr, dataAddr
			st2.Regs.Rip, st2.Regs.Rbx = codeAddr, dataAddr
			for i := 0; i < 5; i++ {
				if trap := fakeSwitch(t, f.ctx, f.as, st1); trap.Kind != platform.TrapSyscall || st1.SyscallNo() != 0x1111 {
					t.Fatalf("round %d, first: %+v %#x", i, trap, st1.SyscallNo())
				}
				if trap := fakeSwitch(t, f.ctx, as2, st2); trap.Kind != platform.TrapSyscall || st2.SyscallNo() != 0x2222 {
					t.Fatalf("round %d, second: %+v %#x", i, trap, st2.SyscallNo())
				}
			}
			// A released address space's root is recycled: the vCPU,
			// whose CR3 still names it, must flush on entering the new
			// address space built on it.
			as2.Release()
			as3, _ := newAddressSpace(f.m)
			defer as3.Release()
			if as3.root != as2.root {
				t.Fatalf("root not recycled")
			}
			must(t, as3.MapFile(codeAddr, code2, platform.Read|platform.Execute))
			st3 := &arch.State{}
			st3.Regs.Rip, st3.Regs.Rbx = codeAddr, dataAddr
			if trap := fakeSwitch(t, f.ctx, as3, st3); trap.Kind != platform.TrapFault || trap.Addr != dataAddr {
				t.Fatalf("stale translation of a released address space: %+v", trap)
			}
		})
	}
}

func TestFakeFPPerTask(t *testing.T) {
	f := newFakeFixture(t, false, fakeInsn{op: opSetXMM0}, fakeInsn{op: opSyscall}, fakeInsn{op: opGetXMM0}, fakeInsn{op: opSyscall}, fakeInsn{op: opSpin})
	ctx2 := f.p.newContext()
	defer ctx2.Release()
	st1, st2 := &arch.State{}, &arch.State{}
	st1.Regs.Rip, st1.Regs.Rax = codeAddr, 111
	st2.Regs.Rip, st2.Regs.Rax = codeAddr, 222
	fakeSwitch(t, f.ctx, f.as, st1)
	fakeSwitch(t, ctx2, f.as, st2)
	if f.ctx.last != ctx2.last {
		t.Fatal("the two tasks of one thread did not share the thread's vCPU")
	}
	must(t, f.ctx.PullFPState(st1))
	if x := binary.LittleEndian.Uint64(st1.FP[fxXMM0:]); x != 111 {
		t.Fatalf("pulled xmm0 %d", x)
	}
	must(t, ctx2.PullFPState(st2))
	fp := append([]byte(nil), st2.FP...)
	binary.LittleEndian.PutUint64(fp[fxXMM0:], 333)
	st2.FP = fp
	must(t, ctx2.PushFPState(st2))
	if trap := fakeSwitch(t, f.ctx, f.as, st1); trap.Kind != platform.TrapSyscall || st1.SyscallNo() != 111 {
		t.Fatalf("task 1 xmm0 %d", st1.SyscallNo())
	}
	if trap := fakeSwitch(t, ctx2, f.as, st2); trap.Kind != platform.TrapSyscall || st2.SyscallNo() != 333 {
		t.Fatalf("task 2 xmm0 %d", st2.SyscallNo())
	}
	// A clone's child starts with a copy of its parent's state; exec's
	// reset gives the initial state.
	must(t, f.ctx.PullFPState(st1))
	child := &arch.State{Regs: st1.Regs, FP: append([]byte(nil), st1.FP...)}
	child.Regs.Rip = codeAddr + 7 // the second movq
	ctx3 := f.p.newContext()
	defer ctx3.Release()
	if trap := fakeSwitch(t, ctx3, f.as, child); trap.Kind != platform.TrapSyscall || child.SyscallNo() != 111 {
		t.Fatalf("child xmm0 %d", child.SyscallNo())
	}
	st1.FP = arch.InitialFPState()
	must(t, f.ctx.PushFPState(st1))
	st1.Regs.Rip = codeAddr + 7
	if trap := fakeSwitch(t, f.ctx, f.as, st1); trap.Kind != platform.TrapSyscall || st1.SyscallNo() != 0 {
		t.Fatalf("after a reset xmm0 %d", st1.SyscallNo())
	}
}

// TestFakeManyThreads: more threads than vCPUs, all making syscalls in one
// address space; the pool shares the vCPUs and every task's registers stay
// its own.
func TestFakeManyThreads(t *testing.T) {
	f := newFakeFixture(t, false, fakeInsn{op: opSyscall}, fakeInsn{op: opJmp, target: codeAddr})
	const threads = 12 // the fake pool has 8 vCPUs
	errs := make(chan error, threads)
	for i := 0; i < threads; i++ {
		go func(id uint64) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c := f.p.newContext()
			defer c.Release()
			st := &arch.State{}
			st.Regs.Rip, st.Regs.Rdi = codeAddr, id
			for n := 0; n < 50; {
				trap, err := c.Switch(f.as, st)
				if err != nil {
					errs <- err
					return
				}
				if trap.Kind == platform.TrapSyscall {
					if st.Regs.Rdi != id {
						errs <- errors.New("registers of another task")
						return
					}
					n++
				}
			}
			errs <- nil
		}(uint64(i))
	}
	for i := 0; i < threads; i++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("threads stuck")
		}
	}
}

func TestFakeProbe(t *testing.T) {
	for _, c := range []struct {
		name                    string
		pvm, noSFMASK, staleCR3 bool
		want                    syscallEntry
		wantError               string
	}{
		{"vmx", false, false, false, entryRing0, ""},
		{"pvm", true, false, false, entryPageFault, ""},
		{"stale TLB", false, false, true, 0, "stale translation"},
		{"pvm without SFMASK", true, true, false, 0, "SFMASK"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := &fakeWorld{pvm: c.pvm, noSFMASK: c.noSFMASK, staleCR3: c.staleCR3}
			_, p := newFakeMachine(t, w)
			w.load(probeCodeVA, fakeInsn{op: opLoad}, fakeInsn{op: opSyscall}, fakeInsn{op: opSyscall}, fakeInsn{op: opLoad}, fakeInsn{op: opSyscall}, fakeInsn{op: opSpin})
			err := p.probe()
			if c.wantError != "" {
				if !errors.Is(err, platform.ErrUnavailable) || !strings.Contains(err.Error(), c.wantError) {
					t.Fatalf("probe: %v, want ErrUnavailable with %q", err, c.wantError)
				}
				return
			}
			if err != nil || p.entry != c.want {
				t.Fatalf("probe: %v, entry %v", err, p.entry)
			}
			// The probe gave back everything it used.
			if n := len(p.m.freeRoots); n != 1 {
				t.Fatalf("%d free roots after the probe", n)
			}
		})
	}
}

// TestFakeFlushUsesEntryGeneration: a vCPU records the generation it
// flushed for as the one it read at entry, not the one current at exit, so
// a change completed while it was leaving still gets flushed.
func TestFakeFlushUsesEntryGeneration(t *testing.T) {
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			f := newFakeFixture(t, h.pvm, fakeInsn{op: opLoad}, fakeInsn{op: opSyscall}, fakeInsn{op: opLoad}, fakeInsn{op: opSyscall}, fakeInsn{op: opSpin})
			f.data(t, dataAddr, platform.Read)
			once := false
			f.w.onSyscallExit = func() {
				if once {
					return
				}
				once = true
				// What a modifier does once the vCPU is out: this
				// vCPU's TLB still holds the page.
				f.as.mu.Lock()
				f.as.pt.unmapRange(dataAddr, dataAddr+pageSize, nil)
				f.as.gen.Add(1)
				f.as.mu.Unlock()
			}
			st := &arch.State{}
			st.Regs.Rip, st.Regs.Rbx = codeAddr, dataAddr
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall {
				t.Fatalf("trap %+v", trap)
			}
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapFault || trap.Addr != dataAddr {
				t.Fatalf("load through a stale translation: %+v", trap)
			}
		})
	}
}

// TestFakeReturnKeepsRCXAndR11: when the kernel changes RCX or R11 (as
// sigreturn does), the task sees the values it set, so the return cannot
// be a SYSRET (which loads RIP from RCX and RFLAGS from R11).
func TestFakeReturnKeepsRCXAndR11(t *testing.T) {
	for _, h := range hosts {
		t.Run(h.name, func(t *testing.T) {
			f := newFakeFixture(t, h.pvm, fakeInsn{op: opSyscall}, fakeInsn{op: opRCXToRAX}, fakeInsn{op: opSyscall}, fakeInsn{op: opR11ToRAX}, fakeInsn{op: opSyscall}, fakeInsn{op: opSpin})
			st := &arch.State{}
			st.Regs.Rip = codeAddr
			fakeSwitch(t, f.ctx, f.as, st)
			st.Regs.Rcx = 0x1234
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall || st.SyscallNo() != 0x1234 || st.Regs.Rip != codeAddr+7 {
				t.Fatalf("rcx seen by the task %#x (trap %+v)", st.SyscallNo(), trap)
			}
			st.Regs.R11 = 0x246 | rflagsCF
			if trap := fakeSwitch(t, f.ctx, f.as, st); trap.Kind != platform.TrapSyscall || st.SyscallNo() != 0x246|rflagsCF {
				t.Fatalf("r11 seen by the task %#x (trap %+v)", st.SyscallNo(), trap)
			}
		})
	}
}
