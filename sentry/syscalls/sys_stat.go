package syscalls

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// ownerToUser translates a file's owner and group, kernel IDs, into the
// caller's user namespace (the overflow ID when they have no mapping).
func ownerToUser(t *kernel.Task, st *unix.Stat_t) {
	ns := t.Credentials().UserNamespace()
	st.Uid, st.Gid = ns.MungedUID(st.Uid), ns.MungedGID(st.Gid)
}

// statSize is the size of Linux's amd64 struct stat.
const statSize = 144

// statBytes encodes st as Linux's amd64 struct stat into b, which the
// caller keeps on its stack, so that encoding allocates nothing.
func statBytes(st *unix.Stat_t, b *[statSize]byte) []byte {
	le := binary.LittleEndian
	le.PutUint64(b[0:], st.Dev)
	le.PutUint64(b[8:], st.Ino)
	le.PutUint64(b[16:], st.Nlink)
	le.PutUint32(b[24:], st.Mode)
	le.PutUint32(b[28:], st.Uid)
	le.PutUint32(b[32:], st.Gid)
	le.PutUint64(b[40:], st.Rdev)
	le.PutUint64(b[48:], uint64(st.Size))
	le.PutUint64(b[56:], uint64(st.Blksize))
	le.PutUint64(b[64:], uint64(st.Blocks))
	le.PutUint64(b[72:], uint64(st.Atim.Sec))
	le.PutUint64(b[80:], uint64(st.Atim.Nsec))
	le.PutUint64(b[88:], uint64(st.Mtim.Sec))
	le.PutUint64(b[96:], uint64(st.Mtim.Nsec))
	le.PutUint64(b[104:], uint64(st.Ctim.Sec))
	le.PutUint64(b[112:], uint64(st.Ctim.Nsec))
	return b[:]
}

func copyOutStat(t *kernel.Task, addr uint64, st *unix.Stat_t) error {
	ownerToUser(t, st)
	var buf [statSize]byte
	if _, err := t.CopyOut(addr, statBytes(st, &buf)); err != nil {
		return unix.EFAULT
	}
	return nil
}

// fileStat returns the attributes of an open file.
func fileStat(f *vfs.File) (unix.Stat_t, error) {
	if d := f.Dentry(); d != nil {
		if _, ok := f.Impl().(*pathFile); ok {
			return d.Inode().Stat()
		}
	}
	return f.Impl().Stat()
}

// Fstat implements Linux syscall fstat(2).
func Fstat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	st, err := fileStat(f)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStat(t, args[1], &st)
}

func statAt(t *kernel.Task, dirfd int32, pathAddr, statAddr uint64, flags int) (uint64, error) {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT) != 0 {
		return 0, unix.EINVAL
	}
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	if path == "" && flags&unix.AT_EMPTY_PATH != 0 && dirfd != atFDCWD {
		return Fstat(t, arch.SyscallArgs{uint64(dirfd), statAddr})
	}
	d, err := resolveAt(t, dirfd, path, flags&unix.AT_SYMLINK_NOFOLLOW == 0, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return 0, err
	}
	return 0, copyOutStat(t, statAddr, &st)
}

// Stat implements Linux syscall stat(2).
func Stat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return statAt(t, atFDCWD, args[0], args[1], 0)
}

// Lstat implements Linux syscall lstat(2).
func Lstat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return statAt(t, atFDCWD, args[0], args[1], unix.AT_SYMLINK_NOFOLLOW)
}

// Newfstatat implements Linux syscall newfstatat(2).
func Newfstatat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return statAt(t, int32(args[0]), args[1], args[2], int(args[3]))
}

