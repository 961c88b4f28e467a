package syscalls

import (
	"encoding/binary"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/dev"
	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/fs/pipe"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// oTmpfile is O_TMPFILE (with O_DIRECTORY); fioclex and fionclex are the
// FIOCLEX and FIONCLEX ioctls, which x/sys does not name.
const (
	oTmpfile = 0x410000
	fioclex  = 0x5451
	fionclex = 0x5450
)

// pathFile is the description behind an O_PATH descriptor: it names a
// file and does nothing else.
type pathFile struct{ d *vfs.Dentry }

func (*pathFile) ReadAt([]byte, int64) (int, error)  { return 0, unix.EBADF }
func (*pathFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }
func (p *pathFile) Stat() (unix.Stat_t, error)       { return p.d.Inode().Stat() }
func (*pathFile) Close() error                       { return nil }
func (*pathFile) IsStream() bool                     { return true }

// openAt implements the common part of open, openat and creat.
func openAt(t *kernel.Task, dirfd int32, pathAddr uint64, flags int, mode uint32) (uint64, error) {
	return openAtResolve(t, dirfd, pathAddr, flags, mode, 0)
}

// openAtResolve is openAt with openat2's RESOLVE_* flags.
func openAtResolve(t *kernel.Task, dirfd int32, pathAddr uint64, flags int, mode uint32, resolve uint64) (uint64, error) {
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	if flags&oTmpfile == oTmpfile {
		return openTmpfile(t, dirfd, path, flags, mode)
	}
	if flags&unix.O_PATH != 0 {
		// O_PATH ignores every flag but these.
		flags &= unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	}
	follow := flags&unix.O_NOFOLLOW == 0
	rc, start, err := newResolveCtx(t, dirfd, path, resolve)
	if err != nil {
		return 0, err
	}
	if resolve&unix.RESOLVE_NO_SYMLINKS != 0 && flags&(unix.O_PATH|unix.O_NOFOLLOW) != unix.O_PATH|unix.O_NOFOLLOW {
		// Only O_PATH|O_NOFOLLOW may name a final symlink.
		follow = true
	}
	var d *vfs.Dentry
	var impl vfs.FileImpl
	if flags&unix.O_CREAT != 0 {
		d, impl, _, err = openCreate(t, rc, start, path, flags, mode)
	} else {
		opts := rc.opts
		opts.FollowFinal, opts.WantDir = follow, flags&unix.O_DIRECTORY != 0
		d, err = vfs.Resolve(rc.root, start, path, opts)
	}
	if err != nil {
		return 0, err
	}
	cloexec := flags&unix.O_CLOEXEC != 0
	limit := t.RLimit(unix.RLIMIT_NOFILE).Cur
	if impl == nil {
		st, err := openStat(d, flags)
		if err != nil {
			return 0, err
		}
		if flags&unix.O_PATH != 0 {
			if !follow && st.Mode&unix.S_IFMT == unix.S_IFLNK && flags&unix.O_DIRECTORY != 0 {
				return 0, unix.ENOTDIR
			}
			f := vfs.NewFile(&pathFile{d}, d, 3 /* neither readable nor writable */)
			defer f.DecRef()
			fd, err := t.FDs().NewFD(f, 0, cloexec, limit)
			return uint64(fd), err
		}
		if impl, err = openExisting(t, d, &st, flags); err != nil {
			return 0, err
		}
	}
	f := vfs.NewFile(impl, d, flags)
	defer f.DecRef()
	watchOpen(t, f)
	fd, err := t.FDs().NewFD(f, 0, cloexec, limit)
	return uint64(fd), err
}

// openStat returns the attributes an open of an existing file checks.
// Type, mode, owner and device number are all it needs but for O_TRUNC,
// which needs a current size: those come from the file system's cache
// where it keeps one (vfs.PermStat), which spares a goferfs file with a
// host descriptor an fstat of it on every open.
func openStat(d *vfs.Dentry, flags int) (unix.Stat_t, error) {
	if flags&unix.O_TRUNC != 0 && flags&unix.O_PATH == 0 {
		return d.Inode().Stat()
	}
	return vfs.PermStat(d.Inode())
}

// openCreate resolves path for an open with O_CREAT and creates the file
// if there is none; impl is set when the file was created (and opened).
func openCreate(t *kernel.Task, rc resolveCtx, start *vfs.Dentry, path string, flags int, mode uint32) (d *vfs.Dentry, impl vfs.FileImpl, created bool, err error) {
	root := rc.root
	creds := t.FSCreds()
	if strings.HasSuffix(path, "/") {
		return nil, nil, false, unix.EISDIR
	}
	dir, name, err := vfs.ResolveParentOpts(root, start, path, rc.opts)
	if err != nil {
		return nil, nil, false, err
	}
	if name == "" {
		return nil, nil, false, unix.EISDIR
	}
	for range vfs.MaxSymlinkTraversals {
		existing, err := vfs.Resolve(root, dir, name, rc.opts)
		if err == unix.ENOENT {
			owner, m, err := newOwner(t, dir, unix.S_IFREG|createMode(t, mode))
			if err != nil {
				return nil, nil, false, err
			}
			d, impl, err := dir.Create(name, flags, m, owner, creds)
			if err == unix.EEXIST && flags&unix.O_EXCL == 0 {
				continue // lost a race with another creator
			}
			if err == nil {
				notifyChild(t, dir, name, unix.IN_CREATE, false)
			}
			return d, impl, err == nil, err
		}
		if err != nil {
			return nil, nil, false, err
		}
		if flags&unix.O_EXCL != 0 {
			return nil, nil, false, unix.EEXIST
		}
		// Only the type matters here.
		st, err := vfs.PermStat(existing.Inode())
		if err != nil {
			return nil, nil, false, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return nil, nil, false, unix.EISDIR
			}
			return existing, nil, false, nil
		}
		if flags&unix.O_NOFOLLOW != 0 || rc.opts.NoSymlinks {
			return nil, nil, false, unix.ELOOP
		}
		// Follow the symlink; a dangling one creates its target.
		target, err := existing.Inode().Readlink()
		if err != nil {
			return nil, nil, false, err
		}
		if strings.HasSuffix(target, "/") {
			return nil, nil, false, unix.EISDIR
		}
		if strings.HasPrefix(target, "/") && rc.opts.Beneath {
			return nil, nil, false, unix.EXDEV
		}
		if dir, name, err = vfs.ResolveParentOpts(root, dir, target, rc.opts); err != nil {
			return nil, nil, false, err
		}
		if name == "" {
			return nil, nil, false, unix.EISDIR
		}
	}
	return nil, nil, false, unix.ELOOP
}

