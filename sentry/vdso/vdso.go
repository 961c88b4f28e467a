package vdso

import (
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// BlockSize is the span of the two mappings: the data page, then the
// image.
const BlockSize = DataSize + ImageSize

// VDSO is a kernel's vDSO: the image and the data page, each held once in
// the memory file and mapped copy-on-write into every process, as Linux
// shares its vDSO pages. It lives as long as the kernel.
type VDSO struct {
	image *mm.SharedMemory
	data  *mm.SharedMemory
	// forwarding is set when the trampolines reach host functions.
	forwarding bool
	// clockSyscalls is the variant for processes in a time namespace
	// with offsets (ForTimeNamespace): the same image over a data page
	// whose clock_gettime makes the system call; v itself when v does
	// not forward. Immutable.
	clockSyscalls *VDSO
}

// New makes the vDSO in mf, forwarding clock reads to host (zero: every
// function makes the system call).
func New(mf *memfile.File, host platform.HostVDSO) (*VDSO, error) {
	v := &VDSO{
		image:      mm.NewSharedMemory(),
		data:       mm.NewSharedMemory(),
		forwarding: host.ClockGettime != 0,
	}
	if _, err := v.image.WriteAt(mf, Image(), 0); err != nil {
		v.release(mf)
		return nil, err
	}
	if _, err := v.data.WriteAt(mf, Data{Host: host}.page(), 0); err != nil {
		v.release(mf)
		return nil, err
	}
	v.clockSyscalls = v
	if v.forwarding {
		// The host's clock_gettime knows nothing of the sandbox's
		// time namespaces: a process in one with offsets asks the
		// sentry, which adds them (sentry/kernel timens.go). The
		// other functions read CLOCK_REALTIME, which no time
		// namespace offsets, and keep forwarding.
		sys := host
		sys.ClockGettime = 0
		cs := &VDSO{image: v.image, data: mm.NewSharedMemory()}
		if _, err := cs.data.WriteAt(mf, Data{Host: sys}.page(), 0); err != nil {
			cs.data.DecRef(mf)
			v.release(mf)
			return nil, err
		}
		cs.clockSyscalls = cs
		v.clockSyscalls = cs
	}
	return v, nil
}

func (v *VDSO) release(mf *memfile.File) {
	v.image.DecRef(mf)
	v.data.DecRef(mf)
}

// ForTimeNamespace returns the vDSO a process in a time namespace with
// nonzero offsets maps: its clock_gettime makes the system call, since
// the host's vDSO would read the host's clocks without the offsets.
// Giving each time namespace a data page with its offsets instead would
// need clock code in the image that adds them after the host's function
// returns; the system call is what Linux's own vDSO falls back to where
// it cannot read a clock, and a process in a time namespace with offsets
// is rare.
func (v *VDSO) ForTimeNamespace() *VDSO { return v.clockSyscalls }

// Remapper is an address space whose mappings can be listed and
// replaced; *mm.MemoryManager implements it.
type Remapper interface {
	Mapper
	VMAs(countPages bool) []mm.VMAInfo
}

// SwitchData maps v's data page over the [vvar] page of m, which a vDSO
// of the same kernel (v, or its ForTimeNamespace variant) mapped, as
// Linux's vdso_join_timens switches a process's vvar pages when it joins
// a time namespace. The [vdso] image must still be right above it, the
// place its code reads the page from; when it is not (the process
// unmapped or moved either), the process has no working vDSO to switch
// and nothing is done. m must be the caller's own address space or one
// that no task runs yet.
func (v *VDSO) SwitchData(m Remapper) error {
	vmas := m.VMAs(false)
	for i, vm := range vmas {
		if vm.Name != "[vvar]" || vm.End-vm.Start != DataSize || i+1 == len(vmas) {
			continue
		}
		if next := vmas[i+1]; next.Name != "[vdso]" || next.Start != vm.End {
			continue
		}
		_, err := m.MMap(mm.MMapOpts{
			Addr:     vm.Start,
			Length:   DataSize,
			Fixed:    true,
			Perms:    platform.Read,
			MaxPerms: platform.Read,
			Private:  true,
			Object:   v.data,
			Name:     "[vvar]",
		})
		return err
	}
	return nil
}

// Forwarding reports whether the vDSO's clock functions reach the host's
// vDSO (else they make system calls).
func (v *VDSO) Forwarding() bool { return v.forwarding }

// Mapper creates mappings; loader.Memory and *mm.MemoryManager implement
// it.
type Mapper interface {
	MMap(opts mm.MMapOpts) (uint64, error)
}

// Map maps the data page ([vvar], read-only for good) and right above it
// the image ([vdso], read and execute; mprotect may make it writable, and
// a write then gets a private copy, as on Linux) into m, at hint if the
// BlockSize bytes there are free, else wherever m puts a mapping without a
// hint. It returns the image's address, the auxiliary vector's
// AT_SYSINFO_EHDR.
func (v *VDSO) Map(m Mapper, hint uint64) (uint64, error) {
	// Reserve the block first, so the two mappings are adjacent.
	base, err := m.MMap(mm.MMapOpts{
		Addr:     hint,
		Length:   BlockSize,
		Private:  true,
		MaxPerms: platform.Read,
	})
	if err != nil {
		return 0, err
	}
	if _, err := m.MMap(mm.MMapOpts{
		Addr:     base,
		Length:   DataSize,
		Fixed:    true,
		Perms:    platform.Read,
		MaxPerms: platform.Read,
		Private:  true,
		Object:   v.data,
		Name:     "[vvar]",
	}); err != nil {
		return 0, err
	}
	if _, err := m.MMap(mm.MMapOpts{
		Addr:     base + DataSize,
		Length:   ImageSize,
		Fixed:    true,
		Perms:    platform.Read | platform.Execute,
		MaxPerms: platform.Read | platform.Write | platform.Execute,
		Private:  true,
		Object:   v.image,
		Name:     "[vdso]",
	}); err != nil {
		return 0, err
	}
	return base + DataSize, nil
}
