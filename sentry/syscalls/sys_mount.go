package syscalls

import (
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/mqueue"
	"github.com/cocoonrt/cocoon/sentry/fs/proc"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// mount(2) inside the sandbox mounts the kinds of file system the sandbox
// owns: tmpfs, mqueue (sentry/fs/mqueue), bind mounts of the sandbox's
// own files, the sandbox's proc, sysfs and devpts again, remounts that
// change read-only and noexec, moves (MS_MOVE) and propagation types, in
// the caller's mount namespace. Host file systems are never reachable
// this way: the gofer serves what the pod spec mounted, nothing else.

// propagationTypes are mount(2)'s propagation changes. The type is kept
// per mount, copied with a namespace and shown in
// /proc/[pid]/mountinfo; mount events do not propagate between peers.
const propagationTypes = unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE

// mountDevBase numbers the device IDs of tmpfs instances mount(2) makes.
const mountDevBase = 0x100

// Mount implements Linux syscall mount(2).
func Mount(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := args[3]
	if !t.FSCreds().HasCap(vfs.CapSysAdmin) {
		return 0, unix.EPERM
	}
	targetPath, err := copyInPath(t, args[1])
	if err != nil {
		return 0, err
	}
	target, err := resolveAt(t, atFDCWD, targetPath, true, false)
	if err != nil {
		return 0, err
	}
	var data string
	if args[4] != 0 && flags&unix.MS_BIND == 0 {
		if data, err = t.CopyInString(args[4], 4096); err != nil {
			return 0, err
		}
	}
	readOnly, noExec := flags&unix.MS_RDONLY != 0, flags&unix.MS_NOEXEC != 0
	noSuid := flags&unix.MS_NOSUID != 0
	abs := target.Path(t.Root())
	switch {
	case flags&unix.MS_REMOUNT != 0:
		if !target.IsMountRoot() {
			return 0, unix.EINVAL
		}
		if flags&unix.MS_BIND == 0 {
			// Without MS_BIND the file system changes too (Linux's
			// reconfigure_super); one that cannot (a tree the gofer
			// serves read-only) stays as it is.
			if s, ok := target.Inode().(vfs.ReadOnlySetter); ok {
				s.SetReadOnlyFS(readOnly)
			}
		}
		target.SetMountFlags(readOnly, noExec)
		target.SetNoSuid(noSuid)
		return 0, nil
	case flags&unix.MS_BIND != 0:
		srcPath, err := copyInPath(t, args[0])
		if err != nil {
			return 0, err
		}
		src, err := resolveAt(t, atFDCWD, srcPath, true, false)
		if err != nil {
			return 0, err
		}
		if err := t.MountNamespace().CheckBind(src); err != nil {
			return 0, err
		}
		if err := sameKind(src, target); err != nil {
			return 0, err
		}
		// The new mount describes src's file system (its source, type
		// and per-mount flags: MS_BIND ignores the other flags, as
		// Linux's do_loopback does); MS_REC brings the mounts below
		// src along.
		m, err := t.MountNamespace().Bind(src, target, flags&unix.MS_REC != 0)
		if err != nil {
			return 0, err
		}
		t.AddMount(kernel.MountRecord{
			Source: src.Path(t.Root()), Target: abs, FSType: "none",
			Options: mountOptions(m.MountReadOnly(), m.NoExec(), m.NoSuid()),
		})
		return 0, nil
	case flags&propagationTypes != 0:
		// One type, with MS_REC and MS_SILENT at most.
		typ := flags &^ (unix.MS_REC | unix.MS_SILENT)
		if typ&(typ-1) != 0 || typ&^propagationTypes != 0 {
			return 0, unix.EINVAL
		}
		return 0, t.MountNamespace().SetPropagation(target, typ, flags&unix.MS_REC != 0)
	case flags&unix.MS_MOVE != 0:
		srcPath, err := copyInPath(t, args[0])
		if err != nil {
			return 0, err
		}
		src, err := resolveAt(t, atFDCWD, srcPath, true, false)
		if err != nil {
			return 0, err
		}
		return 0, t.MountNamespace().Move(src, target)
	}
	fsType, err := t.CopyInString(args[2], 64)
	if err != nil {
		return 0, err
	}
	if st, err := target.Inode().Stat(); err != nil {
		return 0, err
	} else if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, unix.ENOTDIR
	}
	// The source names the mount in /proc/[pid]/mounts and mountinfo,
	// whatever the file system makes of it: "none" without one, as
	// Linux's vfs_create_mount names a mount without fc->source.
	source := "none"
	if args[0] != 0 {
		if source, err = copyInMountString(t, args[0]); err != nil {
			return 0, err
		}
	}
	var inode vfs.Inode
	switch fsType {
	case "tmpfs":
		opts, err := tmpfsOptions(data)
		if err != nil {
			return 0, err
		}
		opts.Dev = mountDevBase + uint64(len(t.MountRecords()))
		inode = tmpfs.New(t.Kernel().MemFile, opts).Root()
	case "mqueue":
		// The caller's IPC namespace's queues, which every mqueue
		// mount of the namespace shows; the file system takes no
		// options.
		if data != "" {
			return 0, unix.EINVAL
		}
		inode = mqueue.Get(t.IPCNamespace().MQueues()).Root()
	case "proc", "sysfs", "devpts":
		at := map[string]string{"proc": "proc", "sysfs": "sys", "devpts": "dev/pts"}[fsType]
		// The instance mounted at the usual place of the caller's
		// mount namespace (its container's own /proc in pod mode).
		d, err := vfs.Resolve(t.SandboxRoot(), t.SandboxRoot(), at, vfs.ResolveOpts{FollowFinal: true})
		if err != nil {
			return 0, unix.ENODEV
		}
		inode = d.Inode()
		if fsType == "proc" {
			// A proc mount shows the mounter's PID namespace.
			if in, ok := proc.ForPIDNamespace(inode, t.PIDNamespace()); ok {
				inode = in
			}
		}
	default:
		return 0, unix.ENODEV
	}
	info := vfs.MountInfo{Source: source, FSType: fsType, NoDev: true}
	if st, err := inode.Stat(); err == nil {
		info.Dev = st.Dev
	}
	m, err := t.MountNamespace().Mount(target, inode, info)
	if err != nil {
		return 0, err
	}
	m.SetMountFlags(readOnly, noExec)
	m.SetNoSuid(noSuid)
	t.AddMount(kernel.MountRecord{Source: source, Target: abs, FSType: fsType, Options: mountOptions(readOnly, noExec, noSuid), NoDev: true})
	return 0, nil
}

