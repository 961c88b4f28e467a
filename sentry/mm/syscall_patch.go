package mm

import (
	"encoding/binary"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// System-call patching. On a platform whose traps are expensive (systrap: a
// host signal and a sigreturn per call), the sentry rewrites the most common
// system-call site of x86-64 code, `mov $nr,%eax; syscall` (7 bytes), into
// `jmp *abs32` (7 bytes), an indirect jump through an entry of a trap table
// mapped below 2 GiB. Each entry holds its own code address followed by a
// trampoline the platform writes (platform.SyscallPatcher), which knows the
// site's system call number and return address and enters the platform's
// hand-off without a host signal.
//
// The table lives at an address whose third byte is 0x06, so the byte that
// replaces the first byte of `syscall` (offset 5 of the site) is 0x06, an
// invalid instruction in 64-bit mode. A thread that executed the old `mov`
// before the patch, or whose system call the kernel restarts by moving its
// instruction pointer back two bytes, executes it and traps with SIGILL;
// PatchedSiteFault turns that into the system call the site makes.
const (
	// trapTableAddr is where the table is mapped; byte 2 of every
	// address in it is 0x06.
	trapTableAddr = 0x60000
	trapTableSize = 0x10000
	// trapEntrySize is the size of one entry: 8 bytes of code address
	// and the trampoline. Entry 0 is the table's header.
	trapEntrySize = 64
	trapEntries   = trapTableSize / trapEntrySize
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

// sysRestartSyscall is restart_syscall(2), which the kernel puts in RAX when
// it restarts an interrupted call that must continue where it stopped.
const sysRestartSyscall = 219

// patchState is the system-call patching state of an address space,
// protected by MemoryManager.mu.
type patchState struct {
	// table is the trap table's address, 0 while there is none (or after
	// the application unmapped or replaced it).
	table uint64
	// next is the next free entry.
	next int
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
	// sites maps each patched site to its system call number, to undo
	// the patches if the table goes away.
	sites map[uint64]uint32
}

// PatchSyscall patches the system-call site that returns to ret, where the
// task just made system call sysno, when it has the form `mov $sysno,%eax;
// syscall` in a private executable mapping and the platform can run
// patched sites. It reports whether it patched. Failure to patch is never
// an error: the site keeps trapping the slow way.
func (mm *MemoryManager) PatchSyscall(ret uint64, sysno uint64) bool {
	patcher, ok := mm.as.(platform.SyscallPatcher)
	if !ok || sysno == sysRtSigreturn || ret < patchSiteLen {
		return false
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
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
	site := ret - patchSiteLen
	if !mm.patchableSiteLocked(site, sysno) {
		if ps.unpatchable == nil || len(ps.unpatchable) >= unpatchableCap {
			ps.unpatchable = make(map[uint64]struct{})
		}
		ps.unpatchable[ret] = struct{}{}
		return false
	}
	if ps.table == 0 && !mm.mapTrapTableLocked(patcher) {
		return false
	}
	if ps.next >= trapEntries {
		return false
	}
	entry := ps.table + uint64(ps.next)*trapEntrySize
	code := patcher.SyscallTrampoline(entry+8, ret, uint32(sysno))
	if code == nil || 8+len(code) > trapEntrySize {
		ps.disabled = true
		return false
	}
	buf := make([]byte, 8+len(code))
	binary.LittleEndian.PutUint64(buf, entry+8)
	copy(buf[8:], code)
	if !mm.forceWriteLocked(entry, buf) {
		return false
	}
	ps.next++

	// Other threads may be running the site: write it so that at every
	// moment they read either the old instructions, or a `mov` followed
	// by the invalid 0x06, or the whole jump. First the invalid byte
	// over `syscall`, then everything but the opcode of `mov`, then
	// the opcode of the jump.
	jump := [patchSiteLen]byte{0xff, 0x24, 0x25}
	binary.LittleEndian.PutUint32(jump[3:], uint32(entry))
	if ps.sites == nil {
		ps.sites = make(map[uint64]uint32)
	}
	ps.sites[site] = uint32(sysno)
	if !mm.forceWriteLocked(site+5, jump[5:6]) ||
		!mm.forceWriteLocked(site+1, jump[1:]) ||
		!mm.forceWriteLocked(site, jump[:1]) {
		return false
	}
	return true
}

// patchableSiteLocked reports whether the 7 bytes at site are `mov
// $sysno,%eax; syscall` in one private, executable mapping.
func (mm *MemoryManager) patchableSiteLocked(site, sysno uint64) bool {
	v := mm.vmaAtLocked(site)
	if v == nil || !v.private || v.perms&platform.Execute == 0 || site+patchSiteLen > v.end {
		return false
	}
	var code [patchSiteLen]byte
	if !mm.readLocked(site, code[:]) {
		return false
	}
	return code[0] == 0xb8 && uint64(binary.LittleEndian.Uint32(code[1:5])) == sysno &&
		code[5] == 0x0f && code[6] == 0x05
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
	mm.patch.table, mm.patch.next = trapTableAddr, 1
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
	for site, sysno := range ps.sites {
		orig := [patchSiteLen]byte{0xb8, 0, 0, 0, 0, 0x0f, 0x05}
		binary.LittleEndian.PutUint32(orig[1:], sysno)
		var cur [patchSiteLen]byte
		if mm.readLocked(site, cur[:]) && cur[0] == 0xff && cur[1] == 0x24 && cur[2] == 0x25 {
			mm.forceWriteLocked(site, orig[:])
		}
	}
	ps.sites = nil
}

// PatchedSiteFault is called for a SIGILL at rip. When rip is the invalid
// byte of a patched site, it updates regs so that the task makes the
// site's system call and returns (true, true) if the platform should treat
// the trap as that system call now, or (false, true) if the task should
// simply run the site's jump again; otherwise (false, false): the SIGILL
// is the task's.
func (mm *MemoryManager) PatchedSiteFault(regs *arch.Registers) (syscall, handled bool) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	ps := &mm.patch
	if ps.table == 0 || regs.Rip < 5 {
		return false, false
	}
	site := regs.Rip - 5
	var code [patchSiteLen]byte
	if !mm.readLocked(site, code[:]) || code[0] != 0xff || code[1] != 0x24 || code[2] != 0x25 {
		return false, false
	}
	entry := uint64(binary.LittleEndian.Uint32(code[3:]))
	if entry < ps.table+trapEntrySize || entry >= ps.table+trapTableSize || entry%trapEntrySize != 0 {
		return false, false
	}
	var ep [8]byte
	if !mm.readLocked(entry, ep[:]) || binary.LittleEndian.Uint64(ep[:]) != entry+8 {
		return false, false
	}
	// The kernel rewound restart_syscall onto the site: the call to make
	// is in RAX, not the site's. Any other way here (a restarted call,
	// a thread that ran the old `mov` before the patch, or read it half
	// written) runs the jump, which makes the site's call.
	if regs.Rax == sysRestartSyscall {
		regs.Orig_rax = regs.Rax
		regs.Rip += 2
		return true, true
	}
	regs.Rip = site
	return false, true
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
		p, ok := mm.pages[pageAddr]
		if !ok {
			if signo, _, err := mm.populateLocked(v, a); err != nil || signo != 0 {
				return false
			}
			p = mm.pages[pageAddr]
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
