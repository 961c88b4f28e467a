package kvm

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// Control register values (SDM Vol. 3A 2.5).
const (
	cr0PE = 1 << 0  // protected mode
	cr0MP = 1 << 1  // monitor coprocessor (WAIT honours TS)
	cr0ET = 1 << 4  // extension type, fixed 1
	cr0NE = 1 << 5  // native x87 error reporting (#MF)
	cr0WP = 1 << 16 // ring 0 honours read-only pages
	cr0AM = 1 << 18 // alignment checking allowed (with RFLAGS.AC at CPL 3)
	cr0PG = 1 << 31 // paging

	// cr0Value is Linux's CR0 (0x80050033); EM, TS, CD and NW clear.
	cr0Value = cr0PE | cr0MP | cr0ET | cr0NE | cr0WP | cr0AM | cr0PG

	cr4PAE        = 1 << 5  // required for long mode
	cr4OSFXSR     = 1 << 9  // SSE enabled, FXSAVE/FXRSTOR save it
	cr4OSXMMEXCPT = 1 << 10 // unmasked SIMD exceptions raise #XM
	cr4OSXSAVE    = 1 << 18 // XSAVE and XCR0 enabled

	eferSCE = 1 << 0  // SYSCALL/SYSRET
	eferLME = 1 << 8  // long mode enable
	eferLMA = 1 << 10 // long mode active
	eferNXE = 1 << 11 // execute-disable bit in PTEs
)

// vCPU is one KVM vCPU and its slot of the trampoline's per-vCPU area.
//
// Fields are grouped by who may touch them:
//
//   - immutable after creation: id, fd, runMap, run, be, area, m;
//   - atomics shared with other goroutines: state (the pool), tid (the
//     pool, kicks), as and inGuest and runSeq (shootdowns, the watchdog),
//     fpOwner (written under machine.fpMu, read without it by its owner's
//     fast path);
//   - the holder's: every other field, used only by the goroutine that
//     holds the vCPU (state == vcpuHeld), between acquire and release.
type vCPU struct {
	id     int
	fd     int
	runMap []byte
	run    *kvmRun
	// be runs the vCPU and moves its FPU state: KVM's ioctls
	// (kvmBackend), or a model of the CPU in tests.
	be vcpuBackend
	// area is the memory-file range of the vCPU's vcpuPages pages: GDT
	// and TSS, then the RSP0 and IST stacks.
	area memfile.Range
	m    *machine

	state atomic.Uint32
	// tid is the host thread that holds or last held the vCPU; 0 if it
	// never ran.
	tid atomic.Int32
	// as is the address space the vCPU is entering or running (the entry
	// gate, see addressSpace), nil outside the guest.
	as atomic.Pointer[addressSpace]
	// inGuest is set around KVM_RUN, runSeq counts entries: the watchdog
	// kicks a vCPU seen in the guest with the same runSeq twice.
	inGuest atomic.Bool
	runSeq  atomic.Uint64
	// fpOwner is the context whose FPU state the vCPU holds.
	fpOwner atomic.Pointer[context]

	// broken is set when the vCPU's state is unknown (a failed exit); the
	// pool never hands it out again.
	broken bool
	// cpl is the privilege level at the last exit.
	cpl uint16
	// cr3 is CR3 at the last exit.
	cr3 uint64
	// userOwner is the context whose user-mode state the vCPU holds when
	// it stopped in user mode (cpl 3), else nil.
	userOwner *context
	// atSyscallStub is set when the last exit was a syscall through the
	// ring-0 stub: the vCPU is at CPL 0 with SYSCALL's SS, and may return
	// with sysretq.
	atSyscallStub bool
	// flushedAS and flushedGen are the address space and its generation
	// that the vCPU's TLB is known to match: the last CR3 load by the
	// guest was for them (see addressSpace.gen).
	flushedAS  *addressSpace
	flushedGen uint64
	// pendingAS and pendingGen are what the current entry flushes for;
	// they become flushedAS/flushedGen once an exit proves the guest
	// passed the flush (it reached user mode).
	pendingAS  *addressSpace
	pendingGen uint64
}

// vcpuBackend is what the vCPU loop needs from KVM beyond kvm_run. Every
// production vCPU uses kvmBackend; the seam exists so that tests can run
// the whole Switch loop against a model of the CPU where /dev/kvm is
// absent.
type vcpuBackend interface {
	// run is KVM_RUN: it runs the vCPU from the state in kvm_run (and its
	// dirty flags) and leaves the exit there.
	run() unix.Errno
	// saveFP and loadFP read and write the vCPU's FPU state in format f.
	saveFP(f fpFormat, dst []byte) error
	loadFP(f fpFormat, src []byte) error
}

