package kvm

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// A model of what the platform relies on from an x86-64 CPU under KVM, so
// that the whole Switch loop (and the start-up probe) can run where there
// is no /dev/kvm. It is written from the Intel SDM, independently of the
// platform's code, and is deliberately strict: anything the platform does
// that the model does not expect fails the test.
//
// Modelled: the trampoline's stubs executed at CPL 0 (the `out`s exit with
// KVM_EXIT_IO and RIP at the `out`; sysretq; iretq; pop/mov-to-CR3);
// SYSCALL, VMX-style (to LSTAR at CPL 0) or PVM-style (to LSTAR at CPL 3,
// so the fetch faults); exception delivery through the IDT and TSS read
// from guest memory; 4-level paging read from the memory file, with a TLB
// that caches successful translations and is flushed only by a MOV to CR3
// (or, for the faulting address, by a page fault); immediate_exit and
// EINTR; KVM's sync-regs area as the register file.
//
// The user program is not decoded from memory: fakeWorld.prog gives the
// instruction at each address, but every fetch is still checked against
// the page tables.

type fakeOp int

const (
	opSyscall   fakeOp = iota + 1 // syscall (2 bytes)
	opLoad                        // mov (%rbx), %rax (3 bytes)
	opStore                       // mov %rax, (%rbx) (3 bytes)
	opJmp                         // jmp target (2 bytes)
	opSpin                        // jmp . : runs until kicked
	opSpinStore                   // 1: incq (%rbx); jmp 1b : runs until kicked
	opUD2                         // ud2 (2 bytes)
	opSetXMM0                     // movq %rax, %xmm0 (5 bytes)
	opGetXMM0                     // movq %xmm0, %rax (5 bytes)
	opRCXToRAX                    // mov %rcx, %rax (3 bytes)
	opR11ToRAX                    // mov %r11, %rax (3 bytes)
)

type fakeInsn struct {
	op     fakeOp
	target uint64
}

func (in fakeInsn) len() uint64 {
	switch in.op {
	case opLoad, opStore, opRCXToRAX, opR11ToRAX:
		return 3
	case opSetXMM0, opGetXMM0:
		return 5
	}
	return 2
}

// fakeWorld is what all fake vCPUs of a machine share.
type fakeWorld struct {
	mu   sync.Mutex
	prog map[uint64]fakeInsn
	// pvm: SYSCALL reaches LSTAR at CPL 3.
	pvm bool
	// noSFMASK (with pvm): a host that faults before applying SFMASK.
	noSFMASK bool
	// staleCR3: a broken hypervisor whose MOV to CR3 keeps the TLB.
	staleCR3 bool
	// counters of what the guest executed.
	sysrets, irets, cr3Loads, exits int
	// onSyscallExit, if set, runs when the guest executes a syscall.
	onSyscallExit func()
}

func (w *fakeWorld) insn(rip uint64) (fakeInsn, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, ok := w.prog[rip]
	return in, ok
}

func (w *fakeWorld) count(c *int) {
	w.mu.Lock()
	*c++
	w.mu.Unlock()
}

// fakeCPU is one vCPU's model; it implements vcpuBackend.
type fakeCPU struct {
	w  *fakeWorld
	v  *vCPU
	mf *memfile.File
	// tlb caches linear page -> (physical page | rights).
	tlb map[uint64]fakeTLBEntry
	fp  []byte
	// failure is set when the platform did something the model rejects.
	failure string
}

type fakeTLBEntry struct {
	phys                uint64
	write, user, noExec bool
}

var errFake = unix.ENOTRECOVERABLE

func (f *fakeCPU) fail(format string, args ...any) unix.Errno {
	f.failure = fmt.Sprintf(format, args...)
	f.v.run.ExitReason = exitInternalError
	return errFake
}

func (f *fakeCPU) saveFP(_ fpFormat, dst []byte) error {
	copy(dst, f.fp)
	return nil
}

func (f *fakeCPU) loadFP(_ fpFormat, src []byte) error {
	f.fp = append(f.fp[:0], src...)
	return nil
}

