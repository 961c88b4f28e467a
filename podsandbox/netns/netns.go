// Package netns makes and removes named network namespaces, as
// `ip netns add` does: a namespace lives on, with no process in it, as
// long as its /proc/.../ns/net file is bind-mounted somewhere. The
// daemon makes one per pod before the pod's processes exist (CNI sets
// it up first) and removes it after they are gone.
package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// New creates a network namespace and bind-mounts it on path, a file
// that must not exist (its directory is created). On failure nothing is
// left at path.
func New(path string) (retErr error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return fmt.Errorf("netns: creating the mount point: %w", err)
	}
	f.Close()
	defer func() {
		if retErr != nil {
			_ = os.Remove(path)
		}
	}()
	return onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("netns: unshare: %w", err)
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("netns: bind-mounting %s on %s: %w", src, path, err)
		}
		return nil
	})
}

// onThread runs f on a locked OS thread whose network namespace f may
// change, and puts the thread back in its namespace afterwards. unshare
// and setns change only the calling thread, so the goroutine stays
// locked to it throughout. Should the thread not return to its
// namespace, it stays locked and the goroutine exits, so the Go runtime
// ends the thread instead of running other goroutines in the wrong
// namespace. The thread is restored rather than always discarded
// because the runtime cannot end the main thread: it parks it for good,
// and a parked main thread would keep a pod's namespace alive and make
// /proc/PID/ns/net of the whole process point at it.
func onThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: %w", err)
			return
		}
		defer orig.Close()
		errc <- f()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}

// Remove unmounts the namespace at path and removes the file. The
// namespace itself goes when its last process does. A missing path, or
// a file that is no longer a mount, is fine: Remove finishes what an
// earlier, interrupted Remove began.
func Remove(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	switch {
	case err == nil, errors.Is(err, unix.EINVAL):
		// EINVAL: not a mount point (already unmounted).
	case errors.Is(err, unix.ENOENT):
		return nil
	default:
		return fmt.Errorf("netns: unmounting %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("netns: %w", err)
	}
	return nil
}

// Is reports whether path is a network namespace file.
func Is(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// Do runs f on an OS thread that has joined the network namespace at
// path, and returns the thread to its own namespace afterwards (see
// onThread). f must not start goroutines that expect to be in the
// namespace. A child process f starts (clone copies the calling
// thread's namespaces) runs in it.
func Do(path string, f func() error) error {
	ns, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	defer ns.Close()
	return onThread(func() error {
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("netns: joining %s: %w", path, err)
		}
		return f()
	})
}

// ID returns an identifier of the namespace at path (its nsfs inode), to
// compare with /proc/PID/ns/net.
func ID(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("netns: %w", err)
	}
	return st.Ino, nil
}