// Statx implements Linux syscall statx(2).
func Statx(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	dirfd, flags, mask := int32(args[0]), int(args[2]), uint32(args[3])
	const statxReserved = 0x80000000
	const syncMask = unix.AT_STATX_FORCE_SYNC | unix.AT_STATX_DONT_SYNC
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|syncMask) != 0 ||
		flags&syncMask == syncMask || mask&statxReserved != 0 {
		return 0, unix.EINVAL
	}
	path, err := copyInPath(t, args[1])
	if err != nil {
		return 0, err
	}
	var st unix.Stat_t
	if path == "" && flags&unix.AT_EMPTY_PATH != 0 && dirfd != atFDCWD {
		f, err := getFile(t, dirfd)
		if err != nil {
			return 0, err
		}
		st, err = fileStat(f)
		f.DecRef()
		if err != nil {
			return 0, err
		}
	} else {
		d, err := resolveAt(t, dirfd, path, flags&unix.AT_SYMLINK_NOFOLLOW == 0, flags&unix.AT_EMPTY_PATH != 0)
		if err != nil {
			return 0, err
		}
		if st, err = d.Inode().Stat(); err != nil {
			return 0, err
		}
	}
	ownerToUser(t, &st)
	b := make([]byte, 256)
	le := binary.LittleEndian
	le.PutUint32(b[0:], unix.STATX_BASIC_STATS)
	le.PutUint32(b[4:], uint32(st.Blksize))
	le.PutUint64(b[8:], 0) // attributes
	le.PutUint32(b[16:], uint32(st.Nlink))
	le.PutUint32(b[20:], st.Uid)
	le.PutUint32(b[24:], st.Gid)
	le.PutUint16(b[28:], uint16(st.Mode))
	le.PutUint64(b[32:], st.Ino)
	le.PutUint64(b[40:], uint64(st.Size))
	le.PutUint64(b[48:], uint64(st.Blocks))
	le.PutUint64(b[56:], 0) // attributes_mask
	putTs := func(off int, ts unix.Timespec) {
		le.PutUint64(b[off:], uint64(ts.Sec))
		le.PutUint32(b[off+8:], uint32(ts.Nsec))
	}
	putTs(64, st.Atim)  // atime
	putTs(80, st.Ctim)  // btime: unknown, mask says so
	putTs(96, st.Ctim)  // ctime
	putTs(112, st.Mtim) // mtime
	le.PutUint32(b[128:], unix.Major(st.Rdev))
	le.PutUint32(b[132:], unix.Minor(st.Rdev))
	le.PutUint32(b[136:], unix.Major(st.Dev))
	le.PutUint32(b[140:], unix.Minor(st.Dev))
	// btime is not known: leave it out of stx_mask.
	clear(b[80:96])
	if _, err := t.CopyOut(args[4], b); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Getdents64 implements Linux syscall getdents64(2).
func Getdents64(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	// struct linux_dirent64: d_ino, d_off, d_reclen, d_type, d_name.
	return getdents(t, args, func(rec []byte, e vfs.Dirent) {
		rec[18] = e.Type
		copy(rec[19:], e.Name)
	})
}

// Getdents implements Linux syscall getdents(2), which static programs and
// old C libraries still use.
func Getdents(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	// struct linux_dirent: d_ino, d_off, d_reclen, d_name, then the type
	// in the record's last byte.
	return getdents(t, args, func(rec []byte, e vfs.Dirent) {
		copy(rec[18:], e.Name)
		rec[len(rec)-1] = e.Type
	})
}

// getdents fills the caller's buffer with directory records; fill writes
// an entry's type and name into its record, whose inode, offset and length
// are set. Both layouts need 20 bytes and the name, 8-byte aligned.
func getdents(t *kernel.Task, args arch.SyscallArgs, fill func(rec []byte, e vfs.Dirent)) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if _, ok := f.Impl().(*pathFile); ok {
		return 0, unix.EBADF
	}
	size := int(min(args[2], 1<<20))
	// The task's scratch buffer: a fresh one per call (programs pass
	// 32 KiB to 1 MiB) made find(1) over /usr collect garbage every
	// 25 ms.
	buf := t.Buffer(size)[:0]
	err = f.Readdir(size, func(e vfs.Dirent) bool {
		reclen := (19 + len(e.Name) + 1 + 7) &^ 7
		if len(buf)+reclen > size {
			return false
		}
		rec := buf[len(buf) : len(buf)+reclen]
		// The buffer is reused: no byte of an earlier call may
		// reach the program through a record's padding.
		clear(rec)
		binary.LittleEndian.PutUint64(rec[0:], e.Ino)
		binary.LittleEndian.PutUint64(rec[8:], e.Off)
		binary.LittleEndian.PutUint16(rec[16:], uint16(reclen))
		fill(rec, e)
		buf = buf[:len(buf)+reclen]
		return true
	})
	if err != nil {
		return 0, err
	}
	if len(buf) == 0 {
		// Either the end, or the buffer cannot hold one entry.
		probe := false
		_ = f.Readdir(size, func(vfs.Dirent) bool { probe = true; return false })
		if probe {
			return 0, unix.EINVAL
		}
		return 0, nil
	}
	if _, err := t.CopyOut(args[1], buf); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(buf)), nil
}

