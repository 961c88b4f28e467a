package syscalls

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// setStat applies opts to d's inode after the checks every attribute
// change shares (a writable mount, a file system that supports it).
func setStat(d *vfs.Dentry, opts vfs.SetStatOpts) error {
	if d.ReadOnly() {
		return unix.EROFS
	}
	s, ok := d.Inode().(vfs.SetStatter)
	if !ok {
		return unix.EPERM
	}
	err := s.SetStat(opts)
	if inv, ok := d.Inode().(vfs.Invalidator); ok {
		inv.Invalidate()
	}
	return err
}

// setStatNotify is setStat for a task, reporting the change to inotify.
func setStatNotify(t *kernel.Task, d *vfs.Dentry, opts vfs.SetStatOpts) error {
	if err := setStat(d, opts); err != nil {
		return err
	}
	mask := uint32(unix.IN_ATTRIB)
	if opts.Mask&vfs.SetSize != 0 {
		mask = unix.IN_MODIFY
	}
	notifyFile(t, d, mask)
	return nil
}

// fileDentry returns the dentry of fd's description, or EBADF for a
// description that has none (a pipe, a socket, an anonymous inode).
func fileDentry(t *kernel.Task, fd int32) (*vfs.Dentry, *vfs.File, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	d := f.Dentry()
	if d == nil {
		f.DecRef()
		return nil, nil, unix.EBADF
	}
	return d, f, nil
}

// chmod implements the permission rules of Linux's chmod_common.
func chmod(t *kernel.Task, d *vfs.Dentry, mode uint32) error {
	// Owner, group and mode are all the checks need: from the file
	// system's cache where it keeps one, as for chown and utimes.
	st, err := vfs.PermStat(d.Inode())
	if err != nil {
		return err
	}
	opts, err := chmodOpts(t, &st, mode)
	if err != nil {
		return err
	}
	return setStatNotify(t, d, opts)
}

// chmodOpts returns the change chmod to mode makes of a file whose
// attributes are st, or why t may not make it.
func chmodOpts(t *kernel.Task, st *unix.Stat_t, mode uint32) (vfs.SetStatOpts, error) {
	creds := t.FSCreds()
	if !creds.IsOwner(st.Uid) {
		return vfs.SetStatOpts{}, unix.EPERM
	}
	mode &= 0o7777
	if mode&unix.S_ISGID != 0 && !creds.InGroup(st.Gid) && !creds.HasCap(vfs.CapFsetid) {
		mode &^= unix.S_ISGID
	}
	return vfs.SetStatOpts{Mask: vfs.SetMode, Mode: mode}, nil
}

// detachedSetStatter returns what changes the attributes of the inode
// behind f, a description that has no dentry: an anonymous pipe's or a
// socket's, which Linux changes like any other (pipefs, sockfs), or
// EOPNOTSUPP for an anonymous inode (eventfd, epoll, timerfd, signalfd,
// inotify: Linux's anon_inode_setattr refuses every change).
func detachedSetStatter(f *vfs.File) (vfs.SetStatter, error) {
	if s, ok := f.Impl().(vfs.SetStatter); ok {
		return s, nil
	}
	return nil, unix.EOPNOTSUPP
}

// Chmod implements Linux syscall chmod(2).
func Chmod(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return fchmodAt(t, atFDCWD, args[0], uint32(args[1]), 0)
}

// Fchmod implements Linux syscall fchmod(2).
func Fchmod(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if d := f.Dentry(); d != nil {
		return 0, chmod(t, d, uint32(args[1]))
	}
	s, err := detachedSetStatter(f)
	if err != nil {
		return 0, err
	}
	st, err := f.Impl().Stat()
	if err != nil {
		return 0, err
	}
	opts, err := chmodOpts(t, &st, uint32(args[1]))
	if err != nil {
		return 0, err
	}
	return 0, s.SetStat(opts)
}

// Fchmodat implements Linux syscall fchmodat(2).
func Fchmodat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return fchmodAt(t, int32(args[0]), args[1], uint32(args[2]), 0)
}

// Fchmodat2 implements Linux syscall fchmodat2(2).
func Fchmodat2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return fchmodAt(t, int32(args[0]), args[1], uint32(args[2]), int(args[3]))
}

func fchmodAt(t *kernel.Task, dirfd int32, pathAddr uint64, mode uint32, flags int) (uint64, error) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	d, err := resolveAt(t, dirfd, path, flags&unix.AT_SYMLINK_NOFOLLOW == 0, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	if st, err := vfs.PermStat(d.Inode()); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return 0, unix.EOPNOTSUPP
	}
	return 0, chmod(t, d, mode)
}