// kvmBackend is the vcpuBackend of a real KVM vCPU.
type kvmBackend struct {
	fd int
}

// run implements vcpuBackend.run.
func (b kvmBackend) run() unix.Errno { return runVCPU(b.fd) }

// newVCPU creates vCPU id and sets it up in 64-bit ring 0 with the idle
// address space.
func (m *machine) newVCPU(id int) (_ *vCPU, err error) {
	if id >= maxVCPUSlots {
		return nil, fmt.Errorf("kvm: vCPU %d beyond the trampoline's %d slots", id, maxVCPUSlots)
	}
	fd, err := ioctl(m.vmFD, kvmCreateVCPU, uintptr(id))
	if err != nil {
		return nil, fmt.Errorf("kvm: KVM_CREATE_VCPU %d: %w", id, err)
	}
	v := &vCPU{id: id, fd: int(fd), be: kvmBackend{int(fd)}, m: m}
	defer func() {
		if err != nil {
			v.close()
		}
	}()
	unix.CloseOnExec(v.fd)
	v.runMap, v.run, err = mapRun(v.fd, m.runSize)
	if err != nil {
		return nil, fmt.Errorf("kvm: mapping kvm_run of vCPU %d: %w", id, err)
	}
	if err := m.setUpVCPUArea(v); err != nil {
		return nil, err
	}
	if err := setCPUID2(v.fd, &m.cpuid2); err != nil {
		return nil, fmt.Errorf("kvm: KVM_SET_CPUID2: %w", err)
	}
	if m.guestXSAVE {
		xcrs := kvmXCRs{NrXCRs: 1}
		xcrs.XCRs[0] = kvmXCR{XCR: 0, Value: m.xcr0}
		if err := setXCRs(v.fd, &xcrs); err != nil {
			return nil, fmt.Errorf("kvm: KVM_SET_XCRS (XCR0 %#x): %w", m.xcr0, err)
		}
	}
	// The SYSCALL MSRs are required. KVM_SET_MSRS stops at the first MSR
	// it refuses and returns how many it set.
	required := []kvmMSREntry{
		{Index: msrSTAR, Data: starValue},
		{Index: msrLSTAR, Data: syscallStubVA},
		{Index: msrSFMASK, Data: sfmaskValue},
	}
	if n, err := setMSRList(v.fd, required); err != nil || n != len(required) {
		return nil, fmt.Errorf("kvm: KVM_SET_MSRS (STAR, LSTAR, SFMASK) set %d of %d: %v", n, len(required), err)
	}
	// The rest restate their reset values (SDM Vol. 4: 0 at reset) and
	// are set only in case the vCPU does not start from reset: failures
	// are ignored. CSTAR is unreachable (there is no 32-bit code segment,
	// so no compatibility-mode SYSCALL); SYSENTER_CS = 0 makes sysenter
	// raise #GP (SDM Vol. 2B "SYSENTER"), a SIGSEGV.
	_, _ = setMSRList(v.fd, []kvmMSREntry{
		{Index: msrCSTAR, Data: haltStubVA},
		{Index: msrKernelGSBase, Data: 0},
		{Index: msrSysenterCS, Data: 0},
		{Index: msrSysenterESP, Data: 0},
		{Index: msrSysenterEIP, Data: 0},
	})
	var sregs kvmSregs
	if err := getSregs(v.fd, &sregs); err != nil {
		return nil, fmt.Errorf("kvm: KVM_GET_SREGS: %w", err)
	}
	m.initialSregs(&sregs, id)
	if err := setSregs(v.fd, &sregs); err != nil {
		return nil, fmt.Errorf("kvm: KVM_SET_SREGS (long mode, ring 0): %w", err)
	}
	regs := kvmRegs{RIP: haltStubVA, RSP: stackTop(id, stackRSP0), RFLAGS: kernelRFlags}
	if err := setRegs(v.fd, &regs); err != nil {
		return nil, fmt.Errorf("kvm: KVM_SET_REGS: %w", err)
	}
	// The sync-regs area is the platform's copy of the vCPU's registers
	// from now on; fill it with what KVM holds.
	if err := getRegs(v.fd, &v.run.Sync.Regs); err != nil {
		return nil, fmt.Errorf("kvm: KVM_GET_REGS: %w", err)
	}
	if err := getSregs(v.fd, &v.run.Sync.Sregs); err != nil {
		return nil, fmt.Errorf("kvm: KVM_GET_SREGS: %w", err)
	}
	v.run.ValidRegs = syncValid
	v.run.DirtyRegs = 0
	v.cpl = 0
	v.cr3 = v.run.Sync.Sregs.CR3
	return v, nil
}

