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
	return v, nil
}

func (v *VDSO) release(mf *memfile.File) {
	v.image.DecRef(mf)
	v.data.DecRef(mf)
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
