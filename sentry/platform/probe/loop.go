package probe

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Where a Loop maps its code and data pages. Both are below every
// platform's MaxUserAddress.
const (
	loopCodeAddr = 0x400000
	loopDataAddr = 0x600000
)

// Entry points in loopCode.
const (
	// loopSyscall: mov $39,%eax (getpid); syscall; jmp loopSyscall.
	loopSyscall = 0
	// loopFault: mov %rax,(%rbx); mov $39,%eax; syscall; jmp loopFault.
	// RBX points at the data page, which the fault step unmaps first.
	loopFault = 16
	// loopPatched is loopSyscall again, whose `mov; syscall` NewLoop
	// patches into a jump through a trap table entry on a platform
	// that runs patched sites (mm/syscall_patch.go): what the system
	// calls of a program's hot paths cost there.
	loopPatched = 32
)

// loopCode is the application a Loop runs: two tiny loops, each ending in
// a syscall so every Switch comes back after one trip.
var loopCode = func() []byte {
	code := make([]byte, 48)
	copy(code[loopSyscall:], []byte{
		0xb8, 39, 0, 0, 0, // mov $39, %eax
		0x0f, 0x05, //        syscall
		0xeb, 0xf7, //        jmp loopSyscall
	})
	copy(code[loopFault:], []byte{
		0x48, 0x89, 0x03, //  mov %rax, (%rbx): faults while the page is unmapped
		0xb8, 39, 0, 0, 0, // mov $39, %eax
		0x0f, 0x05, //        syscall
		0xeb, 0xf4, //        jmp loopFault
	})
	copy(code[loopPatched:], code[loopSyscall:loopSyscall+9])
	return code
}()

// Offsets of the instruction after each loop's syscall: where a task
// stands when its syscall trap comes back.
const (
	loopSyscallReturn = loopSyscall + 7
	loopFaultReturn   = loopFault + 10
	loopPatchedReturn = loopPatched + 7
)

// Loop is a minimal application on one platform: one address space with a
// code page and a data page of the memory file, and one context running
// it. It is what the start-up measurement runs, and the benchmarks' raw
// platform round trip; every step checks that the platform did what a
// sentry relies on (a syscall trap with the right number and return
// address, a not-present fault at the right address that a mapping
// resolves), so a platform that starts but misbehaves is caught here.
//
// Preconditions: the goroutine that calls NewLoop is locked to its OS
// thread, stays locked until Release, and makes every call on the Loop.
type Loop struct {
	mf   *memfile.File
	as   platform.AddressSpace
	ctx  platform.Context
	code memfile.Range
	data memfile.Range
	// dataMapped says whether the data page is mapped now.
	dataMapped bool
	// table is the trap table page, allocated when the platform runs
	// patched sites (then loopPatched is patched).
	table memfile.Range
	st    arch.State
}

// NewLoop maps the loop's code in a new address space of p and makes a
// context to run it.
func NewLoop(p platform.Platform, mf *memfile.File) (_ *Loop, err error) {
	l := &Loop{mf: mf}
	defer func() {
		if err != nil {
			l.Release()
		}
	}()
	if l.code, err = mf.Allocate(arch.PageSize); err != nil {
		return nil, err
	}
	copy(mf.Slice(l.code), loopCode)
	if l.data, err = mf.Allocate(arch.PageSize); err != nil {
		return nil, err
	}
	if l.as, err = p.NewAddressSpace(); err != nil {
		return nil, fmt.Errorf("new address space: %w", err)
	}
	if err := l.as.MapFile(loopCodeAddr, l.code, platform.Read|platform.Execute); err != nil {
		return nil, fmt.Errorf("mapping code: %w", err)
	}
	if patcher, ok := l.as.(platform.SyscallPatcher); ok {
		if err := l.patch(patcher); err != nil {
			return nil, err
		}
	}
	if l.ctx, err = p.NewContext(); err != nil {
		return nil, fmt.Errorf("new context: %w", err)
	}
	// The flags a new task starts with (IF and the reserved bit).
	l.st.Regs.Eflags = 0x202
	l.st.Regs.Rip = loopCodeAddr + loopSyscall
	return l, nil
}

// patch maps a trap table page at the address the sentry uses, with one
// entry whose trampoline makes loopPatched's getpid, and patches the
// site into `jmp *entry`, as mm.PatchSyscall does. A platform that
// returns no trampoline leaves the site as it is.
func (l *Loop) patch(patcher platform.SyscallPatcher) error {
	entry := uint64(mm.TrapTableAddr + mm.TrapEntrySize)
	code := patcher.SyscallTrampoline(entry+8, loopCodeAddr+loopPatchedReturn, 39)
	if code == nil {
		return nil
	}
	if 8+len(code) > mm.TrapEntrySize {
		return fmt.Errorf("a %d-byte trampoline does not fit a trap table entry", len(code))
	}
	var err error
	if l.table, err = l.mf.Allocate(arch.PageSize); err != nil {
		return err
	}
	page := l.mf.Slice(l.table)
	binary.LittleEndian.PutUint64(page[mm.TrapEntrySize:], entry+8)
	copy(page[mm.TrapEntrySize+8:], code)
	if err := l.as.MapFile(mm.TrapTableAddr, l.table, platform.Read|platform.Execute); err != nil {
		return fmt.Errorf("mapping the trap table: %w", err)
	}
	patcher.SetTrapTable(mm.TrapTableAddr)
	site := l.mf.Slice(l.code)[loopPatched:]
	copy(site, []byte{0xff, 0x24, 0x25})
	binary.LittleEndian.PutUint32(site[3:], uint32(entry))
	return nil
}

