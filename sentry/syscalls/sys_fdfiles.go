package syscalls

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/inotify"
	"github.com/cocoonrt/cocoon/sentry/fs/timerfd"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// The descriptors that are not files: signalfd, timerfd and inotify.

// capWakeAlarm is CAP_WAKE_ALARM.
const capWakeAlarm = 35

func isSignalFile(f *vfs.File) bool {
	_, ok := f.Impl().(*kernel.SignalFile)
	return ok
}

// installFile gives impl a descriptor, with O_NONBLOCK and O_CLOEXEC from
// flags.
func installFile(t *kernel.Task, impl vfs.FileImpl, access int, flags int) (uint64, error) {
	f := vfs.NewFile(impl, nil, access|flags&unix.O_NONBLOCK)
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, flags&unix.O_CLOEXEC != 0, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	return uint64(fd), err
}

func signalfd(t *kernel.Task, fd int32, maskAddr, size uint64, flags int) (uint64, error) {
	if flags&^(unix.SFD_CLOEXEC|unix.SFD_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	if size != sigsetSize {
		return 0, unix.EINVAL
	}
	mask, err := copyInSigSet(t, maskAddr)
	if err != nil {
		return 0, err
	}
	if fd != -1 {
		f, err := getFile(t, fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		sf, ok := f.Impl().(*kernel.SignalFile)
		if !ok {
			return 0, unix.EINVAL
		}
		sf.SetMask(mask)
		return uint64(fd), nil
	}
	return installFile(t, kernel.NewSignalFile(t, mask), unix.O_RDONLY, flags)
}

// Signalfd implements Linux syscall signalfd(2).
func Signalfd(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return signalfd(t, int32(args[0]), args[1], args[2], 0)
}

// Signalfd4 implements Linux syscall signalfd4(2).
func Signalfd4(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return signalfd(t, int32(args[0]), args[1], args[2], int(args[3]))
}

// TimerfdCreate implements Linux syscall timerfd_create(2).
func TimerfdCreate(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := int(args[1])
	f, err := timerfd.New(int32(args[0]), flags, timensClock(t, int32(args[0])), t.FSCreds().HasCap(capWakeAlarm))
	if err != nil {
		return 0, err
	}
	return installFile(t, f, unix.O_RDWR, flags)
}

func timerfdOf(t *kernel.Task, fd int32) (*timerfd.File, func(), error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	tf, ok := f.Impl().(*timerfd.File)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EINVAL
	}
	return tf, f.DecRef, nil
}

func copyInItimerspec(t *kernel.Task, addr uint64) (unix.ItimerSpec, error) {
	var b [32]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return unix.ItimerSpec{}, unix.EFAULT
	}
	le := binary.LittleEndian
	return unix.ItimerSpec{
		Interval: unix.Timespec{Sec: int64(le.Uint64(b[0:])), Nsec: int64(le.Uint64(b[8:]))},
		Value:    unix.Timespec{Sec: int64(le.Uint64(b[16:])), Nsec: int64(le.Uint64(b[24:]))},
	}, nil
}

func copyOutItimerspecRaw(t *kernel.Task, addr uint64, s unix.ItimerSpec) error {
	var b [32]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(s.Interval.Sec))
	le.PutUint64(b[8:], uint64(s.Interval.Nsec))
	le.PutUint64(b[16:], uint64(s.Value.Sec))
	le.PutUint64(b[24:], uint64(s.Value.Nsec))
	if _, err := t.CopyOut(addr, b[:]); err != nil {
		return unix.EFAULT
	}
	return nil
}

