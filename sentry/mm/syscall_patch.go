package mm

import (
	"bytes"
	"encoding/binary"
	"maps"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// System-call patching. On a platform whose traps are expensive (systrap: a
// host signal and a sigreturn per call), the sentry rewrites the system-call
// sites applications use most into `jmp *abs32`, an indirect jump through a
// slot of a trap table mapped below 2 GiB, to a trampoline the platform
// writes (platform.SyscallPatcher) that enters the platform's hand-off
// without a host signal.
//
// Two kinds of site are patched:
//
//   - `mov $nr,%eax; syscall` (7 bytes), the common form of C libraries:
//     the trampoline knows the number. Its slot is the first 8 bytes of a
//     64-byte table entry, its code the rest.
//   - A few exact instruction sequences that leave a number chosen at run
//     time in RAX (siteForms): Go's one system-call function, through which
//     the syscall package and the runtime's network poller make every call,
//     and glibc's syscall(3). The patch replaces the last 7 or 8 bytes
//     before and including `syscall`; the trampoline first runs the
//     instructions it replaced, then enters with the application's RAX.
//
// Other threads may be running a site while it is patched, and the kernel
// restarts an interrupted call by moving the instruction pointer back two
// bytes, onto where `syscall` was. So every byte of the jump that lands on
// an instruction boundary of the old code, except the first, is an invalid
// instruction in 64-bit mode: a thread that reaches one traps with SIGILL,
// and PatchedSiteFault turns that into the system call or a rerun of the
// jump. The table's address makes it so: its third byte is 0x06 and its
// fourth 0x3f, and the slot of a site with a run-time number is at offset
// 6 of a 256-byte block, so its address is 0x3f06xx06. The patch is
// written boundary bytes first and the jump's opcode last.
const (
	// trapTableAddr is where the table is mapped: byte 2 of every address
	// in it is 0x06 and byte 3 is 0x3f. It lies below 1 GiB, above the
	// text, data and early heap of a program loaded at the usual 4 MiB,
	// and out of the window MAP_32BIT allocates from.
	trapTableAddr = 0x3f060000
	trapTableSize = 0x10000
	// trapEntrySize is the size of one entry: 8 bytes of code address
	// and the trampoline. Entry 0 is the table's header.
	trapEntrySize = 64
	trapEntries   = trapTableSize / trapEntrySize
	// raxBlockSize is the block a run-time-number site takes: its slot
	// at raxSlotOffset and its trampoline in the block's second entry.
	raxBlockSize  = 256
	raxSlotOffset = 6
	raxBlocks     = trapTableSize / raxBlockSize
	// trapTableName is how /proc/PID/maps shows the table.
	trapTableName = "[usertrap]"

	// patchSiteLen is the length of `mov $nr,%eax; syscall` and of the
	// jump that replaces it.
	patchSiteLen = 7
	// unpatchableCap bounds the sites remembered as not patchable, and
	// seenCap those that trapped once.
	unpatchableCap = 256
	seenCap        = 1024
)

// TrapTableAddr and TrapEntrySize are the trap table's layout, for code
// that patches a site of its own without a MemoryManager (the platform
// probe's loop).
const (
	TrapTableAddr = trapTableAddr
	TrapEntrySize = trapEntrySize
)

// sysRtSigreturn is never patched: the sentry restores the whole register
// and floating-point state on it, which the platform's fast path does not
// carry, so it would cost a second round trip.
const sysRtSigreturn = 15

// neverPatched reports whether sites of system call sysno stay unpatched:
// rt_sigreturn, and the calls whose every run needs the task's
// floating-point state, which a thread that came through the fast path
// holds live in the CPU and hands over only after a second round trip (a
// trap into its signal handler): clone, fork, vfork and clone3 copy it to
// the child, execve and execveat reset it. The slow trap's signal frame
// carries it at no extra cost.
func neverPatched(sysno uint64) bool {
	switch sysno {
	case sysRtSigreturn, unix.SYS_CLONE, unix.SYS_FORK, unix.SYS_VFORK, unix.SYS_CLONE3, unix.SYS_EXECVE, unix.SYS_EXECVEAT:
		return true
	}
	return false
}

// sysRestartSyscall is restart_syscall(2), which the kernel puts in RAX when
// it restarts an interrupted call that must continue where it stopped.
const sysRestartSyscall = 219

// siteForm is an instruction sequence ending in `syscall` that leaves the
// system call number in RAX, and how it is patched.
type siteForm struct {
	name string
	// code is the sequence, matched exactly but for the bytes wild
	// marks (a displacement): long enough that it is found only where
	// the compiler or assembler emitted it.
	code []byte
	wild []int
	// patchLen is how many of its last bytes the patch replaces: the
	// 7-byte jump, then invalid bytes, then the last byte of `syscall`.
	patchLen int
	// stops are the offsets in the patch, other than 0, where an
	// instruction of the old code starts; the last one is `syscall`.
	// What a SIGILL there means depends on the offset alone (stopCall).
	stops []int
	// prologue, when set, returns the position-independent code that
	// does what the replaced instructions did, for the form matched at
	// start; by default they are copied as they are.
	prologue func(start uint64, code []byte) []byte
}

// stopCall tells, for the offset of a stop in a run-time-number site's
// patch, whether a SIGILL there makes the call (the old `syscall`) or runs
// the jump again (an earlier instruction). TestSiteForms checks every
// form against it, so that the jump alone says what to do. (A SIGILL on a
// jump's first byte came while the jump was being written; the thread runs
// it, whatever the form.)
var stopCall = map[uint64]bool{3: false, 4: false, 5: true, 6: true, 7: false, 9: false, 11: true}

// siteForms are the run-time-number sites patched.
var siteForms = []siteForm{{
	// internal/runtime/syscall/linux.Syscall6: mov %rsi,%r10; mov
	// %rdi,%rdx; mov %rcx,%rsi; mov %rbx,%rdi; syscall.
	name:     "go",
	code:     []byte{0x49, 0x89, 0xf2, 0x48, 0x89, 0xfa, 0x48, 0x89, 0xce, 0x48, 0x89, 0xdf, 0x0f, 0x05},
	patchLen: 8,
	stops:    []int{3, 6},
}, {
	// glibc's syscall(3): mov %rdi,%rax; mov %rsi,%rdi; mov %rdx,%rsi;
	// mov %rcx,%rdx; mov %r8,%r10; mov %r9,%r8; mov 0x8(%rsp),%r9;
	// syscall.
	name: "glibc",
	code: []byte{0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6, 0x48, 0x89, 0xca,
		0x4d, 0x89, 0xc2, 0x4d, 0x89, 0xc8, 0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05},
	patchLen: 7,
	stops:    []int{5},
}, {
	// glibc's read(2) once the process has threads: ...; mov
	// 0x10(%rsp),%rsi; mov %eax,%r8d; mov 0x8(%rsp),%edi; xor
	// %eax,%eax; syscall. read is the one call compilers number with
	// `xor`, not `mov $nr`.
	name:     "glibc-read",
	code:     []byte{0x48, 0x8b, 0x74, 0x24, 0x10, 0x41, 0x89, 0xc0, 0x8b, 0x7c, 0x24, 0x08, 0x31, 0xc0, 0x0f, 0x05},
	patchLen: 8,
	stops:    []int{4, 6},
}, {
	// glibc's internal open (__open64_nocancel, which the C library
	// uses for its own files): mov %esi,%edx; mov $257,%eax; mov
	// %rdi,%rsi; mov $AT_FDCWD,%edi; syscall.
	name:     "glibc-open",
	code:     []byte{0x89, 0xf2, 0xb8, 0x01, 0x01, 0x00, 0x00, 0x48, 0x89, 0xfe, 0xbf, 0x9c, 0xff, 0xff, 0xff, 0x0f, 0x05},
	patchLen: 7,
	stops:    []int{5},
}, {
	// glibc's read(2) in a single-threaded process, the whole function
	// up to the call: cmpb $0,__libc_single_threaded(%rip); je
	// cancellable; xor %eax,%eax; syscall.
	name:     "glibc-read-single",
	code:     []byte{0x80, 0x3d, 0, 0, 0, 0, 0x00, 0x74, 0, 0x31, 0xc0, 0x0f, 0x05},
	wild:     []int{2, 3, 4, 5, 8},
	patchLen: 13,
	stops:    []int{7, 9, 11},
	prologue: singleThreadedReadPrologue,
}}

// singleThreadedReadPrologue is the single-threaded read's test, with its
// addresses made absolute (R11 is free: a call clobbers it, and so does
// `syscall`):
//
//	movabs $flag,%r11
//	cmpb $0,(%r11)
//	jne 1f
//	movabs $cancellable,%r11
//	jmp *%r11
//	1: xor %eax,%eax
func singleThreadedReadPrologue(start uint64, code []byte) []byte {
	flag := start + 7 + uint64(int64(int32(binary.LittleEndian.Uint32(code[2:6]))))
	cancellable := start + 9 + uint64(int64(int8(code[8])))
	p := []byte{0x49, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0x80, 0x3b, 0x00, 0x75, 13,
		0x49, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0xff, 0xe3, 0x31, 0xc0}
	binary.LittleEndian.PutUint64(p[2:], flag)
	binary.LittleEndian.PutUint64(p[18:], cancellable)
	return p
}

// raxBlock reports whether the 256-byte block b of the table belongs to
// run-time-number sites: those whose index is an invalid opcode, so that
// byte 1 of their slots' addresses is one too (the read forms stop
// there).
func raxBlock(b int) bool { return invalidOpcode(byte(b)) }

// raxBlockList are the blocks raxBlock admits, in order.
var raxBlockList = func() []int {
	var l []int
	for b := 1; b < raxBlocks; b++ {
		if raxBlock(b) {
			l = append(l, b)
		}
	}
	return l
}()

// patchState is the system-call patching state of an address space,
// protected by MemoryManager.mu.
type patchState struct {
	// table is the trap table's address, 0 while there is none (or after
	// the application unmapped or replaced it).
	table uint64
	// next is the next free entry for a fixed-number site (entries of
	// run-time-number blocks are skipped); raxUsed is how many of
	// raxBlockList run-time-number sites took.
	next, raxUsed int
	// disabled is set when the table's place was taken by the
	// application, or the platform refused a trampoline.
	disabled bool
	// unpatchable remembers sites that do not have the patchable form,
	// so each is checked once.
	unpatchable map[uint64]struct{}
	// seen holds the sites that trapped once: a site is patched when it
	// traps a second time, so start-up code that runs once (most of a
	// short-lived process's calls) costs no page copies.
	seen map[uint64]struct{}
	// sites holds what each patch replaced, by the address of its jump,
	// to undo the patches if the table goes away.
	sites map[uint64][]byte
}

// clone returns the state of a forked copy of the address space, which
// holds the same patched code and table.
func (ps *patchState) clone() patchState {
	// The original bytes are never changed once recorded: sharing
	// them is safe.
	return patchState{table: ps.table, next: ps.next, raxUsed: ps.raxUsed, disabled: ps.disabled, sites: maps.Clone(ps.sites)}
}

// PatchSyscall patches the system-call site that returns to ret, where the
// task just made system call sysno, when it has one of the patchable forms
// in a private executable mapping and the platform can run patched sites.
// It reports whether it patched. Failure to patch is never an error: the
// site keeps trapping the slow way.
//
// The trap counts in the address space mm was forked from as well, which
// patches its own copy of the site by the same rule. A server that forks a
// child per request never runs the child's code itself, and each child
// runs it once or twice: patching the child alone paid a page copy for
// sites it then hardly used, and the next child trapped at all of them
// again (busybox httpd: 13 slow traps per request). Patched in the
// parent, the sites are fast in every later child. The patch does what
// the site did, so the parent's program cannot tell.
func (mm *MemoryManager) PatchSyscall(ret uint64, sysno uint64) bool {
	if neverPatched(sysno) || ret < patchSiteLen {
		return false
	}
	mm.mu.Lock()
	patched := mm.patchSyscallLocked(ret, sysno)
	parent := mm.forkedFrom
	mm.mu.Unlock()
	if parent != nil {
		parent.mu.Lock()
		parent.patchSyscallLocked(ret, sysno)
		parent.mu.Unlock()
	}
	return patched
}

// patchSyscallLocked is PatchSyscall for mm alone.
func (mm *MemoryManager) patchSyscallLocked(ret uint64, sysno uint64) bool {
	patcher, ok := mm.as.(platform.SyscallPatcher)
	if !ok || mm.released {
		return false
	}
	ps := &mm.patch
	if ps.disabled {
		return false
	}
	if _, bad := ps.unpatchable[ret]; bad {
		return false
	}
	if _, again := ps.seen[ret]; !again {
		if ps.seen == nil || len(ps.seen) >= seenCap {
			ps.seen = make(map[uint64]struct{})
		}
		ps.seen[ret] = struct{}{}
		return false
	}
	delete(ps.seen, ret)
	var form *siteForm
	if !mm.patchableSiteLocked(ret-patchSiteLen, sysno) {
		if form = mm.siteFormLocked(ret); form == nil {
			if ps.unpatchable == nil || len(ps.unpatchable) >= unpatchableCap {
				ps.unpatchable = make(map[uint64]struct{})
			}
			ps.unpatchable[ret] = struct{}{}
			return false
		}
	}
	if ps.table == 0 && !mm.mapTrapTableLocked(patcher) {
		return false
	}
	n := patchSiteLen
	if form != nil {
		n = form.patchLen
	}
	site := ret - uint64(n)
	var slot uint64
	if form == nil {
		for ps.next < trapEntries && raxBlock(ps.next*trapEntrySize/raxBlockSize) {
			ps.next++
		}
		if ps.next >= trapEntries {
			return false
		}
		entry := ps.table + uint64(ps.next)*trapEntrySize
		if !mm.writeTrampolineLocked(entry, patcher.SyscallTrampoline(entry+8, ret, uint32(sysno))) {
			return false
		}
		ps.next++
		slot = entry
	} else {
		if ps.raxUsed >= len(raxBlockList) {
			return false
		}
		block := ps.table + uint64(raxBlockList[len(raxBlockList)-1-ps.raxUsed])*raxBlockSize
		ps.raxUsed++
		entry, second := block+trapEntrySize, block+2*trapEntrySize
		var code []byte
		if form.prologue == nil {
			code = patcher.SyscallTrampolineRAX(entry+8, ret, form.code[len(form.code)-n:len(form.code)-2])
		} else {
			// A long prologue ends with a jump to the entering code in
			// the block's next entry, placed at offset 8 of it: the
			// stub publishes a kick there, and the task's registers
			// are all the application's at that point.
			start := ret - uint64(len(form.code))
			orig := make([]byte, len(form.code))
			if !mm.readLocked(start, orig) {
				return false
			}
			code = form.prologue(start, orig)
			code = append(code, 0xeb, byte(second+8-(entry+8+uint64(len(code))+2)))
			if !mm.writeTrampolineLocked(second, patcher.SyscallTrampolineRAX(second+8, ret, nil)) {
				return false
			}
		}
		if !mm.writeTrampolineLocked(entry, code) {
			return false
		}
		var p [8]byte
		binary.LittleEndian.PutUint64(p[:], entry+8)
		slot = block + raxSlotOffset
		if !mm.forceWriteLocked(slot, p[:]) {
			return false
		}
	}

	orig := make([]byte, n)
	if !mm.readLocked(site, orig) {
		return false
	}
	jump := make([]byte, n)
	copy(jump, orig)
	jump[0], jump[1], jump[2] = 0xff, 0x24, 0x25
	binary.LittleEndian.PutUint32(jump[3:], uint32(slot))
	for i := 7; i < n-1; i++ {
		jump[i] = 0x06
	}
	stops := []int{5}
	if form != nil {
		stops = form.stops
	}
	for _, at := range stops {
		if !invalidOpcode(jump[at]) {
			// The table's layout rules this out (TestTrapSlotsTrap).
			ps.disabled = true
			return false
		}
	}
	if ps.sites == nil {
		ps.sites = make(map[uint64][]byte)
	}
	ps.sites[site] = orig
	written := true
	for _, w := range patchWrites(jump, stops) {
		written = written && mm.forceWriteLocked(site+uint64(w.at), w.b)
	}
	if !written {
		// A site left half written would trap for good: put back what
		// the writes that went through changed.
		mm.forceWriteLocked(site, orig)
		delete(ps.sites, site)
		return false
	}
	return true
}

// patchWrite is one write of a patch: b at offset at of the site.
type patchWrite struct {
	at int
	b  []byte
}

// patchWrites returns the writes that turn a site into jump, in order.
// Another thread may run the site meanwhile, so at every moment each
// instruction start of it (offset 0 and stops) must hold its old
// instruction whole, or trap: invalid bytes on the later boundaries first,
// then an invalid byte over the first instruction's opcode, then the rest
// of the jump, then its opcode. (The rest of the jump behind the old
// opcode would decode as another instruction: `and` to memory, `mov` to
// RSP.) A thread that traps on the first byte waits in PatchedSiteFault
// for mm.mu, and runs the whole jump. TestPatchWritesKeepInstructions
// checks this for every form.
func patchWrites(jump []byte, stops []int) []patchWrite {
	var ws []patchWrite
	for _, at := range stops {
		ws = append(ws, patchWrite{at, jump[at : at+1]})
	}
	return append(ws, patchWrite{0, []byte{0x06}}, patchWrite{1, jump[1:]}, patchWrite{0, jump[:1]})
}

// invalidOpcode reports whether b, as the first byte of an instruction,
// raises #UD in 64-bit mode whatever follows.
func invalidOpcode(b byte) bool {
	switch b {
	case 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0xd4, 0xd5, 0xd6:
		return true
	}
	return false
}

// writeTrampolineLocked writes a table entry at entry: its own code
// address, then code. It fails when there is no code (the platform does
// not patch, which turns patching off) or it does not fit.
func (mm *MemoryManager) writeTrampolineLocked(entry uint64, code []byte) bool {
	if code == nil || 8+len(code) > trapEntrySize {
		mm.patch.disabled = true
		return false
	}
	buf := make([]byte, 8+len(code))
	binary.LittleEndian.PutUint64(buf, entry+8)
	copy(buf[8:], code)
	return mm.forceWriteLocked(entry, buf)
}

// patchableSiteLocked reports whether the 7 bytes at site are `mov
// $sysno,%eax; syscall` in one private, executable mapping.
func (mm *MemoryManager) patchableSiteLocked(site, sysno uint64) bool {
	if !mm.privateCodeLocked(site, patchSiteLen) {
		return false
	}
	var code [patchSiteLen]byte
	if !mm.readLocked(site, code[:]) {
		return false
	}
	return code[0] == 0xb8 && uint64(binary.LittleEndian.Uint32(code[1:5])) == sysno &&
		code[5] == 0x0f && code[6] == 0x05
}

// siteFormLocked returns the run-time-number form the code ending at ret
// has, in one private, executable mapping, or nil.
func (mm *MemoryManager) siteFormLocked(ret uint64) *siteForm {
	for i := range siteForms {
		f := &siteForms[i]
		n := uint64(len(f.code))
		if ret < n || !mm.privateCodeLocked(ret-n, n) {
			continue
		}
		code := make([]byte, n)
		if !mm.readLocked(ret-n, code) {
			continue
		}
		for _, i := range f.wild {
			code[i] = f.code[i]
		}
		if bytes.Equal(code, f.code) {
			return f
		}
	}
	return nil
}

// privateCodeLocked reports whether [addr, addr+n) lies in one private,
// executable mapping.
func (mm *MemoryManager) privateCodeLocked(addr, n uint64) bool {
	v := mm.vmaAtLocked(addr)
	return v != nil && v.private && v.perms&platform.Execute != 0 && addr+n <= v.end
}

// mapTrapTableLocked maps the trap table, unless the application has a
// mapping in its place, in which case patching stays off for the address
// space.
func (mm *MemoryManager) mapTrapTableLocked(patcher platform.SyscallPatcher) bool {
	if trapTableAddr+trapTableSize > mm.maxAddr || mm.overlapsLocked(trapTableAddr, trapTableAddr+trapTableSize) {
		mm.patch.disabled = true
		return false
	}
	mm.insertLocked(&vma{
		start:    trapTableAddr,
		end:      trapTableAddr + trapTableSize,
		perms:    platform.Read | platform.Execute,
		maxPerms: platform.Read | platform.Write | platform.Execute,
		private:  true,
		name:     trapTableName,
	})
	mm.patch.table, mm.patch.next, mm.patch.raxUsed = trapTableAddr, 1, 0
	patcher.SetTrapTable(trapTableAddr)
	return true
}

// trapTableGoneLocked notes that [start, end) was unmapped or replaced: a
// trap table there is no longer the sentry's, and patching stops.
func (mm *MemoryManager) trapTableGoneLocked(start, end uint64) {
	ps := &mm.patch
	if ps.table == 0 || end <= ps.table || start >= ps.table+trapTableSize {
		return
	}
	ps.table, ps.disabled = 0, true
	if patcher, ok := mm.as.(platform.SyscallPatcher); ok {
		patcher.SetTrapTable(0)
	}
	// The application mapped over the table, which Linux programs
	// know nothing about: put the sites that jump into it back as they
	// were (those still mapped privately).
	for site, orig := range ps.sites {
		cur := make([]byte, len(orig))
		if mm.readLocked(site, cur) && cur[0] == 0xff && cur[1] == 0x24 && cur[2] == 0x25 {
			mm.forceWriteLocked(site, orig)
		}
	}
	ps.sites = nil
}

// PatchedSiteFault is called for a SIGILL at rip. When rip is an invalid
// byte of a patched site, it updates regs so that the task makes the
// site's system call and returns (true, true) if the platform should treat
// the trap as that system call now, or (false, true) if the task should
// simply run the site's jump again; otherwise (false, false): the SIGILL
// is the task's.
//
// The jump itself says what the site was, so a site that moved with its
// mapping (mremap) is still recognised: a slot at the start of an entry
// is a fixed-number site's, whose only stop is 5 bytes in; a slot at
// offset 6 of a block is a run-time-number site's, and the stop's offset
// tells the form (3 or 6: Go's; 5: glibc's).
func (mm *MemoryManager) PatchedSiteFault(regs *arch.Registers) (syscall, handled bool) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.patch.table == 0 {
		return false, false
	}
	for _, back := range []uint64{0, 3, 4, 5, 6, 7, 9, 11} {
		if regs.Rip < back {
			continue
		}
		site := regs.Rip - back
		rax, ok := mm.jumpAtLocked(site)
		if !ok {
			continue
		}
		call := false
		switch {
		case back == 0:
			// The first byte, which was invalid while the jump was
			// being written: it is whole now.
		case !rax && back == 5:
			// Where `syscall` was: the kernel rewound a restarted
			// call onto it, or a thread ran the old `mov` before
			// the patch. Running the jump again makes the site's
			// call; restart_syscall, whose number is in RAX, is
			// made here.
			call = regs.Rax == sysRestartSyscall
		case rax:
			// Where `syscall` was, the call is made here: its
			// arguments are in place, and running the replaced
			// instructions again would read RCX, which a call that
			// is being restarted clobbered. Where an earlier
			// instruction was, a thread ran part of the replaced
			// ones, which only test memory and copy registers the
			// call has not touched yet: running them all again
			// through the jump is the same.
			call = stopCall[back]
		default:
			continue
		}
		if !call {
			regs.Rip = site
			return false, true
		}
		regs.Orig_rax = regs.Rax
		regs.Rip += 2
		return true, true
	}
	return false, false
}