// openExisting checks access to an existing file and opens it, applying
// O_TRUNC.
func openExisting(t *kernel.Task, d *vfs.Dentry, st *unix.Stat_t, flags int) (vfs.FileImpl, error) {
	acc := flags & unix.O_ACCMODE
	writing := acc == unix.O_WRONLY || acc == unix.O_RDWR
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return nil, unix.ELOOP
	case unix.S_IFDIR:
		if writing || flags&unix.O_CREAT != 0 {
			return nil, unix.EISDIR
		}
	}
	if flags&unix.O_DIRECTORY != 0 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	var want uint32
	if acc == unix.O_RDONLY || acc == unix.O_RDWR {
		want |= vfs.MayRead
	}
	if writing || flags&unix.O_TRUNC != 0 {
		want |= vfs.MayWrite
	}
	if err := t.FSCreds().MayAccess(st, want); err != nil {
		return nil, err
	}
	isReg := st.Mode&unix.S_IFMT == unix.S_IFREG
	if (writing || flags&unix.O_TRUNC != 0) && (isReg || st.Mode&unix.S_IFMT == unix.S_IFDIR) && d.ReadOnly() {
		return nil, unix.EROFS
	}
	if writing || flags&unix.O_TRUNC != 0 {
		// A program some process runs (before O_TRUNC changes it).
		if err := vfs.CheckWriteAccess(d); err != nil {
			return nil, err
		}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFIFO {
		return openFIFO(t, d, flags)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		return nil, unix.ENXIO
	}
	if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == dev.TTYRdev {
		return openControllingTTY(t, flags)
	}
	impl, err := d.Inode().Open(flags)
	if err != nil {
		return nil, err
	}
	if tty, ok := impl.(*devpts.File); ok && !tty.IsMaster() {
		tty.SetControllingTTYOnOpen(t.JobControl(), flags)
	}
	if flags&unix.O_TRUNC != 0 && isReg && st.Size != 0 {
		var err error
		if tr, ok := impl.(vfs.Truncater); ok && writing {
			err = tr.Truncate(0)
		} else {
			// O_RDONLY|O_TRUNC truncates too (Linux's handle_truncate
			// works on the inode, not the description): the file
			// opened read-only cannot, so the inode is changed as
			// truncate(2) changes it. The access check above asked for
			// MAY_WRITE already.
			err = setStatNotify(t, d, vfs.SetStatOpts{Mask: vfs.SetSize, Size: 0})
		}
		if err != nil {
			impl.Close()
			return nil, err
		}
	}
	return impl, nil
}

