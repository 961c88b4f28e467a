package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A host overlay's writable layer lives in a temporary directory that
// Wait removes. A caller killed outright (SIGKILL, a crash) cannot: its
// gofer and sentry die with it (Pdeathsig), and the directory would stay.
// So the directory holds a lock file its sandbox keeps locked (flock)
// until it is removed; every new host-overlay sandbox first removes the
// directories whose lock nobody holds, that is, whose sandbox is gone.

const (
	overlayDirPattern = "cocoon-overlay-"
	overlayLockName   = "owner.lock"
	// lockingSuffix names the lock file until it is locked.
	lockingSuffix = ".new"
	// storeName is the file of an OverlayStore sandbox's writable layer.
	storeName = "store"
	// staleEmptyAfter is how old a directory without a lock file must be
	// before a sweep takes it for the leftover of a sandbox killed between
	// creating it and locking its lock, rather than one being created now.
	// Only empty ones (but for a lock file not yet named) are removed.
	staleEmptyAfter = time.Minute
)

// overlayDir is a host overlay's temporary directory and its held lock.
type overlayDir struct {
	path string
	lock *os.File
}

// newOverlayDir sweeps stale overlay directories from parent (the
// temporary directory when empty) and creates a locked one.
func newOverlayDir(parent string, log io.Writer) (*overlayDir, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	sweepOverlayDirs(parent, log)
	path, err := os.MkdirTemp(parent, overlayDirPattern)
	if err != nil {
		return nil, err
	}
	// The lock file gets its name only once locked: a sweep running
	// meanwhile must never find it unlocked and take the directory for
	// a dead sandbox's.
	unnamed := filepath.Join(path, overlayLockName+lockingSuffix)
	lock, err := os.OpenFile(unnamed, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			err = os.Rename(unnamed, filepath.Join(path, overlayLockName))
		}
		if err != nil {
			lock.Close()
		}
	}
	if err != nil {
		_ = os.RemoveAll(path)
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &overlayDir{path: path, lock: lock}, nil
}

// remove removes the directory, then lets its lock go.
func (d *overlayDir) remove() {
	_ = os.RemoveAll(d.path)
	d.lock.Close()
}

// sweepOverlayDirs removes the overlay directories in parent whose sandbox
// is gone: those whose lock file can be locked, and empty ones without a
// lock file older than staleEmptyAfter. What it removes is logged to log.
func sweepOverlayDirs(parent string, log io.Writer) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), overlayDirPattern) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if !overlayDirStale(dir) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			if log != nil {
				fmt.Fprintf(log, "cocoon: removing %s, left by a sandbox that is gone: %v\n", dir, err)
			}
			continue
		}
		if log != nil {
			fmt.Fprintf(log, "cocoon: removed %s, left by a sandbox that is gone\n", dir)
		}
	}
}

// overlayDirStale reports whether dir's sandbox is gone.
func overlayDirStale(dir string) bool {
	lock, err := os.OpenFile(filepath.Join(dir, overlayLockName), os.O_RDWR|unix.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		st, err := os.Stat(dir)
		if err != nil || time.Since(st.ModTime()) < staleEmptyAfter {
			return false
		}
		names, err := os.ReadDir(dir)
		return err == nil && (len(names) == 0 || len(names) == 1 && names[0].Name() == overlayLockName+lockingSuffix)
	}
	if err != nil {
		return false
	}
	defer lock.Close()
	// The lock goes with this descriptor: a sandbox starting now that
	// finds the directory sees it removed, not locked by the sweep.
	return unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}
