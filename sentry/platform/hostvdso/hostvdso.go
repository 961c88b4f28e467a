// Package hostvdso keeps the host kernel's vDSO in the stub processes of
// the ptrace and systrap platforms, at one fixed address above the
// application's range, so that the sentry's own vDSO (sentry/vdso) can
// forward clock reads to it: application code runs natively in those host
// processes, and the host's vDSO functions read the host's clocks, which
// are the sandbox's clocks, without a system call.
//
// The host maps the vDSO ([vdso]) and its data pages ([vvar], and since
// Linux 6.13 [vvar_vclock]) as one block at a random address of the stub,
// where it could collide with application mappings. The block is moved
// with mremap(2), which Linux allows for these special mappings (x86's
// vdso_mremap updates the process's vDSO pointer; the data pages only need
// to keep their place relative to the code, which reaches them
// RIP-relative). Each VMA moves whole: special mappings cannot be split.
// Stub processes made later by fork(2) inherit the block at its new place.
//
// A system call the host vDSO makes itself (its fallback when the host's
// clock source cannot be read from user space, or for clocks it does not
// handle) comes from application code and is trapped like any other
// (PTRACE_SYSEMU, or systrap's seccomp filter): the sentry serves it.
//
// What the application can read this way is what every host process can:
// the host's timekeeping data (the clocks the sentry reports anyway, the
// clock source's parameters) and, on Linux 6.11+, the vDSO getrandom
// generation counter; none of it is the sentry's or another pod's.
//
// A host that seals its system mappings (Linux 6.15+ built with
// CONFIG_MSEAL_SYSTEM_MAPPINGS) refuses the move with EPERM: Relocate then
// fails, and the platform offers no host vDSO.
package hostvdso

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// mapping is one line of /proc/[pid]/maps.
type mapping struct {
	start, end uint64
	name       string
}

// Injector runs a system call in the stopped stub (a platform's injected
// syscall helper).
type Injector func(nr uintptr, args ...uintptr) (uintptr, error)

// Relocate moves the host vDSO block of stub process pid to dst, which must
// leave it below limit, and returns where its functions are then. It must
// run on the thread that traces pid (the vDSO image is read with
// PTRACE_PEEKDATA), before anything but the stub's own image, its stack and
// the vDSO block is mapped in the stub. On error nothing was moved unless
// the error says so; the stub keeps working either way, and the caller
// offers no host vDSO.
func Relocate(pid int, inject Injector, dst, limit uint64) (platform.HostVDSO, error) {
	maps, err := readMaps(pid)
	if err != nil {
		return platform.HostVDSO{}, err
	}
	block, vdso, err := findBlock(maps)
	if err != nil {
		return platform.HostVDSO{}, err
	}
	lo, hi := block[0].start, block[len(block)-1].end
	if dst%4096 != 0 || hi-lo > limit-dst || dst > limit {
		return platform.HostVDSO{}, fmt.Errorf("hostvdso: the host's vDSO block (%#x bytes) does not fit at %#x", hi-lo, dst)
	}
	if lo < dst+(hi-lo) && dst < hi {
		// mremap cannot move a range onto itself; the odds are about
		// one in a million (the block lands in a 1 MiB window of the
		// host's 1 TiB mmap randomisation).
		return platform.HostVDSO{}, fmt.Errorf("hostvdso: the host's vDSO is already at %#x, over its destination", lo)
	}
	for _, m := range maps {
		if m.start < dst+(hi-lo) && dst < m.end {
			return platform.HostVDSO{}, fmt.Errorf("hostvdso: %#x-%#x %s is in the way at %#x", m.start, m.end, m.name, dst)
		}
	}

	img := make([]byte, vdso.end-vdso.start)
	if _, err := unix.PtracePeekData(pid, uintptr(vdso.start), img); err != nil {
		return platform.HostVDSO{}, fmt.Errorf("hostvdso: reading the host's vDSO: %w", err)
	}
	syms, err := Symbols(img)
	if err != nil {
		return platform.HostVDSO{}, err
	}

	for i, m := range block {
		to := dst + (m.start - lo)
		got, err := inject(unix.SYS_MREMAP, uintptr(m.start), uintptr(m.end-m.start), uintptr(m.end-m.start),
			unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, uintptr(to))
		if err == nil && uint64(got) != to {
			err = fmt.Errorf("moved to %#x", got)
		}
		if err != nil {
			return platform.HostVDSO{}, fmt.Errorf("hostvdso: moving %s (%d of %d moved): %w", m.name, i, len(block), err)
		}
	}
	base := dst + (vdso.start - lo)
	at := func(off uint64) uint64 {
		if off == 0 {
			return 0
		}
		return base + off
	}
	return platform.HostVDSO{
		ClockGettime: at(syms.ClockGettime),
		Gettimeofday: at(syms.Gettimeofday),
		Time:         at(syms.Time),
		ClockGetres:  at(syms.ClockGetres),
	}, nil
}