// Open implements Linux syscall open(2).
func Open(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return openAt(t, atFDCWD, args[0], int(args[1]), uint32(args[2]))
}

// Openat implements Linux syscall openat(2).
func Openat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return openAt(t, int32(args[0]), args[1], int(args[2]), uint32(args[3]))
}

// Creat implements Linux syscall creat(2).
func Creat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return openAt(t, atFDCWD, args[0], unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, uint32(args[1]))
}

// Close implements Linux syscall close(2).
func Close(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.FDs().Remove(int32(args[0]))
}

// CloseRange implements Linux syscall close_range(2).
func CloseRange(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	const closeRangeUnshare, closeRangeCloexec = 2, 4
	first, last, flags := uint32(args[0]), uint32(args[1]), args[2]
	if flags&^(closeRangeUnshare|closeRangeCloexec) != 0 || first > last {
		return 0, unix.EINVAL
	}
	t.FDs().RemoveRange(first, last, flags&closeRangeCloexec != 0)
	return 0, nil
}

// Dup implements Linux syscall dup(2).
func Dup(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, false, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	return uint64(fd), err
}

// Dup2 implements Linux syscall dup2(2).
func Dup2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	oldfd, newfd := int32(args[0]), int32(args[1])
	f, err := getFile(t, oldfd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if oldfd == newfd {
		return uint64(newfd), nil
	}
	return uint64(newfd), t.FDs().SetFD(newfd, f, false, t.RLimit(unix.RLIMIT_NOFILE).Cur)
}

// Dup3 implements Linux syscall dup3(2).
func Dup3(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	oldfd, newfd, flags := int32(args[0]), int32(args[1]), args[2]
	if flags&^unix.O_CLOEXEC != 0 || oldfd == newfd {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, oldfd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return uint64(newfd), t.FDs().SetFD(newfd, f, flags&unix.O_CLOEXEC != 0, t.RLimit(unix.RLIMIT_NOFILE).Cur)
}

// Fcntl implements Linux syscall fcntl(2) for descriptor and status flags.
func Fcntl(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	fd, cmd := int32(args[0]), int(args[1])
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	limit := t.RLimit(unix.RLIMIT_NOFILE).Cur
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		min := int32(args[2])
		if min < 0 || uint64(min) >= limit {
			return 0, unix.EINVAL
		}
		nfd, err := t.FDs().NewFD(f, min, cmd == unix.F_DUPFD_CLOEXEC, limit)
		return uint64(nfd), err
	case unix.F_GETFD:
		cloexec, _ := t.FDs().GetFlags(fd)
		if cloexec {
			return unix.FD_CLOEXEC, nil
		}
		return 0, nil
	case unix.F_SETFD:
		t.FDs().SetFlags(fd, args[2]&unix.FD_CLOEXEC != 0)
		return 0, nil
	case unix.F_GETFL:
		return uint64(f.StatusFlags()), nil
	case unix.F_SETFL:
		f.SetStatusFlags(int(args[2]))
		return 0, nil
	case unix.F_GETPIPE_SZ:
		if n, ok := pipe.Capacity(f.Impl()); ok {
			return uint64(n), nil
		}
		return 0, unix.EBADF
	case unix.F_SETPIPE_SZ:
		n, err := pipe.SetCapacity(f.Impl(), int64(int32(args[2])), t.FSCreds().HasCap(kernel.CapSysResource))
		return uint64(n), err
	case unix.F_ADD_SEALS, unix.F_GET_SEALS:
		return fcntlSeals(f, cmd, args[2])
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, fOFDGetlk, fOFDSetlk, fOFDSetlkw:
		return fcntlLock(t, f, cmd, args[2])
	}
	return 0, unix.EINVAL
}