func readlinkAt(t *kernel.Task, dirfd int32, pathAddr, bufAddr uint64, size int64) (uint64, error) {
	if size <= 0 {
		return 0, unix.EINVAL
	}
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return 0, err
	}
	d, err := resolveAt(t, dirfd, path, false, true)
	if err != nil {
		return 0, err
	}
	target, err := d.Inode().Readlink()
	if err == unix.EINVAL && path == "" {
		// An empty path names dirfd itself, which is not a symlink.
		return 0, unix.ENOENT
	}
	if err != nil {
		return 0, err
	}
	out := []byte(target)
	if int64(len(out)) > size {
		out = out[:size]
	}
	if _, err := t.CopyOut(bufAddr, out); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(out)), nil
}

// Readlink implements Linux syscall readlink(2).
func Readlink(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return readlinkAt(t, atFDCWD, args[0], args[1], int64(int32(args[2])))
}

// Readlinkat implements Linux syscall readlinkat(2).
func Readlinkat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return readlinkAt(t, int32(args[0]), args[1], args[2], int64(int32(args[3])))
}

func accessAt(t *kernel.Task, dirfd int32, pathAddr uint64, mode uint32, flags int) (uint64, error) {
	if mode&^7 != 0 {
		return 0, unix.EINVAL
	}
	if flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
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
	st, err := d.Inode().Stat()
	if err != nil {
		return 0, err
	}
	if mode&unix.W_OK != 0 && d.ReadOnly() {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK:
			return 0, unix.EROFS
		}
	}
	creds := t.FSCreds()
	if flags&unix.AT_EACCESS == 0 {
		// access(2) checks with the real IDs, and as root without the
		// capabilities a set-user-ID root program gained.
		c := t.Credentials()
		creds.UID, creds.GID = c.UID, c.GID
		if c.UID != 0 {
			creds.Caps = 0
		}
	}
	var want uint32
	if mode&unix.R_OK != 0 {
		want |= vfs.MayRead
	}
	if mode&unix.W_OK != 0 {
		want |= vfs.MayWrite
	}
	if mode&unix.X_OK != 0 {
		want |= vfs.MayExec
	}
	return 0, creds.MayAccess(&st, want)
}

// Access implements Linux syscall access(2).
func Access(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return accessAt(t, atFDCWD, args[0], uint32(args[1]), 0)
}

// Faccessat implements Linux syscall faccessat(2).
func Faccessat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return accessAt(t, int32(args[0]), args[1], uint32(args[2]), 0)
}

// Faccessat2 implements Linux syscall faccessat2(2).
func Faccessat2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return accessAt(t, int32(args[0]), args[1], uint32(args[2]), int(args[3]))
}

// Getcwd implements Linux syscall getcwd(2).
func Getcwd(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if t.Cwd().Deleted() {
		return 0, unix.ENOENT
	}
	path := t.Cwd().Path(t.Root())
	b := append([]byte(path), 0)
	if uint64(len(b)) > args[1] {
		return 0, unix.ERANGE
	}
	if _, err := t.CopyOut(args[0], b); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(b)), nil
}

// Chdir implements Linux syscall chdir(2).
func Chdir(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	path, err := copyInPath(t, args[0])
	if err != nil {
		return 0, err
	}
	d, err := vfs.Resolve(t.Root(), t.Cwd(), path, vfs.ResolveOpts{FollowFinal: true, WantDir: true, Creds: t.FSCreds()})
	if err != nil {
		return 0, err
	}
	if st, err := d.Inode().Stat(); err != nil {
		return 0, err
	} else if err := t.FSCreds().MayAccess(&st, vfs.MayExec); err != nil {
		return 0, err
	}
	t.SetCwd(d)
	return 0, nil
}