// Kept is what a platform kept of the host's vDSO in its stubs: the
// functions, or why there are none.
type Kept struct {
	fns platform.HostVDSO
	ok  bool
	err error
}

// Keep relocates the host vDSO of process pid as Relocate does and
// records the outcome.
func Keep(pid int, inject Injector, dst, limit uint64) Kept {
	fns, err := Relocate(pid, inject, dst, limit)
	if err != nil {
		return Kept{err: err}
	}
	return Kept{fns: fns, ok: true}
}

// Functions returns the kept functions; false when there are none.
func (k Kept) Functions() (platform.HostVDSO, bool) { return k.fns, k.ok }

// Err says why there are none (nil when there are, or nothing was tried).
func (k Kept) Err() error { return k.err }

// readMaps parses /proc/pid/maps. The stub is the sentry's child, traced
// by it, so the sentry may read it; this runs once, when the platform
// starts, before the sentry is confined.
func readMaps(pid int) ([]mapping, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil, fmt.Errorf("hostvdso: %w", err)
	}
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		r := strings.SplitN(f[0], "-", 2)
		if len(r) != 2 {
			return nil, fmt.Errorf("hostvdso: bad maps line %q", sc.Text())
		}
		start, err1 := strconv.ParseUint(r[0], 16, 64)
		end, err2 := strconv.ParseUint(r[1], 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("hostvdso: bad maps line %q", sc.Text())
		}
		m := mapping{start: start, end: end}
		if len(f) >= 6 {
			m.name = f[5]
		}
		out = append(out, m)
	}
	return out, nil
}

// findBlock returns the [vdso] mapping and the data mappings ([vvar...])
// directly below it, in address order, and the [vdso] itself. The block
// must be contiguous: x86-64 Linux maps the data pages right below the
// code.
func findBlock(maps []mapping) ([]mapping, mapping, error) {
	idx := -1
	for i, m := range maps {
		if m.name == "[vdso]" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, mapping{}, fmt.Errorf("hostvdso: the host maps no vDSO")
	}
	first := idx
	for first > 0 && strings.HasPrefix(maps[first-1].name, "[vvar") && maps[first-1].end == maps[first].start {
		first--
	}
	for i := idx + 1; i < len(maps) && maps[i].start == maps[i-1].end; i++ {
		if strings.HasPrefix(maps[i].name, "[vvar") {
			// Data pages above the code: a layout this package does
			// not know.
			return nil, mapping{}, fmt.Errorf("hostvdso: unexpected %s above the vDSO", maps[i].name)
		}
	}
	return maps[first : idx+1], maps[idx], nil
}

// Offsets are the offsets of the host vDSO's functions from its ELF header;
// 0 for a function the image does not export.
type Offsets struct {
	ClockGettime, Gettimeofday, Time, ClockGetres uint64
}

// Symbols finds the functions in a vDSO image by their LINUX_2.6 names, as
// glibc and the Go runtime do.
func Symbols(img []byte) (Offsets, error) {
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		return Offsets{}, fmt.Errorf("hostvdso: parsing the host's vDSO: %w", err)
	}
	var base uint64
	found := false
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			base, found = p.Vaddr-p.Off, true
			break
		}
	}
	if !found {
		return Offsets{}, fmt.Errorf("hostvdso: the host's vDSO has no PT_LOAD")
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return Offsets{}, fmt.Errorf("hostvdso: the host's vDSO symbols: %w", err)
	}
	var o Offsets
	for _, s := range syms {
		if s.Version != "LINUX_2.6" || elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section == elf.SHN_UNDEF ||
			s.Value < base || s.Value-base >= uint64(len(img)) {
			continue
		}
		off := s.Value - base
		switch s.Name {
		case "__vdso_clock_gettime":
			o.ClockGettime = off
		case "__vdso_gettimeofday":
			o.Gettimeofday = off
		case "__vdso_time":
			o.Time = off
		case "__vdso_clock_getres":
			o.ClockGetres = off
		}
	}
	if o.ClockGettime == 0 {
		return Offsets{}, fmt.Errorf("hostvdso: the host's vDSO has no __vdso_clock_gettime")
	}
	return o, nil
}