// Ioctl implements Linux syscall ioctl(2).
func Ioctl(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	switch args[1] {
	case fioclex:
		t.FDs().SetFlags(int32(args[0]), true)
		return 0, nil
	case fionclex:
		t.FDs().SetFlags(int32(args[0]), false)
		return 0, nil
	case fionbio:
		return 0, ioctlFIONBIO(t, f, args[2])
	}
	if tty, ok := f.Impl().(*devpts.File); ok {
		return ttyIoctl(t, f, tty, args[1], args[2])
	}
	if isSocketFile(f) && isIfIoctl(args[1]) {
		return socketIfIoctl(t, f, args[1], args[2])
	}
	if io, ok := f.Impl().(vfs.Ioctler); ok {
		return io.Ioctl(t, args[1], args[2])
	}
	return 0, unix.ENOTTY
}

// Pipe2 implements Linux syscall pipe2(2).
func Pipe2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := int(args[1])
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT) != 0 {
		return 0, unix.EINVAL
	}
	creds := t.FSCreds()
	ri, wi := pipe.NewOwned(creds.UID, creds.GID)
	r := vfs.NewFile(ri, nil, unix.O_RDONLY|flags&(unix.O_NONBLOCK|unix.O_DIRECT))
	w := vfs.NewFile(wi, nil, unix.O_WRONLY|flags&(unix.O_NONBLOCK|unix.O_DIRECT))
	defer r.DecRef()
	defer w.DecRef()
	cloexec := flags&unix.O_CLOEXEC != 0
	limit := t.RLimit(unix.RLIMIT_NOFILE).Cur
	rfd, err := t.FDs().NewFD(r, 0, cloexec, limit)
	if err != nil {
		return 0, err
	}
	wfd, err := t.FDs().NewFD(w, 0, cloexec, limit)
	if err != nil {
		t.FDs().Remove(rfd)
		return 0, err
	}
	fds := []byte{byte(rfd), byte(rfd >> 8), byte(rfd >> 16), byte(rfd >> 24), byte(wfd), byte(wfd >> 8), byte(wfd >> 16), byte(wfd >> 24)}
	if _, err := t.CopyOut(args[0], fds); err != nil {
		t.FDs().Remove(rfd)
		t.FDs().Remove(wfd)
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Pipe implements Linux syscall pipe(2).
func Pipe(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return Pipe2(t, arch.SyscallArgs{args[0], 0})
}

// openFIFO opens a named FIFO, waiting for its peer as fifo(7) says.
func openFIFO(t *kernel.Task, d *vfs.Dentry, flags int) (vfs.FileImpl, error) {
	return t.Kernel().OpenFIFO(d, flags, t.Block)
}

// resolveCtx is where and how an open resolves its path.
type resolveCtx struct {
	root *vfs.Dentry
	opts vfs.ResolveOpts
}

// newResolveCtx applies openat2's RESOLVE_* flags to a walk from dirfd.
func newResolveCtx(t *kernel.Task, dirfd int32, path string, resolve uint64) (resolveCtx, *vfs.Dentry, error) {
	rc := resolveCtx{root: t.Root(), opts: vfs.ResolveOpts{Creds: t.FSCreds()}}
	rc.opts.NoSymlinks = resolve&unix.RESOLVE_NO_SYMLINKS != 0
	rc.opts.NoXdev = resolve&unix.RESOLVE_NO_XDEV != 0
	rc.opts.NoMagicLinks = resolve&(unix.RESOLVE_NO_MAGICLINKS|unix.RESOLVE_NO_SYMLINKS) != 0
	scoped := resolve&(unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT) != 0
	if !scoped {
		start, err := startDir(t, dirfd, path)
		return rc, start, err
	}
	// The walk is confined to dirfd: it is the root.
	base, err := startDir(t, dirfd, ".")
	if err != nil {
		return rc, nil, err
	}
	rc.root = base
	if resolve&unix.RESOLVE_BENEATH != 0 {
		if strings.HasPrefix(path, "/") {
			return rc, nil, unix.EXDEV
		}
		rc.opts.Beneath = true
	}
	return rc, base, nil
}

// resolveCached is RESOLVE_CACHED, which x/sys does not name.
const resolveCached = 0x20

// openHowSize is sizeof(struct open_how) as first defined.
const openHowSize = 24

// Openat2 implements Linux syscall openat2(2).
func Openat2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	dirfd, pathAddr, howAddr, size := int32(args[0]), args[1], args[2], args[3]
	if size < openHowSize {
		return 0, unix.EINVAL
	}
	if size > 4096 {
		return 0, unix.E2BIG
	}
	b := make([]byte, size)
	if _, err := t.CopyIn(howAddr, b); err != nil {
		return 0, unix.EFAULT
	}
	for _, c := range b[openHowSize:] {
		if c != 0 {
			return 0, unix.E2BIG
		}
	}
	le := binary.LittleEndian
	flags, mode, resolve := le.Uint64(b[0:]), le.Uint64(b[8:]), le.Uint64(b[16:])
	const validFlags = unix.O_ACCMODE | unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC |
		unix.O_APPEND | unix.O_NONBLOCK | unix.O_DSYNC | unix.O_ASYNC | unix.O_DIRECT | unix.O_LARGEFILE |
		unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NOATIME | unix.O_CLOEXEC | unix.O_PATH | oTmpfile | unix.O_SYNC
	const validResolve = unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS |
		unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT | resolveCached
	switch {
	case flags&^uint64(validFlags) != 0, resolve&^uint64(validResolve) != 0:
		return 0, unix.EINVAL
	case mode&^0o7777 != 0:
		return 0, unix.EINVAL
	case mode != 0 && flags&(unix.O_CREAT|oTmpfile) == 0:
		return 0, unix.EINVAL
	case resolve&(unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT) == unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT:
		return 0, unix.EINVAL
	case flags&unix.O_PATH != 0 && flags&^uint64(unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC) != 0:
		return 0, unix.EINVAL
	}
	return openAtResolve(t, dirfd, pathAddr, int(flags), uint32(mode), resolve)
}