// chown implements the rules of Linux's chown_ok, chgrp_ok and the
// set-ID clearing of chown_common. uid or gid ^0 means "unchanged".
func chown(t *kernel.Task, d *vfs.Dentry, uid, gid uint32) error {
	// IDs of the caller's user namespace: EINVAL without a mapping.
	if err := kernelIDs(t, false, &uid); err != nil {
		return err
	}
	if err := kernelIDs(t, true, &gid); err != nil {
		return err
	}
	st, err := vfs.PermStat(d.Inode())
	if err != nil {
		return err
	}
	opts, err := chownOpts(t, &st, uid, gid)
	if err != nil {
		return err
	}
	// chown(f, -1, -1) still updates ctime on Linux; with an empty mask
	// there is nothing to do that a caller could rely on beyond the
	// checks.
	return setStatNotify(t, d, opts)
}

// chownOpts returns the change a chown to uid and gid (kernel IDs, ^0 for
// "unchanged") makes of a file whose attributes are st, or why t may not
// make it.
func chownOpts(t *kernel.Task, st *unix.Stat_t, uid, gid uint32) (vfs.SetStatOpts, error) {
	creds := t.FSCreds()
	opts := vfs.SetStatOpts{}
	if uid != ^uint32(0) {
		if uid != st.Uid && !creds.HasCap(vfs.CapChown) || uid == st.Uid && creds.UID != st.Uid && !creds.HasCap(vfs.CapChown) {
			return vfs.SetStatOpts{}, unix.EPERM
		}
		opts.Mask |= vfs.SetUID
		opts.UID = uid
	}
	if gid != ^uint32(0) {
		owner := creds.UID == st.Uid
		if !creds.HasCap(vfs.CapChown) && (!owner || gid != st.Gid && !creds.InGroup(gid)) {
			return vfs.SetStatOpts{}, unix.EPERM
		}
		opts.Mask |= vfs.SetGID
		opts.GID = gid
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Mode&unix.S_IFMT != unix.S_IFLNK {
		mode := st.Mode & 0o7777
		newMode := mode &^ unix.S_ISUID
		if mode&unix.S_IXGRP != 0 {
			newMode &^= unix.S_ISGID
		}
		if newMode != mode {
			opts.Mask |= vfs.SetMode
			opts.Mode = newMode
		}
	}
	return opts, nil
}

func fchownAt(t *kernel.Task, dirfd int32, pathAddr uint64, uid, gid uint32, flags int) (uint64, error) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	d, err := resolveAt(t, dirfd, path, flags&unix.AT_SYMLINK_NOFOLLOW == 0, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	return 0, chown(t, d, uid, gid)
}

// Chown implements Linux syscall chown(2).
func Chown(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return fchownAt(t, atFDCWD, args[0], uint32(args[1]), uint32(args[2]), 0)
}

// Lchown implements Linux syscall lchown(2).
func Lchown(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return fchownAt(t, atFDCWD, args[0], uint32(args[1]), uint32(args[2]), unix.AT_SYMLINK_NOFOLLOW)
}

// Fchownat implements Linux syscall fchownat(2).
func Fchownat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return fchownAt(t, int32(args[0]), args[1], uint32(args[2]), uint32(args[3]), int(args[4]))
}

// Fchown implements Linux syscall fchown(2).
func Fchown(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, unix.EBADF
	}
	uid, gid := uint32(args[1]), uint32(args[2])
	if d := f.Dentry(); d != nil {
		return 0, chown(t, d, uid, gid)
	}
	s, err := detachedSetStatter(f)
	if err != nil {
		return 0, err
	}
	if err := kernelIDs(t, false, &uid); err != nil {
		return 0, err
	}
	if err := kernelIDs(t, true, &gid); err != nil {
		return 0, err
	}
	st, err := f.Impl().Stat()
	if err != nil {
		return 0, err
	}
	opts, err := chownOpts(t, &st, uid, gid)
	if err != nil {
		return 0, err
	}
	return 0, s.SetStat(opts)
}

// setTimes implements the permission rules of Linux's utimes_common:
// setting both times to now needs ownership or write access, anything
// else needs ownership.
func setTimes(t *kernel.Task, d *vfs.Dentry, atime, mtime unix.Timespec) error {
	opts := vfs.SetStatOpts{}
	if atime.Nsec != unix.UTIME_OMIT {
		opts.Mask |= vfs.SetAtime
		opts.Atime = atime
	}
	if mtime.Nsec != unix.UTIME_OMIT {
		opts.Mask |= vfs.SetMtime
		opts.Mtime = mtime
	}
	if opts.Mask == 0 {
		return nil
	}
	if d.ReadOnly() {
		return unix.EROFS
	}
	st, err := vfs.PermStat(d.Inode())
	if err != nil {
		return err
	}
	creds := t.FSCreds()
	if !creds.IsOwner(st.Uid) {
		bothNow := atime.Nsec == unix.UTIME_NOW && mtime.Nsec == unix.UTIME_NOW
		if !bothNow {
			return unix.EPERM
		}
		if err := creds.MayAccess(&st, vfs.MayWrite); err != nil {
			return err
		}
	}
	return setStatNotify(t, d, opts)
}