// Fchdir implements Linux syscall fchdir(2).
func Fchdir(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	d := f.Dentry()
	if d == nil {
		return 0, unix.ENOTDIR
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, unix.ENOTDIR
	}
	if err := t.FSCreds().MayAccess(&st, vfs.MayExec); err != nil {
		return 0, err
	}
	t.SetCwd(d)
	return 0, nil
}

// statfsToBytes encodes Linux's struct statfs.
func statfsToBytes(st *unix.Statfs_t) []byte {
	b := make([]byte, 120)
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(st.Type))
	le.PutUint64(b[8:], uint64(st.Bsize))
	le.PutUint64(b[16:], st.Blocks)
	le.PutUint64(b[24:], st.Bfree)
	le.PutUint64(b[32:], st.Bavail)
	le.PutUint64(b[40:], st.Files)
	le.PutUint64(b[48:], st.Ffree)
	le.PutUint32(b[56:], uint32(st.Fsid.Val[0]))
	le.PutUint32(b[60:], uint32(st.Fsid.Val[1]))
	le.PutUint64(b[64:], uint64(st.Namelen))
	le.PutUint64(b[72:], uint64(st.Frsize))
	le.PutUint64(b[80:], uint64(st.Flags))
	return b
}

// statfsBytes encodes Linux's struct statfs for a read-only file system.
func statfsBytes(fsType uint64) []byte {
	b := make([]byte, 120)
	le := binary.LittleEndian
	le.PutUint64(b[0:], fsType)
	le.PutUint64(b[8:], 4096)  // f_bsize
	le.PutUint64(b[64:], 255)  // f_namelen
	le.PutUint64(b[72:], 4096) // f_frsize
	le.PutUint64(b[80:], unix.ST_RDONLY|unix.ST_NOSUID|unix.ST_NODEV)
	return b
}

func statfsOf(t *kernel.Task, d *vfs.Dentry, addr uint64) (uint64, error) {
	if sf, ok := d.Inode().(vfs.StatFSer); ok {
		st, err := sf.StatFS()
		if err != nil {
			return 0, err
		}
		if d.ReadOnly() {
			st.Flags |= unix.ST_RDONLY
		}
		if _, err := t.CopyOut(addr, statfsToBytes(&st)); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	}
	fsType := uint64(0x01021994) // TMPFS_MAGIC for the sentry's own trees
	if st, err := d.Inode().Stat(); err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR {
		fsType = 0x1373 // DEVFS_SUPER_MAGIC
	}
	if _, err := t.CopyOut(addr, statfsBytes(fsType)); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Statfs implements Linux syscall statfs(2).
func Statfs(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	path, err := copyInPath(t, args[0])
	if err != nil {
		return 0, err
	}
	d, err := vfs.Resolve(t.Root(), t.Cwd(), path, vfs.ResolveOpts{FollowFinal: true})
	if err != nil {
		return 0, err
	}
	return statfsOf(t, d, args[1])
}

// Fstatfs implements Linux syscall fstatfs(2).
func Fstatfs(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.Dentry() == nil {
		// Pipes: PIPEFS_MAGIC.
		b := statfsBytes(0x50495045)
		if _, err := t.CopyOut(args[1], b); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	}
	return statfsOf(t, f.Dentry(), args[1])
}

// capSysChroot is CAP_SYS_CHROOT.
const capSysChroot = 18

// Chroot implements Linux syscall chroot(2).
func Chroot(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	path, err := copyInPath(t, args[0])
	if err != nil {
		return 0, err
	}
	d, err := resolveAt(t, atFDCWD, path, true, false)
	if err != nil {
		return 0, err
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, unix.ENOTDIR
	}
	if err := t.FSCreds().MayAccess(&st, vfs.MayExec); err != nil {
		return 0, err
	}
	if !t.FSCreds().HasCap(capSysChroot) {
		return 0, unix.EPERM
	}
	t.SetRoot(d)
	return 0, nil
}
