package kernel

import (
	"crypto/rand"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/loader"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// executable is an opened program file: the loader reads it and maps it.
type executable struct {
	file *vfs.File
	m    mm.Mappable
}

func (e *executable) ReadAt(p []byte, off int64) (int, error) { return e.m.ReadAt(p, off) }
func (e *executable) Size() (int64, error)                    { return e.m.Size() }

// IncRef and DecRef let mappings of the program keep it open.
func (e *executable) IncRef() { e.file.IncRef() }
func (e *executable) DecRef() { e.file.DecRef() }

// opener opens interpreters for the loader in the task's view and keeps
// them until the load is over; mappings hold their own references.
type opener struct {
	t      *Task
	opened []*executable
}

// OpenExecutable implements loader.Opener.
func (o *opener) OpenExecutable(path string) (loader.File, error) {
	e, err := o.t.openExecutable(path)
	if err != nil {
		return nil, err
	}
	o.opened = append(o.opened, e)
	return e, nil
}

func (o *opener) release() {
	for _, e := range o.opened {
		e.file.DecRef()
	}
}

// openExecutable opens path for execution with execve's checks: a regular
// file with an execute bit.
func (t *Task) openExecutable(path string) (*executable, error) {
	d, err := vfs.Resolve(t.k.Root, t.cwd, path, vfs.ResolveOpts{FollowFinal: true})
	if err != nil {
		return nil, err
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return nil, unix.EACCES
	}
	impl, err := d.Inode().Open(unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	m, ok := impl.(mm.Mappable)
	if !ok {
		impl.Close()
		return nil, unix.EACCES
	}
	return &executable{file: vfs.NewFile(impl, d, unix.O_RDONLY), m: m}, nil
}

// Exec replaces the task's program with the one at path, as execve(2).
// On failure the task is unchanged.
func (t *Task) Exec(path string, argv, envv []string) error {
	exe, err := t.openExecutable(path)
	if err != nil {
		return err
	}
	defer exe.file.DecRef()

	as, err := t.k.Platform.NewAddressSpace()
	if err != nil {
		return err
	}
	m := mm.New(t.k.MemFile, as, t.k.Platform.MaxUserAddress())
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	var gap [8]byte
	_, _ = rand.Read(gap[:])
	op := &opener{t: t}
	defer op.release()
	res, err := loader.Load(m, loader.Args{
		Filename: path,
		File:     exe,
		Argv:     argv,
		Envv:     envv,
		Opener:   op,
		Random:   rnd,
		PageSize: arch.PageSize,
		UID:      t.creds.UID, EUID: t.creds.EUID, GID: t.creds.GID, EGID: t.creds.EGID,
		// Up to 16 MiB of stack randomisation and 1 GiB of load-base
		// randomisation, page-aligned, as Linux's defaults give.
		StackRandom: (binary.LittleEndian.Uint64(gap[:]) % (16 << 20)) &^ (arch.PageSize - 1),
		MMapRandom:  (binary.LittleEndian.Uint64(rnd[8:]) % (1 << 30)) &^ (arch.PageSize - 1),
	})
	if err != nil {
		m.Release()
		return err
	}
	if t.mm != nil {
		t.mm.Release()
	}
	t.mm = m
	t.st.Regs = arch.Registers{Rip: res.Entry, Rsp: res.StackPointer, Eflags: 0x202}
	t.st.FP = nil
	t.name = res.Name
	t.exe = res.ExePath
	t.fds.RemoveCloexec()
	return nil
}
