package kvm

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

func TestUserRFlags(t *testing.T) {
	for _, c := range []struct{ in, want uint64 }{
		{0, rflagsIF | rflagsFixed},
		{0x246, 0x246},
		{rflagsIOPL | rflagsNT | rflagsRF | rflagsVM | rflagsVIF | rflagsVIP | 0x202, 0x202},
		{rflagsTF | rflagsAC | rflagsDF | 1<<21, rflagsTF | rflagsAC | rflagsDF | 1<<21 | 0x202},
		{^uint64(0), 0x240dd5 | 0x202}, // reserved bits 22-63, 3, 5, 15 cleared
	} {
		if got := userRFlags(c.in); got != c.want {
			t.Errorf("userRFlags(%#x) = %#x, want %#x", c.in, got, c.want)
		}
	}
}

func TestChooseReturn(t *testing.T) {
	after := func(rip uint64) arch.Registers {
		// A task right after a syscall: RCX = RIP, R11 = RFLAGS.
		return arch.Registers{Rip: rip, Rcx: rip, R11: 0x246, Eflags: 0x246}
	}
	vmx := entryState{cpl: 0, atSyscallStub: true, sysretAllowed: true}
	for _, c := range []struct {
		name string
		e    entryState
		r    arch.Registers
		want returnPath
	}{
		{"syscall return", vmx, after(0x401000), returnSysret},
		{"RIP at the last user page", vmx, after(linuxTaskSizeMax - 2), returnSysret},
		{"RIP at TASK_SIZE_MAX", vmx, after(linuxTaskSizeMax), returnIret},
		{"RIP in the upper half", vmx, after(0xffff800000000000), returnIret},
		{"RIP non-canonical", vmx, after(0x0000800000000000), returnIret},
		{"RCX changed", vmx, arch.Registers{Rip: 0x401000, Rcx: 5, R11: 0x246, Eflags: 0x246}, returnIret},
		{"R11 changed", vmx, arch.Registers{Rip: 0x401000, Rcx: 0x401000, R11: 0x202, Eflags: 0x246}, returnIret},
		{"TF set", vmx, arch.Registers{Rip: 0x401000, Rcx: 0x401000, R11: 0x346, Eflags: 0x346}, returnIret},
		{"PVM host", entryState{cpl: 0, atSyscallStub: true}, after(0x401000), returnIret},
		{"after an exception", entryState{cpl: 0, sysretAllowed: true}, after(0x401000), returnIret},
		{"flush needed", entryState{cpl: 0, atSyscallStub: true, sysretAllowed: true, needCR3: true}, after(0x401000), returnCR3Iret},
		{"stopped in user mode", entryState{cpl: 3, sameTask: true, sysretAllowed: true}, after(0x401000), returnDirect},
		{"stopped in user mode, flush", entryState{cpl: 3, sameTask: true, needCR3: true}, after(0x401000), returnCR3Iret},
		{"another task's user state", entryState{cpl: 3, sysretAllowed: true}, after(0x401000), returnIret},
	} {
		if got := chooseReturn(c.e, &c.r, userRFlags(c.r.Eflags)); got != c.want {
			t.Errorf("%s: path %d, want %d", c.name, got, c.want)
		}
	}
}

// TestPrepare checks what each return path leaves in kvm_run and on the
// ring-0 stack.
func TestPrepare(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	v, _ := m.pool.acquire(nil, 1)
	st := &arch.State{Regs: arch.Registers{Rax: 1, Rbx: 2, Rcx: 0x401000, R11: 0x246, Rip: 0x401000, Rsp: userRSP, Eflags: 0x246, Fs_base: 0x7000}}
	const root = physBase + 0x5000
	read := func(va uint64, n int) [maxFrameWords]uint64 {
		w, ok := v.readFrame(va, n)
		if !ok {
			t.Fatalf("frame at %#x unreadable", va)
		}
		return w
	}
	k := &v.run.Sync.Regs
	s := &v.run.Sync.Sregs

	v.cpl = 0
	v.prepare(returnSysret, st, 0x246, root)
	if k.RIP != sysretVA || k.RCX != 0x401000 || k.R11 != 0x246 || k.RSP != userRSP || k.RAX != 1 || k.RBX != 2 || k.RFLAGS != kernelRFlags {
		t.Fatalf("sysret regs %+v", k)
	}
	// The first entry also loads the FS base.
	if v.run.DirtyRegs != syncRegs|syncSregs || s.FS.Base != 0x7000 || s.FS.Unusable != 1 {
		t.Fatalf("dirty %#x fs %+v", v.run.DirtyRegs, s.FS)
	}
	v.prepare(returnSysret, st, 0x246, root)
	if v.run.DirtyRegs != syncRegs {
		t.Fatalf("unchanged segments still dirty: %#x", v.run.DirtyRegs)
	}

	v.prepare(returnIret, st, 0x246, root)
	if k.RIP != iretStubVA || k.RSP != stackTop(v.id, stackRSP0)-40 || v.run.DirtyRegs != syncRegs {
		t.Fatalf("iret regs %+v dirty %#x", k, v.run.DirtyRegs)
	}
	if f := read(k.RSP, 5); f[0] != 0x401000 || f[1] != userCS || f[2] != 0x246 || f[3] != userRSP || f[4] != userSS {
		t.Fatalf("iret frame %#x", f)
	}

	v.prepare(returnCR3Iret, st, 0x246, root)
	if k.RIP != cr3IretStubVA || k.RSP != stackTop(v.id, stackRSP0)-56 {
		t.Fatalf("cr3 iret regs %+v", k)
	}
	if f, last := read(k.RSP, 6), read(k.RSP+48, 1); f[0] != root || f[1] != 1 || f[2] != 0x401000 || f[3] != userCS || f[4] != 0x246 || f[5] != userRSP || last[0] != userSS {
		t.Fatalf("cr3 iret frame %#x %#x", f, last)
	}

	// Stopped in user mode: the iret paths switch to ring 0 first.
	s.CS, s.SS = segUserCode, segUserData
	v.cpl = 3
	v.prepare(returnIret, st, 0x246, root)
	if s.CS != segKernelCode || s.SS != segKernelData || v.run.DirtyRegs != syncRegs|syncSregs {
		t.Fatalf("cs %+v ss %+v dirty %#x", s.CS, s.SS, v.run.DirtyRegs)
	}
	s.CS, s.SS = segUserCode, segUserData
	v.prepare(returnDirect, st, 0x246, root)
	if k.RIP != 0x401000 || k.RSP != userRSP || k.RFLAGS != 0x246 || s.CS != segUserCode || v.run.DirtyRegs != syncRegs {
		t.Fatalf("direct regs %+v cs %+v", k, s.CS)
	}
}

