package kernel

import (
	"crypto/rand"
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/loader"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// executable is an opened program file: the loader reads it and maps it.
// Its mappings go through the file's page cache like mmap(2)'s, so every
// execve of a program shares the pages it has not written instead of
// reading the file again.
type executable struct {
	MappedFile
}

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
	d, err := vfs.Resolve(t.Root(), t.Cwd(), path, vfs.ResolveOpts{FollowFinal: true, Creds: t.FSCreds()})
	if err != nil {
		return nil, err
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 || d.NoExec() {
		return nil, unix.EACCES
	}
	if err := t.FSCreds().MayAccess(&st, vfs.MayExec); err != nil {
		return nil, err
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
	return &executable{MappedFile{file: vfs.NewFile(impl, d, unix.O_RDONLY), m: m}}, nil
}

// Exec replaces the task's program with the one at path, as execve(2).
// On failure before the point of no return the task is unchanged.
func (t *Task) Exec(path string, argv, envv []string) error {
	exe, err := t.openExecutable(path)
	if err != nil {
		return err
	}
	defer exe.file.DecRef()
	// The program may not be open for writing, and may not be opened for
	// writing while its mappings (which keep exe.file) last.
	if err := exe.file.DenyWriteAccess(); err != nil {
		return err
	}
	err = t.load(exe, path, argv, envv, true)
	if err == errReloadRefused {
		err = t.load(exe, path, argv, envv, false)
	}
	return err
}

// errReloadRefused says that the program execve loaded into the old
// program's address space runs with other privileges: it is loaded again
// into a new one.
var errReloadRefused = errors.New("exec: the new program may not reuse the address space")

// load is Exec's work once exe is open: it loads exe into a new address
// space, or, with mayReload, into the old program's when the platform
// can reload it (platform.Reloadable) and the old program had it alone,
// and takes the process over for the new program.
func (t *Task) load(exe *executable, path string, argv, envv []string, mayReload bool) error {
	var as platform.AddressSpace
	var reload platform.Reloadable
	if mayReload {
		reload, as = t.beginReload()
	}
	if reload == nil {
		var err error
		if as, err = t.k.Platform.NewAddressSpace(); err != nil {
			return err
		}
	}
	m := mm.New(t.k.MemFile, as, t.k.Platform.MaxUserAddress())
	// abandon drops m, and gives the old program its address space back
	// after a reload.
	abandon := func() {
		if reload == nil {
			m.Release()
			return
		}
		m.DetachAddressSpace()
		m.Release()
		reload.AbortReload()
		t.mm.ReattachAddressSpace(as)
	}
	if c := t.container; c != nil {
		m.SetMemCgroup(c.memcg)
	}
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	var gap, vdsoRnd [8]byte
	_, _ = rand.Read(gap[:])
	_, _ = rand.Read(vdsoRnd[:])
	op := &opener{t: t}
	defer op.release()
	var ec execCreds
	res, err := loader.Load(m, loader.Args{
		Filename: path,
		File:     exe,
		Argv:     argv,
		Envv:     envv,
		Opener:   op,
		Random:   rnd,
		PageSize: arch.PageSize,
		// The credentials come from the file that runs: the program,
		// or a script's interpreter (exec_setid.go).
		ExecCreds: func(f loader.File) loader.AuxCreds {
			e, ok := f.(*executable)
			if !ok {
				e = exe
			}
			ec = t.computeExecCreds(e)
			return ec.auxCreds()
		},
		// Up to 16 MiB of stack randomisation and 1 GiB of load-base
		// randomisation, page-aligned, as Linux's defaults give.
		StackRandom: (binary.LittleEndian.Uint64(gap[:]) % (16 << 20)) &^ (arch.PageSize - 1),
		MMapRandom:  (binary.LittleEndian.Uint64(rnd[8:]) % (1 << 30)) &^ (arch.PageSize - 1),
		VDSO:        t.VDSOForExec(),
		VDSORandom:  binary.LittleEndian.Uint64(vdsoRnd[:]),
	})
	if err != nil {
		abandon()
		return err
	}
	if reload != nil && ec.secure {
		// A set-ID or capability-gaining program must not start in a
		// process the old program could have prepared.
		abandon()
		return errReloadRefused
	}

	// The point of no return: the other threads go, and this task takes
	// over the process.
	if !t.becomeSoleThread() {
		abandon()
		return ERESTARTNOINTR
	}
	if reload != nil {
		if err := reload.CommitReload(); err != nil {
			// The process cannot run the new program, nor the old
			// one any more, which Linux answers with SIGKILL too.
			t.k.Log.Error("reloading the address space for execve", "tid", t.tid, "err", err)
			t.killGroup(unix.WaitStatus(unix.SIGKILL))
		}
	}
	// Linux's exec_mm_release: the robust list and the PI futexes the
	// task holds are released in the old address space.
	t.releaseFutexes(false)
	old := t.mm
	if old != nil {
		if t.clearChildTID != 0 && old.Users() > 1 {
			var zero [4]byte
			if _, err := old.CopyOut(t.clearChildTID, zero[:]); err == nil {
				_, _ = t.k.futexes.wake(t, t.clearChildTID, false, 1, futexBitsetAny)
			}
		}
		// ru_maxrss survives execve (Linux's exec_mmap).
		t.foldMaxRSS(old)
		old.DecUsers()
	}
	t.clearChildTID = 0
	t.robustList = 0
	t.k.mu.Lock()
	t.mm = m
	t.name = res.Name
	t.exe = res.ExePath
	t.k.mu.Unlock()
	t.applyMemoryLimits()
	t.st.Regs = arch.Registers{Rip: res.Entry, Rsp: res.StackPointer, Eflags: 0x202}
	t.st.FP = arch.InitialFPState()
	if err := t.ctx.PushFPState(&t.st); err != nil {
		t.k.Log.Debug("resetting FP state at exec", "err", err)
	}
	t.altStack = SignalStack{Flags: SSDisable}
	t.k.mu.Lock()
	t.creds = ec.creds
	t.keepCaps = false
	t.dumpable = ec.dumpable
	if ec.clearPDeathSig {
		t.pdeathsig = 0
	}
	if ec.perClear {
		t.personality &^= perClearOnSetID
	}
	t.k.mu.Unlock()
	if t.fds.refs.Load() > 1 {
		// A table shared with another process is unshared at exec.
		own := t.fds.Fork()
		old := t.fds
		t.k.mu.Lock()
		t.fds = own
		t.k.mu.Unlock()
		old.DecRef()
	}
	t.fds.RemoveCloexec()
	t.k.mu.Lock()
	t.tg.stopTimersLocked(true)
	t.tg.didExec = true
	if t.tg.handlers != nil {
		h := t.tg.handlers.copy()
		h.resetForExec()
		t.tg.handlers = h
	}
	t.restartErrno = 0
	t.k.mu.Unlock()
	if t.vforkDone != nil {
		close(t.vforkDone)
		t.vforkDone = nil
	}
	return nil
}

// beginReload takes the old program's address space for the new program,
// if the platform can reload it and the old program had it alone (a
// single task, no CLONE_VM sharer: a vfork parent waits on it), and
// returns it, with its Reloadable side; nil otherwise. The old memory
// manager lets it go (mm/detach.go).
func (t *Task) beginReload() (platform.Reloadable, platform.AddressSpace) {
	old := t.mm
	if old == nil || old.Users() != 1 {
		return nil, nil
	}
	r, ok := old.AddressSpace().(platform.Reloadable)
	if !ok {
		return nil, nil
	}
	t.k.mu.Lock()
	alone := len(t.tg.tasks) == 1
	t.k.mu.Unlock()
	if !alone {
		return nil, nil
	}
	as := old.DetachAddressSpace()
	r.BeginReload()
	return r, as
}

// becomeSoleThread kills the other threads of the process and waits for
// them to exit; the task then takes the process's ID (Linux's de_thread).
// It returns false if the task itself was killed meanwhile.
func (t *Task) becomeSoleThread() bool {
	k := t.k
	for {
		k.mu.Lock()
		if t.killed || t.tg.exiting {
			k.mu.Unlock()
			return false
		}
		if len(t.tg.tasks) == 1 {
			if t.tid != t.tg.id {
				old := t.tid
				delete(k.tasks, old)
				t.tid = t.tg.id
				k.tasks[t.tid] = t
				k.releaseIDLocked(old)
			}
			t.tg.leader = t
			k.mu.Unlock()
			return true
		}
		var others []*Task
		for o := range t.tg.tasks {
			if o != t {
				o.killed = true
				o.kick()
				others = append(others, o)
			}
		}
		k.mu.Unlock()
		for _, o := range others {
			<-o.done
		}
	}
}