// translate translates va for an access at cpl, through the TLB. It
// returns the physical address, or the page-fault error code.
func (f *fakeCPU) translate(va uint64, write, exec bool, cpl uint16) (uint64, uint64, bool) {
	s := &f.v.run.Sync.Sregs
	page := va &^ 0xfff
	e, ok := f.tlb[page]
	if !ok {
		table := s.CR3
		e = fakeTLBEntry{write: true, user: true}
		for level := 3; level >= 0; level-- {
			off := table - physBase + 8*((va>>(12+9*uint(level)))&511)
			pte := binary.LittleEndian.Uint64(f.mf.Slice(memfile.Range{Start: off &^ 0xfff, End: off&^0xfff + pageSize})[off&0xfff:])
			if pte&1 == 0 {
				return 0, errCodeFor(false, write, exec, cpl, s), false
			}
			// Reserved bits: PS (only 4 KiB pages are expected), and
			// bit 63 when EFER.NXE is clear (SDM 4.5, Table 4-20).
			if pte&ptePageSize != 0 || (s.EFER&eferNXE == 0 && pte&pteNX != 0) {
				return 0, errCodeFor(true, write, exec, cpl, s) | pfRsvd, false
			}
			e.write = e.write && pte&pteWrite != 0
			e.user = e.user && pte&pteUser != 0
			e.noExec = e.noExec || (s.EFER&eferNXE != 0 && pte&pteNX != 0)
			table = pte & pteAddrMask
		}
		e.phys = table
	}
	if (cpl == 3 && !e.user) || (write && !e.write) || (exec && e.noExec) {
		delete(f.tlb, page) // a page fault drops the entry (SDM 4.10.4.1)
		return 0, errCodeFor(true, write, exec, cpl, s), false
	}
	f.tlb[page] = e
	return e.phys | va&0xfff, 0, true
}

func errCodeFor(present, write, exec bool, cpl uint16, s *kvmSregs) uint64 {
	var c uint64
	if present {
		c |= pfPresent
	}
	if write {
		c |= pfWrite
	}
	if cpl == 3 {
		c |= pfUser
	}
	if exec && s.EFER&eferNXE != 0 {
		c |= pfFetch
	}
	return c
}

// mem returns the 8 bytes at va for an access at cpl, or the fault.
func (f *fakeCPU) mem(va uint64, write bool, cpl uint16) ([]byte, uint64, bool) {
	if va&7 != 0 {
		panic("unaligned access in the model")
	}
	pa, code, ok := f.translate(va, write, false, cpl)
	if !ok {
		return nil, code, false
	}
	off := pa - physBase
	return f.mf.Slice(memfile.Range{Start: off, End: off + 8}), 0, true
}

// push and pop are ring-0 stack accesses; the trampoline's stacks are
// always mapped, so a fault is a platform bug.
func (f *fakeCPU) push(val uint64) bool {
	k := &f.v.run.Sync.Regs
	k.RSP -= 8
	b, _, ok := f.mem(k.RSP, true, 0)
	if ok {
		binary.LittleEndian.PutUint64(b, val)
	}
	return ok
}

func (f *fakeCPU) pop() (uint64, bool) {
	k := &f.v.run.Sync.Regs
	b, _, ok := f.mem(k.RSP, false, 0)
	if !ok {
		return 0, false
	}
	k.RSP += 8
	return binary.LittleEndian.Uint64(b), true
}

// deliver delivers exception vec (SDM Vol. 3A 6.12, 6.14).
func (f *fakeCPU) deliver(vec int, errCode uint64, hasErr bool) unix.Errno {
	k := &f.v.run.Sync.Regs
	s := &f.v.run.Sync.Sregs
	gb, _, ok := f.mem(s.IDT.Base+16*uint64(vec), false, 0)
	gb2, _, ok2 := f.mem(s.IDT.Base+16*uint64(vec)+8, false, 0)
	if !ok || !ok2 {
		return f.fail("IDT not readable")
	}
	g := decodeGate(append(append([]byte(nil), gb...), gb2...))
	if !g.present || g.selector != kernelCS {
		return f.fail("bad gate %+v", g)
	}
	oldCS, oldSS, oldRSP, oldFlags := s.CS.Selector, s.SS.Selector, k.RSP, k.RFLAGS
	if oldCS&3 == 3 || g.ist != 0 {
		// Stack switch through the TSS.
		off := uint64(4)
		if g.ist != 0 {
			off = 36 + 8*uint64(g.ist-1)
		}
		lo, _, ok := f.mem((s.TR.Base+off)&^7, false, 0)
		hi, _, ok2 := f.mem((s.TR.Base+off)&^7+8, false, 0)
		if !ok || !ok2 {
			return f.fail("TSS not readable")
		}
		b := append(append([]byte(nil), lo...), hi...)
		k.RSP = binary.LittleEndian.Uint64(b[(s.TR.Base+off)&7:])
	}
	k.RSP &^= 15
	frame := []uint64{uint64(oldSS), oldRSP, oldFlags, uint64(oldCS), k.RIP}
	if hasErr {
		frame = append(frame, errCode)
	}
	for _, w := range frame {
		if !f.push(w) {
			return f.fail("exception %d: ring-0 stack %#x not writable", vec, k.RSP)
		}
	}
	if oldCS&3 == 3 {
		s.SS = kvmSegment{Unusable: 1} // 64-bit mode loads a null SS
	}
	s.CS = segKernelCode
	k.RFLAGS &^= rflagsIF | rflagsTF | rflagsNT | rflagsRF
	k.RIP = g.offset
	return 0
}