// Patched reports whether the platform runs patched system-call sites,
// and PatchedSyscall measures one.
func (l *Loop) Patched() bool { return l.table.End != 0 }

// switchOnce runs the task until it traps for another reason than an
// interrupt (KVM's watchdog and the Go runtime's signals interrupt a
// vCPU now and then; the sentry resumes such a task the same way).
func (l *Loop) switchOnce() (platform.Trap, error) {
	for {
		trap, err := l.ctx.Switch(l.as, &l.st)
		if err != nil || trap.Kind != platform.TrapInterrupted {
			return trap, err
		}
	}
}

// Syscall runs one getpid round trip: the application's syscall reaches
// the sentry, which answers it and resumes the application.
func (l *Loop) Syscall() error { return l.syscallAt(loopSyscall, loopSyscallReturn) }

// PatchedSyscall is Syscall from the patched site (Patched).
func (l *Loop) PatchedSyscall() error {
	if !l.Patched() {
		return fmt.Errorf("the platform runs no patched system-call sites")
	}
	return l.syscallAt(loopPatched, loopPatchedReturn)
}

func (l *Loop) syscallAt(start, ret uint64) error {
	l.st.Regs.Rip = loopCodeAddr + start
	trap, err := l.switchOnce()
	if err != nil {
		return fmt.Errorf("syscall: %w", err)
	}
	if trap.Kind != platform.TrapSyscall || l.st.SyscallNo() != 39 || l.st.Regs.Rip != loopCodeAddr+ret {
		return fmt.Errorf("syscall: came back with trap %+v, syscall %d at %#x; want getpid (39) returning to %#x",
			trap, l.st.SyscallNo(), l.st.Regs.Rip, uint64(loopCodeAddr+ret))
	}
	l.st.SetReturn(1)
	return nil
}

// Fault runs one page fault: the application stores to the data page,
// which is not mapped; the fault reaches the sentry, which maps the page
// and resumes the application, whose store then succeeds. It returns how
// long the fault took to reach the sentry and be resolved (the Switch that
// faulted and the mapping); the syscall that ends the step and the unmap
// that prepares the next are not counted.
func (l *Loop) Fault() (time.Duration, error) {
	if l.dataMapped {
		l.as.Unmap(loopDataAddr, arch.PageSize)
		l.dataMapped = false
	}
	l.st.Regs.Rip = loopCodeAddr + loopFault
	l.st.Regs.Rbx = loopDataAddr
	l.st.Regs.Rax = 0x5a
	start := time.Now()
	trap, err := l.switchOnce()
	if err != nil {
		return 0, fmt.Errorf("fault: %w", err)
	}
	if trap.Kind != platform.TrapFault || trap.Addr != loopDataAddr || !trap.NotPresent || l.st.Regs.Rip != loopCodeAddr+loopFault {
		return 0, fmt.Errorf("fault: came back with trap %+v at %#x; want a not-present fault at %#x from %#x",
			trap, l.st.Regs.Rip, uint64(loopDataAddr), uint64(loopCodeAddr+loopFault))
	}
	if err := l.as.MapFile(loopDataAddr, l.data, platform.Read|platform.Write); err != nil {
		return 0, fmt.Errorf("fault: mapping the page: %w", err)
	}
	took := time.Since(start)
	l.dataMapped = true
	trap, err = l.switchOnce()
	if err != nil {
		return 0, fmt.Errorf("fault: resuming: %w", err)
	}
	if trap.Kind != platform.TrapSyscall || l.st.Regs.Rip != loopCodeAddr+loopFaultReturn {
		return 0, fmt.Errorf("fault: after mapping the page the task came back with trap %+v at %#x; want its syscall at %#x",
			trap, l.st.Regs.Rip, uint64(loopCodeAddr+loopFaultReturn))
	}
	if got := l.mf.Slice(l.data)[0]; got != 0x5a {
		return 0, fmt.Errorf("fault: the store after the mapping did not reach the memory file (%#x)", got)
	}
	l.mf.Slice(l.data)[0] = 0
	return took, nil
}

// Release frees the context, the address space and the pages.
func (l *Loop) Release() {
	if l.ctx != nil {
		l.ctx.Release()
	}
	if l.as != nil {
		l.as.Release()
	}
	if l.code.End != 0 {
		l.mf.Release(l.code)
	}
	if l.data.End != 0 {
		l.mf.Release(l.data)
	}
	if l.table.End != 0 {
		l.mf.Release(l.table)
	}
}
