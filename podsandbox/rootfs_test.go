package podsandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A chain of layers whose absolute paths exceed a page is mounted with
// paths relative to their common parent.
func TestMountRootfsManyLayers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (overlay mounts)")
	}
	base := t.TempDir()
	// Image stores keep layers side by side under one long directory.
	store := filepath.Join(base, strings.Repeat("s", 100), strings.Repeat("n", 100))
	var lowers []string
	for i := range 60 {
		d := filepath.Join(store, fmt.Sprintf("%d", i), "fs")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", i)), []byte("layer"), 0o644)
		lowers = append([]string{d}, lowers...) // topmost first
	}
	rfs := Rootfs{LowerDirs: lowers, Upper: filepath.Join(store, "upper"), Work: filepath.Join(store, "work")}
	os.Mkdir(rfs.Upper, 0o755)
	os.Mkdir(rfs.Work, 0o755)
	if n := len(overlayOptions(rfs.LowerDirs, rfs.Upper, rfs.Work)); n < os.Getpagesize() {
		t.Fatalf("options are only %d bytes: the test does not test the long case", n)
	}
	target := filepath.Join(base, "rootfs")
	os.Mkdir(target, 0o755)
	if err := mountRootfs(rfs, target); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := removeRunDir(target); err != nil {
			t.Error(err)
		}
		if mps, _ := mountsUnder(base); len(mps) != 0 {
			t.Errorf("mounts left: %v", mps)
		}
	}()
	for _, f := range []string{"f0", "f59"} {
		if _, err := os.Stat(filepath.Join(target, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The daemon's working directory is untouched.
	if wd, _ := os.Getwd(); strings.HasPrefix(wd, base) {
		t.Errorf("working directory moved to %s", wd)
	}
}

func TestRemoveSameDeviceStopsAtMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (bind mounts)")
	}
	dir := t.TempDir()
	precious := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(precious, []byte("keep"), 0o644)
	target := filepath.Join(dir, "run", "files", "hosts")
	os.MkdirAll(filepath.Dir(target), 0o700)
	if err := bindFile(precious, target, false); err != nil {
		t.Fatal(err)
	}
	dirMount := filepath.Join(dir, "run", "rootfs")
	os.MkdirAll(dirMount, 0o700)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "data"), []byte("keep"), 0o644)
	if err := mountRootfs(Rootfs{LowerDirs: []string{src}}, dirMount); err != nil {
		t.Fatal(err)
	}
	// Without unmounting, removal must refuse rather than delete through
	// the mounts.
	if err := removeSameDevice(filepath.Join(dir, "run")); err == nil {
		t.Error("removed a directory holding mounts")
	}
	if err := removeRunDir(filepath.Join(dir, "run")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{precious, filepath.Join(src, "data")} {
		if data, err := os.ReadFile(f); err != nil || string(data) != "keep" {
			t.Errorf("%s: %q %v", f, data, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); !os.IsNotExist(err) {
		t.Errorf("run dir left: %v", err)
	}
}
