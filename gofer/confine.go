package gofer

// # Confinement
//
// The gofer is trusted, but it parses requests the untrusted sentry crafts,
// so a bug in it must not hand the sentry the host. Unless started with
// --unconfined (a debugging aid that is unsafe), `cocoon gofer` confines
// itself before it reads its first request, in two steps.
//
// confineMounts (still with all of root's capabilities) gives the gofer a
// file system view holding only its trees. It needs a mount namespace of
// its own (the sandbox starts it with CLONE_NEWNS, and also with new IPC,
// network and UTS namespaces, which it has no use for; a caller that is not
// root adds a user namespace mapping its own IDs to 0) and refuses to run
// in its parent's or init's mount namespace, since pivot_root there would
// move the root of every process in it. It makes every mount private (so
// nothing propagates back to the host), clones each tree's mount tree
// (open_tree with OPEN_TREE_CLONE|AT_RECURSIVE, before anything else is
// mounted, so a tree that is "/" does not contain the new root) and marks
// each clone, recursively, nosuid and nodev (and read-only for a read-only
// tree), so a device node swapped into a tree cannot be opened at all. It
// then mounts a small tmpfs over $TMPDIR (in this namespace only, so the
// host sees no trace of it, even of a gofer killed half way), moves tree i
// to /i in it, pivots into it (pivot_root(".", ".") and a lazy unmount of
// the old root) and makes the new root read-only. From then on the gofer sees its trees and
// nothing else of the host: no /proc, /sys, /dev or /tmp. The server opens
// the trees at their new paths, so the descriptors it serves carry the
// new mounts' flags. On kernels without open_tree (before 5.2) it falls
// back to recursive bind mounts, and without mount_setattr (before 5.12)
// it applies the flags to each tree's top mount only.
//
// restrictProcess, once the trees and the socket are open, drops
// privileges:
//
//   - Capabilities: the bounding set, the permitted and effective sets
//     keep only CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH (linkat
//     with AT_EMPTY_PATH needs it), CAP_FOWNER and CAP_FSETID, what serving
//     files of any owner takes; the inheritable and ambient sets are
//     emptied and no_new_privs is set. Capabilities are per thread, and a
//     Go program has many threads, so each change is made on every thread
//     of the process with syscall.AllThreadsSyscall (threads created later
//     inherit from the thread that creates them). AllThreadsSyscall is
//     unsupported in a binary that links cgo; the gofer then fails with an
//     error that says so rather than run half-confined. Build cocoon with
//     CGO_ENABLED=0, as the Makefile does.
//   - seccomp: an allow-list filter (seccomp_amd64.go) installed with
//     SECCOMP_FILTER_FLAG_TSYNC, which applies it to every thread at once.
//     It checks the architecture, refuses x32 numbers, allows the calls
//     the server and the Go runtime make while serving, some only with
//     safe arguments (clone only for threads, mmap and mprotect never
//     executable, kill and tgkill only to the gofer itself, arch_prctl
//     only ARCH_SET_FS, prctl only PR_SET_VMA) and kills the whole process
//     (SIGSYS, after a line on its log naming the call) on anything else: no socket,
//     connect, execve, ptrace, mount, open_by_handle_at, ioctl, ...
//     accept4 is allowed for the tree socket (treesocket.go); with socket,
//     bind and listen refused, the only listener the gofer can accept on
//     is the one the daemon passed it.
//
// A node may lack what the gofer would give up anyway: a bounding set
// that cannot be changed (no CAP_SETPCAP) or capabilities that are already
// missing are logged and tolerated; everything else that fails is an error
// and the gofer exits 1 before serving.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/caps"
	hs "github.com/cocoonrt/cocoon/internal/hostseccomp"
)

// skipConfine is set by this package's tests, which call Main in the test
// process itself; confine_test.go checks confinement in child processes.
var skipConfine bool

// legacyMounts makes confineMounts use what kernels before 5.2 offer,
// for tests.
var legacyMounts bool

// goferCaps are the capabilities a confined gofer keeps.
var goferCaps = []int{
	unix.CAP_CHOWN,
	unix.CAP_DAC_OVERRIDE,
	unix.CAP_DAC_READ_SEARCH,
	unix.CAP_FOWNER,
	unix.CAP_FSETID,
}

