package goferfs_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// serveConfined serves root read-write as an exclusive tree of a confined
// sentry, whose attribute changes go to the gofer.
func serveConfined(t *testing.T, root string) vfs.Inode {
	t.Helper()
	in, _ := serveConfinedClient(t, root)
	return in
}

// serveConfinedClient is serveConfined, which also returns the session's
// client.
func serveConfinedClient(t *testing.T, root string) (vfs.Inode, *gofer.Client) {
	t.Helper()
	return serveConfinedWith(t, root, goferfs.Options{Exclusive: true, IDsFromGofer: true})
}

// serveConfinedWith is serveConfinedClient with the tree's options.
func serveConfinedWith(t *testing.T, root string, opts goferfs.Options) (vfs.Inode, *gofer.Client) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- gofer.ServeTrees(fds[0], []gofer.Tree{{Path: root}}) }()
	c, err := gofer.NewClient(fds[1])
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		c.Shutdown()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("gofer did not stop after the client hung up")
		}
	})
	in, err := goferfs.New(c, opts)
	if err != nil {
		t.Fatalf("goferfs.New: %v", err)
	}
	return in, c
}

// askGofer makes one exchange with the gofer of dir's tree (a lookup of a
// name it does not have), which the gofer answers only after every
// change sent before it.
func askGofer(t *testing.T, dir vfs.Inode) {
	t.Helper()
	if _, err := dir.Lookup("no-such-name"); err != unix.ENOENT {
		t.Fatalf("Lookup of a missing name: %v, want ENOENT", err)
	}
}

var (
	past   = unix.Timespec{Sec: 1000000000, Nsec: 123456789}
	pastAt = unix.Timespec{Sec: 999999999, Nsec: 5}
)

// The owner, mode and times an extractor sets on a file it has open
// are sent to the host when the file closes, in one request, made before
// anything the sandbox asks the gofer afterwards; until then the sandbox
// sees them already.
func TestAttributesOfOpenFileWaitForClose(t *testing.T) {
	root := t.TempDir()
	dir := serveConfined(t, root)
	ops := dir.(vfs.DirOps)
	in, f, err := ops.Create("f", unix.O_WRONLY, 0o600, vfs.Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := f.WriteAt([]byte("data"), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	set := in.(vfs.SetStatter)
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetAtime | vfs.SetMtime, Atime: pastAt, Mtime: past}); err != nil {
		t.Fatalf("SetStat times: %v", err)
	}
	wantUID, wantGID := uint32(os.Getuid()), uint32(os.Getgid())
	// Giving the file the owner it has waits like the rest.
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetUID | vfs.SetGID, UID: wantUID, GID: wantGID}); err != nil {
		t.Fatalf("SetStat owner: %v", err)
	}
	if os.Getuid() == 0 {
		// A new owner goes to the gofer at once, which could refuse it.
		wantUID, wantGID = 1234, 5678
		if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetUID | vfs.SetGID, UID: wantUID, GID: wantGID}); err != nil {
			t.Fatalf("SetStat owner: %v", err)
		}
		if host := lstat(t, filepath.Join(root, "f")); host.Uid != wantUID || host.Gid != wantGID || host.Mtim != past {
			t.Errorf("host after a change of owner: %d:%d mtime %v, want %d:%d and the times set before it, %v",
				host.Uid, host.Gid, host.Mtim, wantUID, wantGID, past)
		}
	}
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o4755}); err != nil {
		t.Fatalf("SetStat mode: %v", err)
	}
	check := func(what string, st unix.Stat_t) {
		t.Helper()
		if st.Mode != unix.S_IFREG|0o4755 || st.Uid != wantUID || st.Gid != wantGID || st.Mtim != past || st.Atim != pastAt || st.Size != 4 {
			t.Errorf("%s: mode %#o owner %d:%d mtime %v atime %v size %d, want %#o %d:%d %v %v 4",
				what, st.Mode, st.Uid, st.Gid, st.Mtim, st.Atim, st.Size, unix.S_IFREG|0o4755, wantUID, wantGID, past, pastAt)
		}
	}
	st, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	check("Stat of the open file", st)
	if st, err = f.Stat(); err != nil {
		t.Fatal(err)
	}
	check("fstat of the open file", st)
	if pst, err := vfs.PermStat(in); err != nil || pst.Mode != unix.S_IFREG|0o4755 || pst.Uid != wantUID {
		t.Errorf("PermStat of the open file: mode %#o uid %d (%v), want %#o %d", pst.Mode, pst.Uid, err, unix.S_IFREG|0o4755, wantUID)
	}
	if host := lstat(t, filepath.Join(root, "f")); host.Mode != unix.S_IFREG|0o600 {
		t.Errorf("host mode before close %#o, want %#o: the change was not deferred", host.Mode, unix.S_IFREG|0o600)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st, err = in.Stat(); err != nil {
		t.Fatal(err)
	}
	check("Stat after close", st)
	askGofer(t, dir)
	check("host file after close and a later request", lstat(t, filepath.Join(root, "f")))
	if st, err = in.Stat(); err != nil {
		t.Fatal(err)
	}
	check("Stat after the change was made", st)
}