// TimerfdSettime implements Linux syscall timerfd_settime(2).
func TimerfdSettime(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	tf, done, err := timerfdOf(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer done()
	its, err := copyInItimerspec(t, args[2])
	if err != nil {
		return 0, err
	}
	spec, err := timerfd.SpecFromItimerSpec(its)
	if err != nil {
		return 0, err
	}
	old, err := tf.SetTime(int(args[1]), spec)
	if err != nil {
		return 0, err
	}
	if args[3] != 0 {
		return 0, copyOutItimerspecRaw(t, args[3], old.ItimerSpec())
	}
	return 0, nil
}

// TimerfdGettime implements Linux syscall timerfd_gettime(2).
func TimerfdGettime(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	tf, done, err := timerfdOf(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer done()
	return 0, copyOutItimerspecRaw(t, args[1], tf.GetTime().ItimerSpec())
}

// InotifyInit1 implements Linux syscall inotify_init1(2).
func InotifyInit1(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := int(args[0])
	if flags&^(unix.IN_CLOEXEC|unix.IN_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	return installFile(t, inotify.New(t.Kernel().Inotify()), unix.O_RDONLY, flags)
}

// InotifyInit implements Linux syscall inotify_init(2).
func InotifyInit(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return installFile(t, inotify.New(t.Kernel().Inotify()), unix.O_RDONLY, 0)
}

// InotifyAddWatch implements Linux syscall inotify_add_watch(2).
func InotifyAddWatch(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	mask := uint32(args[2])
	if err := inotify.CheckMask(mask); err != nil {
		return 0, err
	}
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	in, ok := f.Impl().(*inotify.Instance)
	if !ok {
		return 0, unix.EINVAL
	}
	path, err := copyInPath(t, args[1])
	if err != nil {
		return 0, err
	}
	d, err := resolveAt(t, atFDCWD, path, mask&unix.IN_DONT_FOLLOW == 0, false)
	if err != nil {
		return 0, err
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return 0, err
	}
	if mask&unix.IN_ONLYDIR != 0 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, unix.ENOTDIR
	}
	if err := t.FSCreds().MayAccess(&st, vfs.MayRead); err != nil {
		return 0, err
	}
	wd, err := in.AddWatch(targetOf(&st), mask)
	return uint64(wd), err
}

// InotifyRmWatch implements Linux syscall inotify_rm_watch(2).
func InotifyRmWatch(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	in, ok := f.Impl().(*inotify.Instance)
	if !ok {
		return 0, unix.EINVAL
	}
	return 0, in.RmWatch(int32(args[1]))
}

// watchKey identifies an inode for inotify.
type watchKey struct{ dev, ino uint64 }

func targetOf(st *unix.Stat_t) inotify.WatchTarget { return watchKey{st.Dev, st.Ino} }

// targetOfDentry returns d's watch target and whether it is a directory;
// nil for a dentry that cannot be stat'ed, or that has no inode (the
// parent of an anonymous file's dentry: a pipe's, a socket's).
func targetOfDentry(d *vfs.Dentry) (inotify.WatchTarget, bool) {
	if d == nil || d.Inode() == nil {
		return nil, false
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return nil, false
	}
	return targetOf(&st), st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// notifyChild reports an event on the name name in dir (IN_CREATE,
// IN_DELETE).
func notifyChild(t *kernel.Task, dir *vfs.Dentry, name string, mask uint32, isDir bool) {
	reg := t.Kernel().Inotify()
	if !reg.Active() {
		return
	}
	target, _ := targetOfDentry(dir)
	if target != nil {
		reg.Notify(target, mask, 0, name, isDir)
	}
}

// notifyCreated reports IN_CREATE for a new name in dir.
func notifyCreated(t *kernel.Task, dir *vfs.Dentry, name string) {
	reg := t.Kernel().Inotify()
	if !reg.Active() {
		return
	}
	c, err := vfs.Resolve(t.Root(), dir, name, vfs.ResolveOpts{})
	isDir := false
	if err == nil {
		_, isDir = targetOfDentry(c)
	}
	notifyChild(t, dir, name, unix.IN_CREATE, isDir)
}

// notifyFile reports an event on d itself and on its parent directory
// (IN_MODIFY, IN_ATTRIB, IN_OPEN, IN_CLOSE_*).
func notifyFile(t *kernel.Task, d *vfs.Dentry, mask uint32) {
	reg := t.Kernel().Inotify()
	if !reg.Active() || d == nil {
		return
	}
	child, isDir := targetOfDentry(d)
	if child == nil {
		return
	}
	parent, _ := targetOfDentry(d.Parent())
	if d.Deleted() {
		reg.NotifyUnlinked(parent, child, d.Name(), mask, isDir)
		return
	}
	reg.NotifyFile(parent, child, d.Name(), mask, isDir)
}

// watchOpen reports IN_OPEN and arranges IN_CLOSE_WRITE or
// IN_CLOSE_NOWRITE when the description is released.
func watchOpen(t *kernel.Task, f *vfs.File) {
	reg := t.Kernel().Inotify()
	if !reg.Active() || f.Dentry() == nil {
		return
	}
	d := f.Dentry()
	notifyFile(t, d, unix.IN_OPEN)
	closeMask := uint32(unix.IN_CLOSE_NOWRITE)
	if f.Writable() {
		closeMask = unix.IN_CLOSE_WRITE
	}
	f.OnRelease(reg, func() { notifyFile(t, d, closeMask) })
}

// notifyRemoved snapshots the name about to be removed from dir and
// returns the function that reports its removal (if it happened).
func notifyRemoved(t *kernel.Task, dir *vfs.Dentry, name string) func() {
	c, err := vfs.Resolve(t.Root(), dir, name, vfs.ResolveOpts{})
	if err != nil {
		return func() {}
	}
	target, isDir := targetOfDentry(c)
	return func() {
		if !c.Deleted() {
			return
		}
		reg := t.Kernel().Inotify()
		if !isDir {
			reg.Notify(target, unix.IN_ATTRIB, 0, "", false)
		}
		if st, err := c.Inode().Stat(); isDir || (err == nil && st.Nlink == 0) || err != nil {
			reg.TargetGone(target)
		}
		notifyChild(t, dir, name, unix.IN_DELETE, isDir)
	}
}

// notifyRenamed snapshots a rename's parties and returns the function
// that reports it once done.
func notifyRenamed(t *kernel.Task, oldDir *vfs.Dentry, oldName string, newDir *vfs.Dentry, newName string, flags uint32) func() {
	root := t.Root()
	src, err := vfs.Resolve(root, oldDir, oldName, vfs.ResolveOpts{})
	if err != nil {
		return nil
	}
	moved, isDir := targetOfDentry(src)
	var replaced inotify.WatchTarget
	replacedIsDir := false
	if dst, err := vfs.Resolve(root, newDir, newName, vfs.ResolveOpts{}); err == nil {
		replaced, replacedIsDir = targetOfDentry(dst)
	}
	oldT, _ := targetOfDentry(oldDir)
	newT, _ := targetOfDentry(newDir)
	return func() {
		reg := t.Kernel().Inotify()
		if flags&unix.RENAME_EXCHANGE != 0 {
			reg.NotifyRename(oldT, newT, moved, nil, oldName, newName, isDir)
			reg.NotifyRename(newT, oldT, replaced, nil, newName, oldName, replacedIsDir)
			return
		}
		reg.NotifyRename(oldT, newT, moved, replaced, oldName, newName, isDir)
		if replaced != nil {
			reg.TargetGone(replaced)
		}
	}
}
