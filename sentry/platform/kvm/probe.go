package kvm

import (
	"fmt"
	"runtime"
	"time"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// syscallEntry is how a user `syscall` reaches the sentry on this host, as
// the start-up probe found it. It is the only host difference the platform
// acts on, and it acts on it in one place: whether a syscall may return
// with sysretq (sysretAllowed). The classifier accepts both forms on every
// host (exit.go explains why that is safe).
type syscallEntry int

const (
	entryUnknown syscallEntry = iota
	// entryRing0: SYSCALL enters the LSTAR stub at CPL 0 (VMX, SVM); the
	// stub's `out` exits, and the vCPU returns with the stub's sysretq.
	entryRing0
	// entryPageFault: SYSCALL reaches LSTAR at CPL 3 (the PVM of the
	// development hosts, DESIGN.md §3) and the supervisor-only stub's
	// fetch faults into the IDT. The vCPU is then in the #PF stub, not at
	// the sysretq, and returns with iretq; sysretq is never used, since
	// it is not known to work at this host's emulated ring 0.
	entryPageFault
)

func (e syscallEntry) sysretAllowed() bool { return e == entryRing0 }

func (e syscallEntry) String() string {
	switch e {
	case entryRing0:
		return "ring 0 (syscall stub, sysretq)"
	case entryPageFault:
		return "page fault (PVM-style, iretq)"
	}
	return "unknown"
}

// Where the probe maps its code and data.
const (
	probeCodeVA = 0x10000
	probeDataVA = 0x20000
)

// probeCode is the probe's user program; RBX points at its data page.
var probeCode = []byte{
	0x48, 0x8b, 0x03, // 0:  mov (%rbx), %rax: the data page is mapped
	0x0f, 0x05, //       3:  syscall 1: how does it arrive?
	0x0f, 0x05, //       5:  syscall 2: does the host's return path work?
	0x48, 0x8b, 0x03, // 7:  mov (%rbx), %rax: the host has unmapped the page: must fault
	0x0f, 0x05, //       10: syscall: reached only through a stale translation
	0xeb, 0xfe, //       12: jmp .
}

// probeTimeout bounds the probe when the guest does not trap.
const probeTimeout = 5 * time.Second

// probe runs probeCode: it records how syscalls arrive, checks that the
// return path chosen for this host works, and checks that a page unmapped
// while the vCPU is out of the guest is inaccessible at the next entry
// (address_space.go's guarantee). A host whose KVM shadows the guest's
// page tables does not see the sentry's writes to them, and the guest
// still reads the page: the platform then drops the host's shadows of
// what it takes away (shadow.go), and the probe checks that doing so
// makes the page inaccessible. Any other outcome means this KVM cannot
// run the platform, and New reports it as platform.ErrUnavailable with
// what happened.
func (p *Platform) probe() (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m := p.m
	as, err := newAddressSpace(m)
	if err != nil {
		return err
	}
	fr, err := m.mf.Allocate(2 * pageSize)
	if err != nil {
		as.Release()
		return err
	}
	defer func() {
		as.Release()
		m.mf.Release(fr)
		if err == nil && m.shadow.on {
			// The probe's tables came from the memory file before
			// the platform knew, and KVM may still shadow them.
			m.shadow.mu.Lock()
			err = m.discardShadowsLocked()
			m.shadow.mu.Unlock()
		}
	}()
	code := memfile.Range{Start: fr.Start, End: fr.Start + pageSize}
	data := memfile.Range{Start: fr.Start + pageSize, End: fr.End}
	copy(m.mf.Slice(code), probeCode)
	if err := as.MapFile(probeCodeVA, code, platform.Read|platform.Execute); err != nil {
		return err
	}
	if err := as.MapFile(probeDataVA, data, platform.Read|platform.Write); err != nil {
		return err
	}
	c := p.newContext()
	defer c.Release()
	st := &arch.State{}
	st.Regs.Rip, st.Regs.Rbx = probeCodeVA, probeDataVA
	st.Regs.Eflags = rflagsIF | rflagsFixed

	deadline := time.Now().Add(probeTimeout)
	run := func(step string) (platform.Trap, error) {
		for {
			trap, err := c.Switch(as, st)
			if err != nil {
				return trap, unavailable("start-up probe, %s: %v", step, err)
			}
			if trap.Kind != platform.TrapInterrupted || time.Now().After(deadline) {
				return trap, nil
			}
		}
	}
	syscall := func(n int, rip uint64) error {
		step := fmt.Sprintf("syscall %d", n)
		trap, err := run(step)
		if err != nil {
			return err
		}
		if trap.Kind == platform.TrapException && trap.Addr == syscallStubVA && st.Regs.Rip == syscallStubVA {
			return unavailable("start-up probe, %s: the syscall faulted at LSTAR in user mode with RFLAGS.IF set, so it cannot be told from a jump there (the host does not apply SFMASK before the fault)", step)
		}
		if trap.Kind != platform.TrapSyscall || st.Regs.Rip != rip || st.Regs.Rcx != rip {
			return unavailable("start-up probe, %s: the guest came back with %+v at rip %#x (rcx %#x), want a syscall returning to %#x", step, trap, st.Regs.Rip, st.Regs.Rcx, rip)
		}
		return nil
	}

	if err := syscall(1, probeCodeVA+5); err != nil {
		return err
	}
	switch c.lastVia {
	case viaRing0:
		p.entry = entryRing0
	case viaPageFault:
		p.entry = entryPageFault
	default:
		return unavailable("start-up probe: syscall arrived by an unknown path")
	}
	first := c.lastVia
	st.SetReturn(0)
	if err := syscall(2, probeCodeVA+7); err != nil {
		return err
	}
	if c.lastVia != first {
		return unavailable("start-up probe: syscalls arrived both as %v and %v", first, c.lastVia)
	}

	as.Unmap(probeDataVA, pageSize)
	st.SetReturn(0)
	trap, err := run("load from an unmapped page")
	if err != nil {
		return err
	}
	if trap.Kind == platform.TrapSyscall {
		// The hypervisor shadows the tables: from now on the
		// platform drops its shadows of what it takes away. Drop
		// the data page's and load it again.
		if err := m.enableShadow(); err != nil {
			return unavailable("start-up probe: the guest still read a page after the sentry unmapped it (a stale translation), and the platform cannot handle a host that shadows page tables here: %v", err)
		}
		m.dropShadows(&frameRuns{runs: []physRange{{physBase + data.Start, physBase + data.End}}})
		st.Regs.Rip = probeCodeVA + 7
		if trap, err = run("load from an unmapped page, its shadow dropped"); err != nil {
			return err
		}
		if trap.Kind == platform.TrapSyscall {
			return unavailable("start-up probe: the guest still read a page after the sentry unmapped it and dropped the host's shadow of it (a stale translation the platform cannot remove)")
		}
	}
	if trap.Kind != platform.TrapFault || trap.Addr != probeDataVA || st.Regs.Rip != probeCodeVA+7 {
		return unavailable("start-up probe, load from an unmapped page: the guest came back with %+v at rip %#x, want a fault at %#x", trap, st.Regs.Rip, uint64(probeDataVA))
	}
	return nil
}

func (v syscallVia) String() string {
	switch v {
	case viaRing0:
		return "ring 0"
	case viaPageFault:
		return "page fault"
	}
	return fmt.Sprintf("via(%d)", int(v))
}