func (f *fakeCPU) pageFault(va, code uint64) unix.Errno {
	f.v.run.Sync.Sregs.CR2 = va
	return f.deliver(vectorPF, code, true)
}

func (f *fakeCPU) iret() unix.Errno {
	k := &f.v.run.Sync.Regs
	s := &f.v.run.Sync.Sregs
	var w [5]uint64
	for i := range w {
		var ok bool
		if w[i], ok = f.pop(); !ok {
			return f.fail("iretq: frame not readable at %#x", k.RSP)
		}
	}
	if w[1] != userCS || w[4] != userSS {
		return f.fail("iretq to cs %#x ss %#x", w[1], w[4])
	}
	if !arch.IsCanonical(w[0]) {
		return f.fail("iretq to non-canonical rip %#x (a #GP in ring 0)", w[0])
	}
	k.RIP, k.RFLAGS, k.RSP = w[0], w[2]|rflagsFixed, w[3]
	s.CS, s.SS = segUserCode, segUserData
	f.w.count(&f.w.irets)
	return 0
}

func (f *fakeCPU) ioExit(port uint16, size uint8) unix.Errno {
	r := f.v.run
	r.ExitReason = exitIO
	r.Exit = [sizeofKVMRunExitUnion]byte{}
	r.Exit[0], r.Exit[1] = ioDirOut, size
	binary.LittleEndian.PutUint16(r.Exit[2:], port)
	binary.LittleEndian.PutUint32(r.Exit[4:], 1)
	f.w.count(&f.w.exits)
	return 0
}