// checkOwnMountNS fails unless the process is in a mount namespace other
// than its parent's and init's.
func checkOwnMountNS() error {
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &self); err != nil {
		return fmt.Errorf("checking the mount namespace (is /proc mounted?): %w", err)
	}
	for _, who := range []string{strconv.Itoa(os.Getppid()), "1"} {
		var st unix.Stat_t
		if unix.Stat("/proc/"+who+"/ns/mnt", &st) == nil && st.Dev == self.Dev && st.Ino == self.Ino {
			return fmt.Errorf("the gofer shares the mount namespace of process %s; start it in a new one (CLONE_NEWNS), or pass --unconfined", who)
		}
	}
	return nil
}

// confineMounts makes the process's root a new read-only tmpfs holding
// only trees, tree i at /i, and returns trees with their new paths. The
// process must be in a mount namespace of its own (checkOwnMountNS).
func confineMounts(trees []Tree, logw io.Writer) ([]Tree, error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return nil, fmt.Errorf("making mounts private: %w", err)
	}
	// Clone every tree before the new root exists.
	clones := make([]int, len(trees))
	for i := range clones {
		clones[i] = -1
	}
	defer func() {
		for _, fd := range clones {
			if fd >= 0 {
				_ = unix.Close(fd)
			}
		}
	}()
	haveOpenTree, haveSetattr := !legacyMounts, !legacyMounts
	isFile := make([]bool, len(trees))
	for i, t := range trees {
		var st unix.Stat_t
		if err := unix.Stat(t.Path, &st); err != nil {
			return nil, fmt.Errorf("gofer: open root %q: %w", t.Path, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
		case unix.S_IFREG:
			// A file tree (a bind-mounted /etc/hosts): served as a
			// directory holding only that file.
			isFile[i] = true
		default:
			return nil, fmt.Errorf("gofer: open root %q: %w", t.Path, unix.ENOTDIR)
		}
		if !haveOpenTree {
			continue
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, t.Path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err == unix.ENOSYS {
			fmt.Fprintf(logw, "cocoon gofer: open_tree unavailable (kernel before 5.2); using bind mounts\n")
			haveOpenTree = false
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cloning the mounts of %s: %w", t.Path, err)
		}
		clones[i] = fd
		if haveSetattr {
			attr := unix.MountAttr{Attr_set: treeMountAttr(t)}
			err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
			if err == unix.ENOSYS {
				fmt.Fprintf(logw, "cocoon gofer: mount_setattr unavailable (kernel before 5.12); nodev/nosuid/ro apply to the top mount of each tree only\n")
				haveSetattr = false
			} else if err != nil {
				return nil, fmt.Errorf("setting mount flags of %s: %w", t.Path, err)
			}
		}
	}
	if !haveOpenTree {
		// A mix is possible only if open_tree vanished half way; keep
		// one way of doing it.
		for i, fd := range clones {
			if fd >= 0 {
				_ = unix.Close(fd)
				clones[i] = -1
			}
		}
	}

	// Without open_tree, trees are bind-mounted by path once the new root
	// is mounted, and the new root may hide a tree's path: reach each
	// through a descriptor opened now.
	var treeFDs []int
	defer func() {
		for _, fd := range treeFDs {
			_ = unix.Close(fd)
		}
	}()
	if !haveOpenTree {
		for _, t := range trees {
			fd, err := unix.Open(t.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, fmt.Errorf("gofer: open root %q: %w", t.Path, err)
			}
			treeFDs = append(treeFDs, fd)
		}
	}

	// The new root is mounted over the temporary directory itself, not over
	// a new directory in it: the mount lives only in this private mount
	// namespace, so a gofer killed at any point leaves nothing behind on
	// the host.
	newRoot := os.TempDir()
	removeNewRoot := true
	defer func() {
		if removeNewRoot {
			_ = unix.Unmount(newRoot, unix.MNT_DETACH)
		}
	}()
	opts := fmt.Sprintf("mode=0755,size=64k,nr_inodes=%d", 2*len(trees)+16)
	if err := unix.Mount("tmpfs", newRoot, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return nil, fmt.Errorf("mounting a tmpfs at %s: %w", newRoot, err)
	}
	out := make([]Tree, len(trees))
	for i, t := range trees {
		name := strconv.Itoa(i)
		target := filepath.Join(newRoot, name)
		if err := unix.Mkdir(target, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", target, err)
		}
		if isFile[i] {
			target = filepath.Join(target, filepath.Base(t.Path))
			fd, err := unix.Open(target, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
			if err != nil {
				return nil, fmt.Errorf("creating %s: %w", target, err)
			}
			_ = unix.Close(fd)
		}
		if haveOpenTree {
			if err := unix.MoveMount(clones[i], "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
				return nil, fmt.Errorf("mounting %s at %s: %w", t.Path, target, err)
			}
		} else if err := unix.Mount("/proc/self/fd/"+strconv.Itoa(treeFDs[i]), target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return nil, fmt.Errorf("bind-mounting %s at %s: %w", t.Path, target, err)
		}
		if !haveOpenTree || !haveSetattr {
			flags, err := keptMountFlags(target)
			if err != nil {
				return nil, err
			}
			if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|flags|treeMountFlags(t), ""); err != nil {
				return nil, fmt.Errorf("setting mount flags of %s: %w", target, err)
			}
		}
		out[i] = Tree{Name: t.Name, Path: "/" + name, ReadOnly: t.ReadOnly}
	}

	if err := unix.Chdir(newRoot); err != nil {
		return nil, err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return nil, fmt.Errorf("pivot_root to %s: %w", newRoot, err)
	}
	removeNewRoot = false
	// The old root is now stacked on the new one; detach it, and with
	// it every host mount.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return nil, fmt.Errorf("detaching the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return nil, err
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return nil, fmt.Errorf("making the new root read-only: %w", err)
	}
	return out, nil
}