// jumpAtLocked reports whether site holds a jump through a slot of the
// trap table that leads into the table, and whether the slot is a
// run-time-number site's.
func (mm *MemoryManager) jumpAtLocked(site uint64) (rax, ok bool) {
	table := mm.patch.table
	var code [7]byte
	if !mm.readLocked(site, code[:]) || code[0] != 0xff || code[1] != 0x24 || code[2] != 0x25 {
		return false, false
	}
	slot := uint64(binary.LittleEndian.Uint32(code[3:]))
	if slot < table+trapEntrySize || slot+8 > table+trapTableSize {
		return false, false
	}
	switch {
	case (slot-table)%trapEntrySize == 0:
	case (slot-table)%raxBlockSize == raxSlotOffset:
		rax = true
	default:
		return false, false
	}
	var target [8]byte
	if !mm.readLocked(slot, target[:]) {
		return false, false
	}
	t := binary.LittleEndian.Uint64(target[:])
	return rax, t >= table && t < table+trapTableSize
}

// readLocked copies application memory at addr into dst without populating
// anything, reporting whether all of it was readable.
func (mm *MemoryManager) readLocked(addr uint64, dst []byte) bool {
	for done := 0; done < len(dst); {
		a := addr + uint64(done)
		pg, err := mm.translateLocked(a, platform.Read)
		if err != nil {
			return false
		}
		done += copy(dst[done:], pg[a%pageSize:])
	}
	return true
}

// forceWriteLocked writes src at addr whatever the mapping's permissions,
// as a debugger's write to program text does: a private page gets its own
// copy first. Only private mappings are written.
func (mm *MemoryManager) forceWriteLocked(addr uint64, src []byte) bool {
	for done := 0; done < len(src); {
		a := addr + uint64(done)
		v := mm.vmaAtLocked(a)
		if v == nil || !v.private {
			return false
		}
		pageAddr := arch.PageRoundDown(a)
		p, ok := mm.pages.lookup(pageAddr)
		if !ok {
			if signo, _, err := mm.populateLocked(v, a); err != nil || signo != 0 {
				return false
			}
			p = mm.pages.get(pageAddr)
		}
		if !p.writable {
			if err := mm.breakCOWLocked(v, pageAddr, p); err != nil {
				return false
			}
		}
		pg := mm.mf.Slice(memfile.Range{Start: p.page.off, End: p.page.off + pageSize})
		done += copy(pg[a%pageSize:], src[done:])
	}
	return true
}