func validTimespec(ts unix.Timespec) bool {
	return ts.Nsec == unix.UTIME_NOW || ts.Nsec == unix.UTIME_OMIT || (ts.Nsec >= 0 && ts.Nsec < 1e9)
}

// Utimensat implements Linux syscall utimensat(2).
func Utimensat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	dirfd, pathAddr, timesAddr, flags := int32(args[0]), args[1], args[2], int(args[3])
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	atime := unix.Timespec{Nsec: unix.UTIME_NOW}
	mtime := atime
	if timesAddr != 0 {
		var b [32]byte
		if _, err := t.CopyIn(timesAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		le := binary.LittleEndian
		atime = unix.Timespec{Sec: int64(le.Uint64(b[0:])), Nsec: int64(le.Uint64(b[8:]))}
		mtime = unix.Timespec{Sec: int64(le.Uint64(b[16:])), Nsec: int64(le.Uint64(b[24:]))}
		if !validTimespec(atime) || !validTimespec(mtime) {
			return 0, unix.EINVAL
		}
	}
	var d *vfs.Dentry
	if pathAddr == 0 {
		// futimens: the descriptor itself.
		if dirfd == atFDCWD {
			return 0, unix.EFAULT
		}
		dd, f, err := fileDentry(t, dirfd)
		if err != nil {
			return 0, err
		}
		f.DecRef()
		d = dd
	} else {
		path, err := copyInPath(t, pathAddr)
		if err != nil {
			return 0, err
		}
		d, err = resolveAt(t, dirfd, path, flags&unix.AT_SYMLINK_NOFOLLOW == 0, flags&unix.AT_EMPTY_PATH != 0)
		if err != nil {
			return 0, err
		}
	}
	return 0, setTimes(t, d, atime, mtime)
}

// utimesAt implements utimes(2) and futimesat(2), whose times are
// struct timeval pairs.
func utimesAt(t *kernel.Task, dirfd int32, pathAddr, timesAddr uint64) (uint64, error) {
	atime := unix.Timespec{Nsec: unix.UTIME_NOW}
	mtime := atime
	if timesAddr != 0 {
		var b [32]byte
		if _, err := t.CopyIn(timesAddr, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		le := binary.LittleEndian
		as, au := int64(le.Uint64(b[0:])), int64(le.Uint64(b[8:]))
		ms, mu := int64(le.Uint64(b[16:])), int64(le.Uint64(b[24:]))
		if au < 0 || au >= 1e6 || mu < 0 || mu >= 1e6 {
			return 0, unix.EINVAL
		}
		atime = unix.Timespec{Sec: as, Nsec: au * 1000}
		mtime = unix.Timespec{Sec: ms, Nsec: mu * 1000}
	}
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	d, err := resolveAt(t, dirfd, path, true, false)
	if err != nil {
		return 0, err
	}
	return 0, setTimes(t, d, atime, mtime)
}

// Utimes implements Linux syscall utimes(2).
func Utimes(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return utimesAt(t, atFDCWD, args[0], args[1])
}

// Futimesat implements Linux syscall futimesat(2).
func Futimesat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return utimesAt(t, int32(args[0]), args[1], args[2])
}

