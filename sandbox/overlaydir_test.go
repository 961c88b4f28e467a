package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOverlayDirSweep(t *testing.T) {
	parent := t.TempDir()
	mk := func(name string, files ...string) string {
		dir := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(dir, "upper"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	old := time.Now().Add(-2 * staleEmptyAfter)
	// A live sandbox: its lock is held.
	live, err := newOverlayDir(parent, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.remove()
	// A sandbox killed outright: its lock file is there, unlocked.
	killed := mk(overlayDirPattern+"killed", overlayLockName, "upper/data")
	// Killed between creating the directory and its lock: empty, old.
	emptyOld := filepath.Join(parent, overlayDirPattern+"emptyold")
	if err := os.Mkdir(emptyOld, 0o700); err != nil {
		t.Fatal(err)
	}
	// Being created right now: empty, new.
	emptyNew := filepath.Join(parent, overlayDirPattern+"emptynew")
	if err := os.Mkdir(emptyNew, 0o700); err != nil {
		t.Fatal(err)
	}
	// Killed before its lock file had its name: old, then new.
	lockingOld := mk(overlayDirPattern+"lockingold", overlayLockName+lockingSuffix)
	lockingNew := mk(overlayDirPattern+"lockingnew", overlayLockName+lockingSuffix)
	for _, d := range []string{lockingOld, lockingNew} {
		os.Remove(filepath.Join(d, "upper"))
	}
	// Without a lock but not empty (an older version's): kept.
	unlocked := mk(overlayDirPattern + "nolock")
	// Not an overlay directory at all.
	other := mk("something-else", overlayLockName)
	for _, d := range []string{emptyOld, lockingOld, unlocked, other} {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}

	var log bytes.Buffer
	next, err := newOverlayDir(parent, &log)
	if err != nil {
		t.Fatal(err)
	}
	defer next.remove()
	for dir, want := range map[string]bool{
		killed: false, emptyOld: false, lockingOld: false,
		live.path: true, emptyNew: true, lockingNew: true, unlocked: true, other: true, next.path: true,
	} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(dir), err == nil, want)
		}
	}
	if !strings.Contains(log.String(), "killed") || strings.Count(log.String(), "removed") != 3 {
		t.Errorf("log:\n%s", log.String())
	}
	// Removing lets the lock go: the next sweep would take the
	// directory if it were still there.
	if overlayDirStale(live.path) {
		t.Error("a live sandbox's directory is stale")
	}
}

// TestOverlayDirsMadeConcurrently: sandboxes starting at once (each sweeps
// the others' directories) never take a live one for a dead one's.
func TestOverlayDirsMadeConcurrently(t *testing.T) {
	parent := t.TempDir()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				d, err := newOverlayDir(parent, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := os.Stat(filepath.Join(d.path, overlayLockName)); err != nil {
					t.Errorf("a live sandbox's directory was swept: %v", err)
				}
				d.remove()
			}
		}()
	}
	wg.Wait()
}