// initialSregs sets the special registers of vCPU id: 64-bit mode with
// paging on the idle address space, ring 0, its own GDT and TSS, the
// shared IDT.
func (m *machine) initialSregs(s *kvmSregs, id int) {
	s.CS = segKernelCode
	s.SS = segKernelData
	s.DS, s.ES, s.FS, s.GS = segNull, segNull, segNull, segNull
	s.LDT = segNull
	s.TR = trSegment(vcpuPageVA(id, 0) + tssOffset)
	s.GDT = kvmDTable{Base: vcpuPageVA(id, 0) + gdtOffset, Limit: gdtLimit}
	s.IDT = kvmDTable{Base: idtVA, Limit: idtLimit}
	s.CR0 = cr0Value
	s.CR2 = 0
	s.CR3 = m.idleRoot
	s.CR4 = cr4PAE | cr4OSFXSR | cr4OSXMMEXCPT
	if m.guestXSAVE {
		s.CR4 |= cr4OSXSAVE
	}
	s.CR8 = 0
	s.EFER = eferSCE | eferLME | eferLMA
	if m.nx {
		s.EFER |= eferNXE
	}
	s.InterruptBitmap = [4]uint64{}
}

// setMSRList sets the MSRs in list (at most 8) and returns how many KVM set.
func setMSRList(fd int, list []kvmMSREntry) (int, error) {
	var msrs kvmMSRs
	msrs.NMSRs = uint32(copy(msrs.Entries[:], list))
	return setMSRs(fd, &msrs)
}

// close releases the vCPU's host resources (KVM frees the vCPU itself with
// the VM).
func (v *vCPU) close() {
	if v.runMap != nil {
		_ = unix.Munmap(v.runMap)
		v.runMap, v.run = nil, nil
	}
	if v.fd > 0 {
		_ = unix.Close(v.fd)
		v.fd = -1
	}
}

// stackPage returns the memory-file bytes of the stack page holding
// [va, va+n), or nil if the range is not within one stack page.
func (v *vCPU) stackPage(va uint64, n int) ([]byte, uint64) {
	for k := stackRSP0; k <= stackIST3; k++ {
		base := vcpuPageVA(v.id, k)
		if va >= base && va+uint64(n) <= base+pageSize && va+uint64(n) >= va {
			off := v.area.Start + uint64(k)*pageSize
			return v.m.mf.Slice(memfile.Range{Start: off, End: off + pageSize}), va - base
		}
	}
	return nil, 0
}

// readFrame implements stackReader.
func (v *vCPU) readFrame(va uint64, n int) (f [maxFrameWords]uint64, ok bool) {
	if n > maxFrameWords {
		return f, false
	}
	page, off := v.stackPage(va, 8*n)
	if page == nil {
		return f, false
	}
	for i := 0; i < n; i++ {
		f[i] = binary.LittleEndian.Uint64(page[off+8*uint64(i):])
	}
	return f, true
}

// writeFrame writes words at the top of the RSP0 stack and returns the
// address of the first.
func (v *vCPU) writeFrame(words []uint64) uint64 {
	va := stackTop(v.id, stackRSP0) - 8*uint64(len(words))
	page, off := v.stackPage(va, 8*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint64(page[off+8*uint64(i):], w)
	}
	return va
}

// kick makes the vCPU leave the guest soon, or not enter it: it sets
// immediate_exit, which the next KVM_RUN honours before entering, and
// signals the thread holding the vCPU, which makes a KVM_RUN in progress
// return EINTR. SIGURG is the Go runtime's own preemption signal: its
// handler ignores one that finds no preemption request, it never blocks
// it, and KVM_RUN returns EINTR for it like for any signal. A kick that
// lands after KVM_RUN returned is harmless (a spurious EINTR exit or a
// spurious SIGURG).
func (v *vCPU) kick() {
	setImmediateExit(v.run, 1)
	if tid := v.tid.Load(); tid != 0 {
		_ = unix.Tgkill(v.m.pid, int(tid), unix.SIGURG)
	}
}