// Utime implements Linux syscall utime(2), whose times are whole seconds.
func Utime(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	atime := unix.Timespec{Nsec: unix.UTIME_NOW}
	mtime := atime
	if args[1] != 0 {
		var b [16]byte
		if _, err := t.CopyIn(args[1], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		atime = unix.Timespec{Sec: int64(binary.LittleEndian.Uint64(b[0:]))}
		mtime = unix.Timespec{Sec: int64(binary.LittleEndian.Uint64(b[8:]))}
	}
	path, err := copyInPath(t, args[0])
	if err != nil {
		return 0, err
	}
	d, err := resolveAt(t, atFDCWD, path, true, false)
	if err != nil {
		return 0, err
	}
	return 0, setTimes(t, d, atime, mtime)
}

// Truncate implements Linux syscall truncate(2).
func Truncate(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	path, err := copyInPath(t, args[0])
	if err != nil {
		return 0, err
	}
	size := int64(args[1])
	if size < 0 {
		return 0, unix.EINVAL
	}
	d, err := resolveAt(t, atFDCWD, path, true, false)
	if err != nil {
		return 0, err
	}
	// Type, owner and mode: the checks and the set-ID bits to clear.
	st, err := vfs.PermStat(d.Inode())
	if err != nil {
		return 0, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return 0, unix.EISDIR
	case unix.S_IFREG:
	default:
		return 0, unix.EINVAL
	}
	if err := t.FSCreds().MayAccess(&st, vfs.MayWrite); err != nil {
		return 0, err
	}
	if d.ReadOnly() {
		return 0, unix.EROFS
	}
	if err := vfs.CheckWriteAccess(d); err != nil {
		return 0, err
	}
	if err := checkFileSize(t, size); err != nil {
		return 0, err
	}
	opts := vfs.SetStatOpts{Mask: vfs.SetSize, Size: size}
	if kill := privsToKill(t, &st); kill != 0 {
		opts.Mask |= vfs.SetMode
		opts.Mode = st.Mode & 0o7777 &^ kill
	}
	return 0, setStatNotify(t, d, opts)
}

// checkFileSize enforces RLIMIT_FSIZE for a file growing to size.
func checkFileSize(t *kernel.Task, size int64) error {
	lim := t.RLimit(unix.RLIMIT_FSIZE).Cur
	if lim != unix.RLIM_INFINITY && uint64(size) > lim {
		t.SendSignalToSelf(unix.SIGXFSZ)
		return unix.EFBIG
	}
	return nil
}

// Ftruncate implements Linux syscall ftruncate(2).
func Ftruncate(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	size := int64(args[1])
	if size < 0 {
		return 0, unix.EINVAL
	}
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if !f.Writable() {
		return 0, unix.EINVAL
	}
	tr, ok := f.Impl().(vfs.Truncater)
	if !ok {
		if st, err := f.Impl().Stat(); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return 0, unix.EISDIR
		}
		return 0, unix.EINVAL
	}
	if f.StatusFlags()&unix.O_APPEND != 0 {
		return 0, unix.EPERM
	}
	if err := checkFileSize(t, size); err != nil {
		return 0, err
	}
	killPrivs(t, f)
	if err := tr.Truncate(size); err != nil {
		return 0, err
	}
	notifyFile(t, f.Dentry(), unix.IN_MODIFY)
	return 0, nil
}

// Fallocate implements Linux syscall fallocate(2).
func Fallocate(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	mode, off, length := uint32(args[1]), int64(args[2]), int64(args[3])
	if off < 0 || length <= 0 || off+length < 0 {
		return 0, unix.EINVAL
	}
	if !f.Writable() || f.IsPath() {
		return 0, unix.EBADF
	}
	if mode&unix.FALLOC_FL_PUNCH_HOLE != 0 && mode&unix.FALLOC_FL_KEEP_SIZE == 0 {
		return 0, unix.EOPNOTSUPP
	}
	if f.IsStream() {
		return 0, unix.ESPIPE
	}
	a, ok := f.Impl().(vfs.Allocator)
	if !ok {
		if st, err := f.Impl().Stat(); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return 0, unix.EISDIR
		}
		return 0, unix.ENODEV
	}
	if mode&unix.FALLOC_FL_KEEP_SIZE == 0 {
		if err := checkFileSize(t, off+length); err != nil {
			return 0, err
		}
	}
	return 0, a.Allocate(mode, off, length)
}

func syncFile(t *kernel.Task, fd int32, dataOnly bool) (uint64, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if s, ok := f.Impl().(vfs.Syncer); ok {
		return 0, s.Sync(dataOnly)
	}
	// Files without an fsync method: Linux says EINVAL for pipes,
	// sockets and devices; the sentry's own trees have nothing to sync.
	if st, err := f.Impl().Stat(); err == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
			return 0, nil
		}
	}
	return 0, unix.EINVAL
}

// Fsync implements Linux syscall fsync(2).
func Fsync(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return syncFile(t, int32(args[0]), false)
}

// Fdatasync implements Linux syscall fdatasync(2).
func Fdatasync(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return syncFile(t, int32(args[0]), true)
}

// Sync implements Linux syscall sync(2). Writes through donated
// descriptors reach the host's page cache directly, and the host's
// writeback is the host's business; what the sandbox holds itself, files
// written behind and changes posted to the gofer (vfs.FSSyncer), is sent
// and waited for. sync(2) reports no error.
func Sync(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	_ = vfs.SyncAll()
	return 0, nil
}

// Syncfs implements Linux syscall syncfs(2): as sync(2), for the file
// system of the file, whose failed write-back it reports.
func Syncfs(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if d := f.Dentry(); d != nil {
		if s, ok := d.Inode().(vfs.FSSyncer); ok {
			return 0, s.SyncFS()
		}
	}
	return 0, nil
}

// SyncFileRange implements Linux syscall sync_file_range(2).
func SyncFileRange(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	off, n, flags := int64(args[1]), int64(args[2]), uint32(args[3])
	if off < 0 || n < 0 || off+n < 0 || flags&^7 != 0 {
		return 0, unix.EINVAL
	}
	return syncFile(t, int32(args[0]), true)
}
