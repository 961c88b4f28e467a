package podsandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// mountRootfs mounts the container's root file system at target in the
// host mount namespace: an overlayfs of the lower dirs (topmost first)
// under upper/work, or, for a single lower dir and no upper, a read-only
// bind mount (overlayfs wants two lower dirs without an upper).
func mountRootfs(rfs Rootfs, target string) error {
	if rfs.Upper == "" && len(rfs.LowerDirs) == 1 {
		if err := unix.Mount(rfs.LowerDirs[0], target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mounting %s: %w", rfs.LowerDirs[0], err)
		}
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			_ = unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("making %s read-only: %w", target, err)
		}
		return nil
	}
	opts := overlayOptions(rfs.LowerDirs, rfs.Upper, rfs.Work)
	// The mount data is one page: a long chain of layers does not fit
	// with absolute paths. Then mount with paths relative to the layers'
	// common parent (image stores keep them side by side), from a thread
	// whose working directory is that parent.
	if len(opts) < os.Getpagesize()-1 {
		if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
			return fmt.Errorf("mounting overlay (%s): %w", opts, err)
		}
		return nil
	}
	dirs := append(slices.Clone(rfs.LowerDirs), rfs.Upper, rfs.Work)
	common := commonDir(dirs)
	rel := make([]string, len(dirs))
	for i, d := range dirs {
		r, err := filepath.Rel(common, d)
		if err != nil {
			return err
		}
		rel[i] = r
	}
	n := len(rfs.LowerDirs)
	var up, wk string
	if rfs.Upper != "" {
		up, wk = rel[n], rel[n+1]
	}
	opts = overlayOptions(rel[:n], up, wk)
	if len(opts) >= os.Getpagesize()-1 {
		return fmt.Errorf("overlay options of %d layers are %d bytes even relative to %s, over a page", n, len(opts), common)
	}
	return inDir(common, func() error {
		if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
			return fmt.Errorf("mounting overlay of %d layers relative to %s: %w", n, common, err)
		}
		return nil
	})
}

func overlayOptions(lower []string, upper, work string) string {
	opts := "lowerdir=" + strings.Join(lower, ":")
	if upper != "" {
		opts += ",upperdir=" + upper + ",workdir=" + work
	}
	return opts
}

// commonDir is the longest directory that holds every path in dirs.
func commonDir(dirs []string) string {
	common := filepath.Dir(filepath.Clean(dirs[0]))
	for _, d := range dirs[1:] {
		d = filepath.Clean(d)
		for common != "/" && !strings.HasPrefix(d, common+"/") {
			common = filepath.Dir(common)
		}
	}
	return common
}

// inDir runs f on an OS thread of its own whose working directory is
// dir. The thread unshares its file system attributes first, so the
// chdir does not move the rest of the daemon; it is not given back to
// the Go scheduler afterwards but ends with the goroutine.
func inDir(dir string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread's cwd differs from the
		// process's, so it must not run other goroutines.
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_FS): %w", err)
			return
		}
		if err := unix.Chdir(dir); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// bindFile bind-mounts the host file src on a new empty file at target,
// read-only when ro. The container's file mounts are served from a
// directory holding nothing but such a mount, so the gofer tree does not
// expose the file's neighbours on the host.
func bindFile(src, target string, ro bool) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s: %w", src, err)
	}
	if ro {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			_ = unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("making %s read-only: %w", target, err)
		}
	}
	return nil
}

// mountsUnder returns the mount points at or below dir in the daemon's
// mount namespace, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	// Deeper first, and a path mounted over several times once per
	// mount (unmounting it repeatedly peels them off).
	slices.SortStableFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return out, nil
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll unmounts everything at or below dir. A mount still busy
// (a descriptor the gofer has not closed yet) is detached lazily: it
// disappears from the namespace now and from the kernel once its last
// user lets go.
func unmountAll(dir string) error {
	mps, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, mp := range mps {
		err := unix.Unmount(mp, unix.UMOUNT_NOFOLLOW)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(mp, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}

// removeRunDir unmounts what is left below dir and removes it.
func removeRunDir(dir string) error {
	if err := unmountAll(dir); err != nil {
		return err
	}
	if err := removeSameDevice(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// removeSameDevice is os.RemoveAll that refuses to descend into another
// file system: should a mount have survived unmountAll, deleting through
// it would delete the container's (or a volume's) files.
func removeSameDevice(dir string) error {
	mntID := func(path string) (uint64, uint16, error) {
		var sx unix.Statx_t
		err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID|unix.STATX_TYPE, &sx)
		return sx.Mnt_id, sx.Mode, err
	}
	top, _, err := mntID(dir)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	var walk func(path string) error
	walk = func(path string) error {
		id, mode, err := mntID(path)
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return err
		}
		// The mount ID, not the device, also catches a bind mount of
		// the same file system.
		if id != top {
			return fmt.Errorf("%s is still a mount point", path)
		}
		if mode&unix.S_IFMT == unix.S_IFDIR {
			ents, err := os.ReadDir(path)
			if err != nil {
				return err
			}
			for _, e := range ents {
				if err := walk(filepath.Join(path, e.Name())); err != nil {
					return err
				}
			}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return walk(dir)
}