// readExit snapshots the exit state from kvm_run.
func (v *vCPU) readExit(errno unix.Errno) exitState {
	run := v.run
	ev := &run.Sync.Events
	e := exitState{
		errno:  errno,
		reason: run.ExitReason,
		regs:   run.Sync.Regs,
		cs:     run.Sync.Sregs.CS.Selector,
		cr2:    run.Sync.Sregs.CR2,
		inFlight: ev.ExceptionInjected != 0 || ev.ExceptionPending != 0 ||
			ev.InterruptInjected != 0 || ev.NMIInjected != 0,
		detail: exitUnionU64(&run.Exit, 0),
	}
	if e.reason == exitIO {
		e.io = decodeIOExit(&run.Exit)
	}
	return e
}

// returnPath is how a vCPU goes back to user mode.
type returnPath int

const (
	// returnDirect: the vCPU stopped in user mode holding this task's
	// state; load the registers and run.
	returnDirect returnPath = iota + 1
	// returnSysret: the vCPU is at the syscall stub's sysretq.
	returnSysret
	// returnIret: iretq from a frame on the ring-0 stack.
	returnIret
	// returnCR3Iret: load CR3, then iretq (address-space switch or TLB
	// flush).
	returnCR3Iret
)

// entryState is what the choice of return path depends on.
type entryState struct {
	cpl uint16
	// sameTask: the vCPU's user-mode state is this context's.
	sameTask bool
	// atSyscallStub: the last exit was a syscall through the ring-0 stub.
	atSyscallStub bool
	// sysretAllowed: the host's syscalls reach ring 0 (probe.go).
	sysretAllowed bool
	// needCR3: the address space must be loaded or the TLB flushed.
	needCR3 bool
}

// chooseReturn picks the return path.
func chooseReturn(e entryState, r *arch.Registers, rflags uint64) returnPath {
	switch {
	case e.needCR3:
		return returnCR3Iret
	case e.cpl == 3 && e.sameTask:
		return returnDirect
	case e.cpl == 0 && e.atSyscallStub && e.sysretAllowed && sysretOK(r, rflags):
		return returnSysret
	}
	return returnIret
}

// linuxTaskSizeMax is TASK_SIZE_MAX with 4-level paging: the bound Linux
// puts on a SYSRET destination.
const linuxTaskSizeMax = 1<<47 - pageSize

// sysretOK is Linux's test for returning with SYSRET (arch/x86/entry/
// common.c, do_syscall_64): RCX must equal RIP and R11 RFLAGS, since SYSRET
// loads RIP and RFLAGS from them; RIP must be a lower-half canonical address,
// because on Intel a SYSRET to a non-canonical RIP takes its #GP in ring 0
// with the user's stack pointer; and neither RF (SYSRET cannot restore it)
// nor TF (it would trap right after SYSRET) may be set.
func sysretOK(r *arch.Registers, rflags uint64) bool {
	return r.Rcx == r.Rip && r.R11 == rflags && r.Rip < linuxTaskSizeMax &&
		rflags&(rflagsRF|rflagsTF) == 0
}

// prepare loads the task's state into the vCPU for the next KVM_RUN.
func (v *vCPU) prepare(path returnPath, st *arch.State, rflags, root uint64) {
	k := &v.run.Sync.Regs
	s := &v.run.Sync.Sregs
	r := &st.Regs
	gprsToKVM(r, k)
	dirty := uint64(syncRegs)
	switch path {
	case returnDirect:
		k.RIP, k.RSP, k.RFLAGS = r.Rip, r.Rsp, rflags
	case returnSysret:
		k.RCX, k.R11 = r.Rip, rflags
		k.RIP, k.RSP, k.RFLAGS = sysretVA, r.Rsp, kernelRFlags
	default:
		var frame [cr3IretFrameWords]uint64
		n, stub := iretFrameWords, uint64(iretStubVA)
		if path == returnCR3Iret {
			frame = [cr3IretFrameWords]uint64{root, r.Rax, r.Rip, userCS, rflags, r.Rsp, userSS}
			n, stub = cr3IretFrameWords, cr3IretStubVA
		} else {
			frame = [cr3IretFrameWords]uint64{r.Rip, userCS, rflags, r.Rsp, userSS}
		}
		k.RSP = v.writeFrame(frame[:n])
		k.RIP, k.RFLAGS = stub, kernelRFlags
		if v.cpl != 0 {
			// Stopped in user mode: enter ring 0 at the stub.
			s.CS, s.SS = segKernelCode, segKernelData
			dirty |= syncSregs
		}
	}
	if userSegmentsDiffer(s, r) {
		applyUserSegments(s, r)
		dirty |= syncSregs
	}
	v.run.DirtyRegs = dirty
}
