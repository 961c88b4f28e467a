// Package kvm implements the sentry platform on KVM: application code runs
// in guest ring 3 of a VM whose only ring-0 code is a tiny trampoline, and
// every system call, exception and page fault leaves the guest and is
// served by the sentry. The host kernel never executes an application
// system call.
//
// # The machine
//
// One VM per sentry. Its physical memory is the memory file and its store
// (layout.go; memory slots made as the guest comes to reach them,
// slots.go), so application memory, page tables and the trampoline's
// pages are all memory-file pages, and the guest can reach nothing else
// (the one-page slot shadow.go deletes to discard KVM's shadow tables is
// mapped by no page table). Each address space is a 4-level page table tree the sentry
// writes in guest memory (pagetables.go, address_space.go); PML4 entry 255
// of every tree is the same supervisor-only trampoline (trampoline.go,
// gdt.go, idt.go): the code page, the IDT, and per vCPU a GDT, a TSS and
// ring-0 stacks.
//
// # A syscall round trip
//
// The application's `syscall` reaches the LSTAR stub, whose `out` exits
// (or, on PVM hosts, its fetch faults into the #PF stub, whose `out`
// exits). KVM_RUN returns with the registers in kvm_run's sync-regs area
// (KVM_CAP_SYNC_REGS), the classifier (exit.go) turns them into a
// platform.Trap, the kernel serves the call, and the next Switch writes the
// registers back to the same area and runs again: one KVM_RUN per
// syscall, no other ioctl, no lock and no allocation on the way (context.go
// run). The vCPU returns to user mode with the stub's sysretq when the
// syscall came through the ring-0 stub, otherwise with iretq from a frame
// the sentry writes on the vCPU's ring-0 stack (vcpu.go chooseReturn).
//
// # Tasks and vCPUs
//
// Tasks map to vCPUs through a pool (pool.go), capped at twice GOMAXPROCS
// (at least 16) within KVM's limit. A task holds a vCPU only while its
// Switch runs, so tasks blocked in the sentry hold none and the cap never
// deadlocks, however many tasks there are. Each vCPU stays with the host
// thread that runs it: Switch first tries the vCPU the task used last, which
// is free unless the pool ran out, so in the common case a task has a vCPU
// of its own, on its own thread, with its registers and FPU state already
// loaded. Moving a vCPU to another thread makes KVM wait for an RCU grace
// period on the next KVM_RUN, which is why the pool prefers, in order, the
// thread's own vCPU, a never-used one, a new one, and only then another
// thread's. When every vCPU is busy, waiters are served first come first
// served by direct hand-off. FPU state moves between vCPUs only when a
// vCPU changes task (fpu.go, context.go loadFP).
//
// # Interrupts and the watchdog
//
// Interrupt sets immediate_exit in the vCPU's kvm_run and sends SIGURG to
// its thread (vCPU.kick); KVM_RUN returns EINTR, which is a normal exit
// (reported as TrapInterrupted). A watchdog (watchdog.go) kicks any vCPU
// that stays in the guest for a whole tick, so a spinning application
// cannot keep its Switch, or a shootdown, waiting.
//
// # Stale translations
//
// Unmap and any MapFile that takes a right away kick every vCPU running the
// address space, wait until it is out of the guest, change the tables, and
// make the next entry reload CR3; address_space.go explains why that is
// sufficient with EPT/NPT. On hosts that shadow the guest's page tables
// (found by the start-up probe) the platform also drops KVM's shadow of
// what it took away and reuses table pages only after KVM has discarded
// its shadows (shadow.go).
//
// # Host differences
//
// A start-up probe (probe.go) runs a user syscall and records whether it
// reaches ring 0 (VMX, SVM) or arrives as a page fault (the development
// hosts' PVM). That is the only host difference the platform acts on.
//
// # Locks
//
// See machine.go for the lock order. Every lock and the fields it protects
// are documented where they are declared.
package kvm

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Platform is the KVM platform.
type Platform struct {
	m *machine
	// entry is how syscalls arrive on this host; set by the probe in New,
	// immutable afterwards.
	entry syscallEntry
}

var _ platform.Platform = (*Platform)(nil)

// New creates the VM on mf and probes the host. It returns an error
// wrapping platform.ErrUnavailable, with the reason, when /dev/kvm cannot
// be opened, lacks a capability the platform needs, or fails the probe.
func New(mf *memfile.File) (*Platform, error) {
	m, err := newMachine(mf)
	if err != nil {
		return nil, err
	}
	m.wd = newWatchdog(m.pool, watchdogPeriod)
	p := &Platform{m: m}
	if err := p.probe(); err != nil {
		m.close()
		return nil, err
	}
	return p, nil
}

// Name implements platform.Platform.Name.
func (*Platform) Name() string { return "kvm" }

// MaxUserAddress implements platform.Platform.MaxUserAddress.
func (*Platform) MaxUserAddress() uint64 { return maxUserAddress }

// NewAddressSpace implements platform.Platform.NewAddressSpace.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	return newAddressSpace(p.m)
}

// NewContext implements platform.Platform.NewContext.
//
// Preconditions: the calling goroutine is locked to its OS thread and
// stays locked, and every call on the context comes from it.
func (p *Platform) NewContext() (platform.Context, error) {
	return p.newContext(), nil
}

func (p *Platform) newContext() *context {
	return &context{p: p, tid: int32(unix.Gettid()), wake: make(chan struct{}, 1)}
}

// AppRunsOnTaskThread implements platform.AppOnTaskThread: a context's
// KVM_RUN runs on the thread that switches to it (NewContext's
// precondition), and the host charges the vCPU's time to that thread.
func (*Platform) AppRunsOnTaskThread() bool { return true }

var _ platform.AppOnTaskThread = (*Platform)(nil)

// SyscallEntry describes how syscalls reach the sentry on this host, for
// logs and benchmark reports.
func (p *Platform) SyscallEntry() string { return p.entry.String() }

// Close implements platform.Platform.Close.
//
// Preconditions: no Switch is running, and every address space and context
// has been released.
func (p *Platform) Close() error {
	p.m.close()
	return nil
}