// TestSwitchNonCanonicalRIP: Linux's IRET to a non-canonical RIP faults and
// becomes SIGSEGV; the platform reports it without running.
func TestSwitchNonCanonicalRIP(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	p := &Platform{m: m}
	as, _ := newAddressSpace(m)
	c := p.newContext()
	st := &arch.State{}
	st.Regs.Rip = 0x0000800000000000
	trap, err := c.Switch(as, st)
	if err != nil || trap != (platform.Trap{Kind: platform.TrapException, Signo: int(unix.SIGSEGV), Code: siKernel}) {
		t.Fatalf("trap %+v err %v", trap, err)
	}
	if len(m.pool.vcpus()) != 0 {
		t.Fatal("a vCPU was used")
	}
	st.Regs.Rip = 0x1000
	st.Regs.Fs_base = 0x8000000000000000
	if _, err := c.Switch(as, st); err == nil {
		t.Fatal("non-canonical FS base accepted")
	}
}

// TestHotPathDoesNotAllocate: the work around KVM_RUN for a syscall round
// trip (classify the exit, store the registers, choose the return path and
// load the registers back) allocates nothing.
func TestHotPathDoesNotAllocate(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	v, _ := m.pool.acquire(nil, 1)
	st := &arch.State{}
	pfFrame := [...]uint64{pfUser | pfFetch | pfPresent, syscallStubVA, userCS, rflagsFixed, userRSP, userSS}
	for _, via := range []string{"ring 0", "page fault"} {
		var e exitState
		if via == "ring 0" {
			e = exitState{
				reason: exitIO,
				io:     ioExit{Direction: ioDirOut, Size: syscallIOSize, Port: syscallPort, Count: 1},
				regs:   kvmRegs{RAX: 110, RCX: userRIP, R11: userFlags, RSP: userRSP, RIP: syscallStubVA},
				cs:     kernelCS,
			}
		} else {
			rsp := v.writeFrame(pfFrame[:])
			e = exitState{
				reason: exitIO,
				io:     ioExit{Direction: ioDirOut, Size: vectorIOSize, Port: vectorPF, Count: 1},
				regs:   kvmRegs{RAX: 110, RCX: userRIP, R11: userFlags, RSP: rsp, RIP: vectorStubVA(vectorPF)},
				cs:     kernelCS,
				cr2:    syscallStubVA,
			}
		}
		allocs := testing.AllocsPerRun(100, func() {
			if via == "page fault" {
				v.writeFrame(pfFrame[:]) // the exception's frame; prepare overwrites it
			}
			r := classify(&e, v)
			if r.kind != exitTrap || r.trap.Kind != platform.TrapSyscall {
				t.Fatalf("classified %+v", r)
			}
			applyTrapRegs(&r, &v.run.Sync.Sregs, st)
			st.SetReturn(0)
			rflags := userRFlags(st.Regs.Eflags)
			path := chooseReturn(entryState{cpl: 0, atSyscallStub: r.via == viaRing0, sysretAllowed: r.via == viaRing0}, &st.Regs, rflags)
			v.prepare(path, st, rflags, 0)
		})
		if allocs != 0 {
			t.Errorf("syscall via %s: %v allocations per round trip", via, allocs)
		}
	}
}