// treeMountAttr is the mount_setattr attributes of t's mounts.
func treeMountAttr(t Tree) uint64 {
	a := uint64(unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV)
	if t.ReadOnly {
		a |= unix.MOUNT_ATTR_RDONLY
	}
	return a
}

// keptMountFlags returns the flags of the mount at path that a bind
// remount must repeat so as not to clear them (a read-only host mount
// served as a read-write tree stays read-only).
func keptMountFlags(path string) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("reading the mount flags of %s: %w", path, err)
	}
	var f uintptr
	for _, m := range []struct{ st, ms uintptr }{
		{unix.ST_RDONLY, unix.MS_RDONLY},
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&m.st != 0 {
			f |= m.ms
		}
	}
	return f, nil
}

// treeMountFlags is treeMountAttr as mount(2) flags.
func treeMountFlags(t Tree) uintptr {
	f := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
	if t.ReadOnly {
		f |= unix.MS_RDONLY
	}
	return f
}

// restrictProcess drops every capability but goferCaps, sets no_new_privs
// and installs the seccomp filter, on every thread.
func restrictProcess(logw io.Writer) error {
	keep := caps.Mask(goferCaps...)
	// The bounding set limits what an execve could regain.
	if err := caps.DropBounding(keep); errors.Is(err, unix.EPERM) {
		// No CAP_SETPCAP: the bounding set is the node's to keep;
		// seccomp refuses execve anyway.
		fmt.Fprintf(logw, "cocoon gofer: capability bounding set left as is (no CAP_SETPCAP)\n")
	} else if err != nil {
		return err
	}
	if err := caps.ClearAmbient(); err != nil {
		return err
	}
	have, err := caps.Permitted()
	if err != nil {
		return err
	}
	if missing := keep &^ have; missing != 0 {
		fmt.Fprintf(logw, "cocoon gofer: running without capabilities %#x, which the node did not grant; files of other owners may be inaccessible\n", missing)
	}
	if err := caps.Set(keep & have); err != nil {
		return err
	}
	if err := caps.AllThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	return installSeccomp(logw)
}

// installSeccomp installs the gofer's filter on every thread. A refused
// call ends the gofer by SIGSYS after a line on its log naming it
// (hostseccomp.InstallReporter).
func installSeccomp(logw io.Writer) error {
	rules := goferRules(uint32(os.Getpid()))
	if len(rules) == 0 {
		return fmt.Errorf("no seccomp allow-list for this architecture; only amd64 is supported")
	}
	action := uint32(unix.SECCOMP_RET_TRAP)
	if seccompTestAction != 0 {
		action = seccompTestAction
	} else if err := hs.InstallReporter("cocoon gofer", nil); err != nil {
		return err
	}
	filter, err := hs.Build(seccompArch, rules, action)
	if err != nil {
		return err
	}
	return hs.Install(filter)
}

// seccompTestAction, when not zero, replaces the filter's default action;
// only for finding the allow-list (SECCOMP_RET_LOG).
var seccompTestAction uint32