// openTmpfile implements open(2)'s O_TMPFILE: an unnamed regular file in
// the directory path names.
func openTmpfile(t *kernel.Task, dirfd int32, path string, flags int, mode uint32) (uint64, error) {
	acc := flags & unix.O_ACCMODE
	if acc != unix.O_WRONLY && acc != unix.O_RDWR {
		return 0, unix.EINVAL
	}
	dir, err := resolveAt(t, dirfd, path, true, false)
	if err != nil {
		return 0, err
	}
	st, err := dir.Inode().Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, unix.ENOTDIR
	}
	if err := t.FSCreds().MayAccess(&st, vfs.MayWrite|vfs.MayExec); err != nil {
		return 0, err
	}
	if dir.ReadOnly() {
		return 0, unix.EROFS
	}
	tc, ok := dir.Inode().(vfs.TmpfileCreator)
	if !ok {
		return 0, unix.EOPNOTSUPP
	}
	owner, m, err := newOwner(t, dir, unix.S_IFREG|createMode(t, mode))
	if err != nil {
		return 0, err
	}
	inode, impl, err := tc.CreateTmpfile(flags&unix.O_EXCL, m&0o7777, owner)
	if err != nil {
		return 0, err
	}
	d := vfs.NewTmpfile(dir, inode, flags&unix.O_EXCL == 0)
	f := vfs.NewFile(impl, d, flags&^(oTmpfile|unix.O_EXCL))
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, flags&unix.O_CLOEXEC != 0, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	return uint64(fd), err
}