// run implements vcpuBackend.run: KVM_RUN.
func (f *fakeCPU) run() unix.Errno {
	r := f.v.run
	k := &r.Sync.Regs
	s := &r.Sync.Sregs
	if r.ValidRegs != syncValid {
		return f.fail("kvm_valid_regs %#x", r.ValidRegs)
	}
	if r.DirtyRegs&^syncValid != 0 {
		return f.fail("kvm_dirty_regs %#x", r.DirtyRegs)
	}
	if r.DirtyRegs&syncSregs != 0 && (s.CS.DPL != s.SS.DPL && s.SS.Unusable == 0) {
		return f.fail("sregs with CS DPL %d, SS DPL %d", s.CS.DPL, s.SS.DPL)
	}
	r.DirtyRegs = 0 // consumed; the area is the register file
	if immediateExit(r) != 0 {
		r.ExitReason = exitIntr
		return unix.EINTR
	}
	if k.RFLAGS&rflagsFixed == 0 || k.RFLAGS&^0x3f7fd7 != 0 {
		return f.fail("invalid rflags %#x", k.RFLAGS)
	}
	for step := 0; step < 10000; step++ {
		if s.CS.Selector&3 == 0 {
			switch {
			case k.RIP == syscallStubVA:
				return f.ioExit(syscallPort, syscallIOSize)
			case k.RIP == sysretVA:
				if !arch.IsCanonical(k.RCX) {
					return f.fail("sysretq to non-canonical %#x: #GP in ring 0 on the user stack", k.RCX)
				}
				k.RIP, k.RFLAGS = k.RCX, k.R11&0x3c7fd7|rflagsFixed
				s.CS, s.SS = segUserCode, segUserData
				f.w.count(&f.w.sysrets)
			case k.RIP == iretStubVA:
				if e := f.iret(); e != 0 {
					return e
				}
			case k.RIP == cr3IretStubVA:
				cr3, ok := f.pop()
				rax, ok2 := f.pop()
				if !ok || !ok2 {
					return f.fail("cr3 stub: frame not readable")
				}
				s.CR3 = cr3
				if !f.w.staleCR3 {
					clear(f.tlb)
				}
				k.RAX = rax
				f.w.count(&f.w.cr3Loads)
				if e := f.iret(); e != 0 {
					return e
				}
			default:
				if v, after, ok := vectorOfStub(k.RIP); ok && !after {
					return f.ioExit(uint16(v), vectorIOSize)
				}
				return f.fail("ring 0 at rip %#x", k.RIP)
			}
			continue
		}
		// User mode: fetch, then execute.
		if _, code, ok := f.translate(k.RIP, false, true, 3); !ok {
			if e := f.pageFault(k.RIP, code); e != 0 {
				return e
			}
			continue
		}
		in, ok := f.w.insn(k.RIP)
		if !ok {
			if e := f.deliver(vectorUD, 0, false); e != 0 {
				return e
			}
			continue
		}
		switch in.op {
		case opSyscall:
			if h := f.w.onSyscallExit; h != nil {
				h()
			}
			k.RCX, k.R11 = k.RIP+2, k.RFLAGS
			if !f.w.noSFMASK {
				k.RFLAGS &^= sfmaskValue
			}
			k.RIP = syscallStubVA
			if !f.w.pvm {
				s.CS, s.SS = segKernelCode, segKernelData
			}
		case opLoad, opStore, opSpinStore:
			b, code, ok := f.mem(k.RBX, in.op != opLoad, 3)
			if !ok {
				if e := f.pageFault(k.RBX, code); e != 0 {
					return e
				}
				continue
			}
			switch in.op {
			case opLoad:
				k.RAX = binary.LittleEndian.Uint64(b)
			case opStore:
				binary.LittleEndian.PutUint64(b, k.RAX)
			case opSpinStore:
				binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)+1)
				if immediateExit(r) != 0 {
					r.ExitReason = exitIntr
					return unix.EINTR
				}
				time.Sleep(10 * time.Microsecond)
				step = 0 // runs until kicked, like opSpin
				continue // jmp back
			}
			k.RIP += in.len()
		case opJmp:
			k.RIP = in.target
		case opSpin:
			for immediateExit(r) == 0 {
				time.Sleep(50 * time.Microsecond)
			}
			r.ExitReason = exitIntr
			return unix.EINTR
		case opUD2:
			if e := f.deliver(vectorUD, 0, false); e != 0 {
				return e
			}
		case opSetXMM0:
			binary.LittleEndian.PutUint64(f.fp[fxXMM0:], k.RAX)
			k.RIP += in.len()
		case opGetXMM0:
			k.RAX = binary.LittleEndian.Uint64(f.fp[fxXMM0:])
			k.RIP += in.len()
		case opRCXToRAX:
			k.RAX = k.RCX
			k.RIP += in.len()
		case opR11ToRAX:
			k.RAX = k.R11
			k.RIP += in.len()
		}
	}
	return f.fail("guest ran 10000 steps without an exit")
}

// newFakeMachine is newTestMachine with fake CPUs and a watchdog.
func newFakeMachine(t *testing.T, w *fakeWorld) (*machine, *Platform) {
	t.Helper()
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	m.pid = unix.Getpid()
	create := m.pool.create
	m.pool = newPool(8, func(id int) (*vCPU, error) {
		v, err := create(id)
		if err != nil {
			return nil, err
		}
		f := &fakeCPU{w: w, v: v, mf: mf, tlb: map[uint64]fakeTLBEntry{}, fp: initFPImage(m.fp)}
		v.be = f
		// The state newVCPU gives a vCPU: ring 0 on the idle root.
		v.run.ValidRegs = syncValid
		m.initialSregs(&v.run.Sync.Sregs, id)
		v.run.Sync.Regs = kvmRegs{RIP: haltStubVA, RSP: stackTop(id, stackRSP0), RFLAGS: kernelRFlags}
		v.cr3 = m.idleRoot
		return v, nil
	})
	m.wd = newWatchdog(m.pool, watchdogPeriod)
	t.Cleanup(m.wd.stop)
	t.Cleanup(func() {
		for _, v := range m.pool.vcpus() {
			if f := v.be.(*fakeCPU); f.failure != "" {
				t.Errorf("vCPU %d: the CPU model rejected the platform's state: %s", v.id, f.failure)
			}
		}
	})
	return m, &Platform{m: m}
}

// load maps a program: the byte length of each instruction is fixed by
// its kind, and every instruction's page is mapped read-execute.
func (w *fakeWorld) load(start uint64, prog ...fakeInsn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.prog == nil {
		w.prog = map[uint64]fakeInsn{}
	}
	for _, in := range prog {
		w.prog[start] = in
		start += in.len()
	}
}