// Changes the last close sent are made before the session ends: nothing
// the sandbox set is lost when it exits right after closing its files.
func TestPostedAttributesReachHostBeforeShutdown(t *testing.T) {
	root := t.TempDir()
	dir, c := serveConfinedClient(t, root)
	ops := dir.(vfs.DirOps)
	for _, name := range []string{"a", "b", "c"} {
		in, f, err := ops.Create(name, unix.O_WRONLY, 0o600, vfs.Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode | vfs.SetMtime, Mode: 0o751, Mtime: past}); err != nil {
			t.Fatalf("SetStat: %v", err)
		}
		if err := f.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := c.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if host := lstat(t, filepath.Join(root, name)); host.Mode != unix.S_IFREG|0o751 || host.Mtim != past {
			t.Errorf("host %s after Shutdown: mode %#o mtime %v, want %#o %v", name, host.Mode, host.Mtim, unix.S_IFREG|0o751, past)
		}
	}
}

// After the last close sent a file's changes: a change made later
// through the gofer is not undone by them, and a write through the host
// descriptor of the file opened again waits for them to be made, so that
// it moves mtime after the times they set, as on Linux.
func TestChangesAfterPostedAttributes(t *testing.T) {
	root := t.TempDir()
	dir := serveConfined(t, root)
	in, f, err := dir.(vfs.DirOps).Create("f", unix.O_WRONLY, 0o644, vfs.Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	set := in.(vfs.SetStatter)
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o640}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o604}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	st, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if host := lstat(t, filepath.Join(root, "f")); st.Mode != unix.S_IFREG|0o604 || host.Mode != st.Mode {
		t.Errorf("a chmod after the close: Stat mode %#o, host %#o, want %#o", st.Mode, host.Mode, unix.S_IFREG|0o604)
	}

	g, err := in.Open(unix.O_WRONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetMtime, Mtime: past}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	h, err := in.Open(unix.O_WRONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer h.Close()
	if _, err := h.WriteAt([]byte("x"), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	host := lstat(t, filepath.Join(root, "f"))
	if host.Mtim.Sec <= past.Sec || host.Mode != unix.S_IFREG|0o604 {
		t.Errorf("host after the write: mtime %v mode %#o, want after %v and %#o", host.Mtim, host.Mode, past, unix.S_IFREG|0o604)
	}
	if st, err = h.Stat(); err != nil || st.Mtim != host.Mtim {
		t.Errorf("fstat after the write: mtime %v (%v), want the host's %v", st.Mtim, err, host.Mtim)
	}
}

// A write after times were set moves mtime, as on Linux: the times go to
// the host before the write does.
func TestWriteAfterDeferredTimesMovesMtime(t *testing.T) {
	root := t.TempDir()
	dir := serveConfined(t, root)
	in, f, err := dir.(vfs.DirOps).Create("f", unix.O_WRONLY, 0o644, vfs.Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer f.Close()
	if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMtime | vfs.SetMode, Mtime: past, Mode: 0o640}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	host := lstat(t, filepath.Join(root, "f"))
	if host.Mtim.Sec <= past.Sec || host.Mode != unix.S_IFREG|0o640 {
		t.Errorf("host after the write: mtime %v mode %#o, want after %v and %#o", host.Mtim, host.Mode, past, unix.S_IFREG|0o640)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mtim != host.Mtim || st.Mode != host.Mode {
		t.Errorf("fstat after the write: mtime %v mode %#o, want the host's %v %#o", st.Mtim, st.Mode, host.Mtim, host.Mode)
	}
}

// A write does not wait for a pending mode, owner or atime, which it does
// not change on the host: they reach the host at close, with the data
// written before.
func TestWriteAfterDeferredModeWaitsForClose(t *testing.T) {
	root := t.TempDir()
	dir := serveConfined(t, root)
	in, f, err := dir.(vfs.DirOps).Create("f", unix.O_WRONLY, 0o600, vfs.Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode | vfs.SetAtime, Mode: 0o640, Atime: pastAt}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if _, err := f.WriteAt([]byte("data"), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	if host := lstat(t, filepath.Join(root, "f")); host.Mode != unix.S_IFREG|0o600 {
		t.Errorf("host mode after the write %#o, want %#o: the write sent the pending mode", host.Mode, unix.S_IFREG|0o600)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != unix.S_IFREG|0o640 || st.Atim != pastAt || st.Size != 4 {
		t.Errorf("fstat after the write: mode %#o atime %v size %d, want %#o %v 4", st.Mode, st.Atim, st.Size, unix.S_IFREG|0o640, pastAt)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	askGofer(t, dir)
	host := lstat(t, filepath.Join(root, "f"))
	if host.Mode != unix.S_IFREG|0o640 || host.Atim != pastAt || host.Size != 4 {
		t.Errorf("host after close: mode %#o atime %v size %d, want %#o %v 4", host.Mode, host.Atim, host.Size, unix.S_IFREG|0o640, pastAt)
	}
}

// A file that gets a second name has its pending changes made first: the
// other name's inode asks the gofer.
func TestLinkSendsDeferredAttributes(t *testing.T) {
	root := t.TempDir()
	dir := serveConfined(t, root)
	ops := dir.(vfs.DirOps)
	in, f, err := ops.Create("f", unix.O_WRONLY, 0o644, vfs.Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer f.Close()
	if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o600}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if err := ops.Link("g", in); err != nil {
		t.Fatalf("Link: %v", err)
	}
	if host := lstat(t, filepath.Join(root, "g")); host.Mode != unix.S_IFREG|0o600 {
		t.Errorf("host mode after Link %#o, want %#o", host.Mode, unix.S_IFREG|0o600)
	}
	g, err := dir.Lookup("g")
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if st, err := g.Stat(); err != nil || st.Mode != unix.S_IFREG|0o600 || st.Nlink != 2 {
		t.Errorf("Stat of the new name: mode %#o nlink %d (%v), want %#o 2", st.Mode, st.Nlink, err, unix.S_IFREG|0o600)
	}
	// With two names, changes go to the gofer at once.
	if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o640}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if host := lstat(t, filepath.Join(root, "g")); host.Mode != unix.S_IFREG|0o640 {
		t.Errorf("host mode of a linked file %#o, want %#o at once", host.Mode, unix.S_IFREG|0o640)
	}
}

// Changes of a file that is not open, that the sandbox did not make, or
// to the current time, are made at once.
func TestChangesThatCannotWait(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "closed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := serveConfined(t, root)
	closed, err := dir.Lookup("closed")
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o600}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if host := lstat(t, filepath.Join(root, "closed")); host.Mode != unix.S_IFREG|0o600 {
		t.Errorf("host mode of a closed file %#o, want %#o at once", host.Mode, unix.S_IFREG|0o600)
	}
	f0, err := closed.Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o640}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	if host := lstat(t, filepath.Join(root, "closed")); host.Mode != unix.S_IFREG|0o640 {
		t.Errorf("host mode of an open file the sandbox did not make %#o, want %#o at once", host.Mode, unix.S_IFREG|0o640)
	}
	f0.Close()
	in, f, err := dir.(vfs.DirOps).Create("f", unix.O_WRONLY, 0o644, vfs.Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer f.Close()
	set := in.(vfs.SetStatter)
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o600}); err != nil {
		t.Fatalf("SetStat: %v", err)
	}
	before := time.Now().Add(-time.Second).Unix()
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetAtime | vfs.SetMtime, Atime: unix.Timespec{Nsec: unix.UTIME_NOW}, Mtime: unix.Timespec{Nsec: unix.UTIME_NOW}}); err != nil {
		t.Fatalf("SetStat now: %v", err)
	}
	host := lstat(t, filepath.Join(root, "f"))
	if host.Mode != unix.S_IFREG|0o600 || host.Mtim.Sec < before {
		t.Errorf("host after setting the time to now: mode %#o mtime %v, want %#o and now", host.Mode, host.Mtim, unix.S_IFREG|0o600)
	}
}