// copyInMountString copies in a string argument of mount(2) as Linux's
// copy_mount_string does (strndup_user with PATH_MAX): one that does not
// end within PATH_MAX bytes is EINVAL, not ENAMETOOLONG.
func copyInMountString(t *kernel.Task, addr uint64) (string, error) {
	s, err := t.CopyInString(addr, vfs.PathMax)
	if err == unix.ENAMETOOLONG {
		return "", unix.EINVAL
	}
	return s, err
}

func mountOptions(readOnly, noExec, noSuid bool) string {
	o := "rw"
	if readOnly {
		o = "ro"
	}
	if noSuid {
		o += ",nosuid"
	}
	if noExec {
		o += ",noexec"
	}
	return o + ",relatime"
}

// sameKind checks a bind mount puts a directory on a directory and a
// non-directory on a non-directory.
func sameKind(src, target *vfs.Dentry) error {
	s, err := src.Inode().Stat()
	if err != nil {
		return err
	}
	d, err := target.Inode().Stat()
	if err != nil {
		return err
	}
	srcDir, dstDir := s.Mode&unix.S_IFMT == unix.S_IFDIR, d.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case srcDir && !dstDir:
		return unix.ENOTDIR
	case !srcDir && dstDir:
		return unix.EISDIR
	}
	return nil
}

// tmpfsOptions parses tmpfs's mount data; an unknown or malformed option
// is EINVAL, as Linux's tmpfs says.
func tmpfsOptions(data string) (tmpfs.Options, error) {
	o := tmpfs.Options{Mode: 0o1777}
	for _, opt := range strings.Split(data, ",") {
		if opt == "" {
			continue
		}
		if known, err := o.ParseOption(opt); err != nil || !known {
			return o, unix.EINVAL
		}
	}
	return o, nil
}

// Umount2 implements Linux syscall umount2(2). A busy mount (a file open
// in it, a working directory or root inside it, a mount below it) is
// EBUSY unless MNT_DETACH detaches it lazily: open files keep working.
func Umount2(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := int(args[1])
	if flags&^(unix.MNT_FORCE|unix.MNT_DETACH|unix.MNT_EXPIRE|unix.UMOUNT_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	if !t.FSCreds().HasCap(vfs.CapSysAdmin) {
		return 0, unix.EPERM
	}
	p, err := copyInPath(t, args[0])
	if err != nil {
		return 0, err
	}
	d, err := resolveAt(t, atFDCWD, p, flags&unix.UMOUNT_NOFOLLOW == 0, false)
	if err != nil {
		return 0, err
	}
	abs := d.Path(t.Root())
	ns := t.MountNamespace()
	if flags&unix.MNT_DETACH != 0 {
		err = ns.Unmount(d)
	} else {
		err = ns.UnmountIdle(d, mountUsers(t))
	}
	if err != nil {
		return 0, err
	}
	t.RemoveMount(path.Clean(abs))
	return 0, nil
}
