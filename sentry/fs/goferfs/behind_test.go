package goferfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// serveWriteBehind serves root as the root tree of a confined sentry,
// whose new files are written behind.
func serveWriteBehind(t *testing.T, root string) (vfs.Inode, *gofer.Client) {
	t.Helper()
	return serveConfinedWith(t, root, goferfs.Options{Exclusive: true, IDsFromGofer: true, WriteBehind: true})
}

func owner() vfs.Owner { return vfs.Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())} }

// createBehind creates name in dir and checks that it is written behind.
func createBehind(t *testing.T, dir vfs.Inode, name string, mode uint32) (vfs.Inode, vfs.FileImpl) {
	t.Helper()
	in, f, err := dir.(vfs.DirOps).Create(name, unix.O_WRONLY, mode, owner())
	if err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	if !goferfs.WrittenBehind(f) {
		t.Fatalf("%s is not written behind", name)
	}
	return in, f
}

func writeChunks(t *testing.T, f vfs.FileImpl, data []byte, chunk int) {
	t.Helper()
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if n, err := f.WriteAt(data[off:end], int64(off)); n != end-off || err != nil {
			t.Fatalf("WriteAt(%d): %d, %v", off, n, err)
		}
	}
}

// What an extractor writes and sets reaches the host file at close, with
// the times it set; the sandbox sees the same before and after, and the
// identity it saw is the host file's.
func TestWriteBehindReachesHost(t *testing.T) {
	root := t.TempDir()
	dir, _ := serveWriteBehind(t, root)
	in, f := createBehind(t, dir, "f", 0o600)
	data := []byte(strings.Repeat("write behind ", 1000))
	writeChunks(t, f, data, 1000)
	if !goferfs.WrittenBehind(f) {
		t.Fatal("sequential writes of 13 KB materialized the file")
	}
	set := in.(vfs.SetStatter)
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetAtime | vfs.SetMtime, Atime: pastAt, Mtime: past}); err != nil {
		t.Fatalf("SetStat times: %v", err)
	}
	if err := set.SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o751}); err != nil {
		t.Fatalf("SetStat mode: %v", err)
	}
	open, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if open.Size != int64(len(data)) || open.Mode != unix.S_IFREG|0o751 || open.Mtim != past || open.Atim != pastAt || open.Ino == 0 {
		t.Errorf("fstat of the open file: size %d mode %#o mtime %v atime %v ino %d", open.Size, open.Mode, open.Mtim, open.Atim, open.Ino)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	askGofer(t, dir)
	path := filepath.Join(root, "f")
	host := lstat(t, path)
	if host.Size != int64(len(data)) || host.Mode != unix.S_IFREG|0o751 || host.Mtim != past || host.Atim != pastAt || host.Ino != open.Ino {
		t.Errorf("host after close: size %d mode %#o mtime %v atime %v ino %d, want %d %#o %v %v %d",
			host.Size, host.Mode, host.Mtim, host.Atim, host.Ino, len(data), unix.S_IFREG|0o751, past, pastAt, open.Ino)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
		t.Errorf("host contents: %d bytes, %v; want the %d written", len(got), err, len(data))
	}
	after, err := in.Stat()
	if err != nil || after.Size != open.Size || after.Mtim != past || after.Mode != open.Mode || after.Ino != open.Ino {
		t.Errorf("Stat after close: size %d mtime %v mode %#o ino %d (%v), want as before", after.Size, after.Mtim, after.Mode, after.Ino, err)
	}
	if n := openForWrite(t, path); n != 0 {
		t.Errorf("%d descriptors of the closed file still open for writing", n)
	}
}

// A file written without times set keeps the times the sandbox saw: the
// gofer's write does not move them.
func TestWriteBehindKeepsSeenTimes(t *testing.T) {
	root := t.TempDir()
	dir, _ := serveWriteBehind(t, root)
	in, f := createBehind(t, dir, "f", 0o644)
	writeChunks(t, f, []byte("data"), 4)
	seen, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	askGofer(t, dir)
	host := lstat(t, filepath.Join(root, "f"))
	if host.Mtim != seen.Mtim || host.Atim != seen.Atim {
		t.Errorf("host times mtime %v atime %v, want the ones fstat showed, %v %v", host.Mtim, host.Atim, seen.Mtim, seen.Atim)
	}
	if st, err := in.Stat(); err != nil || st.Mtim != seen.Mtim {
		t.Errorf("Stat after close: mtime %v (%v), want %v", st.Mtim, err, seen.Mtim)
	}
}

// A file opened again after its close answers Stat through its new host
// descriptor, with the host file's identity, which the sandbox never
// asked for while it was written behind.
func TestWriteBehindIdentityAfterReopen(t *testing.T) {
	root := t.TempDir()
	dir, _ := serveWriteBehind(t, root)
	in, f := createBehind(t, dir, "f", 0o644)
	writeChunks(t, f, []byte("data"), 4)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := in.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer g.Close()
	host := lstat(t, filepath.Join(root, "f"))
	for _, st := range []func() (unix.Stat_t, error){in.Stat, g.Stat} {
		if got, err := st(); err != nil || got.Ino != host.Ino || got.Size != 4 {
			t.Errorf("Stat after reopening: ino %d size %d (%v), want the host's %d and 4", got.Ino, got.Size, err, host.Ino)
		}
	}
}

// The file exists for every request after its creation: a lookup and a
// listing through the gofer find it, and rename and unlink work on it
// while it is open and written behind.
func TestWriteBehindFileIsThereForTheGofer(t *testing.T) {
	root := t.TempDir()
	dir, _ := serveWriteBehind(t, root)
	_, f := createBehind(t, dir, "a", 0o644)
	writeChunks(t, f, []byte("first"), 5)
	if _, err := dir.Lookup("a"); err != nil {
		t.Errorf("Lookup of the new file: %v", err)
	}
	ents, _ := readAll(t, dir, 4096)
	if !slices.ContainsFunc(ents, func(e vfs.Dirent) bool { return e.Name == "a" }) {
		t.Errorf("listing without the new file: %v", ents)
	}
	if err := dir.(vfs.DirOps).Rename("a", dir, "b", 0); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	askGofer(t, dir)
	if got, err := os.ReadFile(filepath.Join(root, "b")); err != nil || string(got) != "first" {
		t.Errorf("renamed file: %q, %v; want %q", got, err, "first")
	}

	_, g := createBehind(t, dir, "c", 0o644)
	writeChunks(t, g, []byte("gone"), 4)
	if err := dir.(vfs.DirOps).Unlink("c"); err != nil {
		t.Fatalf("Unlink: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	askGofer(t, dir)
	if _, err := os.Lstat(filepath.Join(root, "c")); !os.IsNotExist(err) {
		t.Errorf("unlinked file on the host: %v", err)
	}
}

// Whatever needs the host file first makes it hold what was written: a
// read, a write elsewhere than at the end or past what a file buffers, a
// truncation, fsync, another open and a hard link.
func TestWriteBehindMaterializes(t *testing.T) {
	data := []byte("0123456789")
	for _, tc := range []struct {
		name string
		do   func(t *testing.T, dir, in vfs.Inode, f vfs.FileImpl) string
	}{
		{"read", func(t *testing.T, dir, in vfs.Inode, f vfs.FileImpl) string {
			buf := make([]byte, 20)
			// The file is open write-only in the VFS's eyes; the
			// implementation reads all the same.
			n, err := f.ReadAt(buf, 2)
			if err != nil || string(buf[:n]) != "23456789" {
				t.Errorf("ReadAt: %q, %v", buf[:n], err)
			}
			return string(data)
		}},
		{"write before the end", func(t *testing.T, dir, in vfs.Inode, f vfs.FileImpl) string {
			if _, err := f.WriteAt([]byte("ab"), 3); err != nil {
				t.Errorf("WriteAt: %v", err)
			}
			return "012ab56789"
		}},
		{"write past the buffer", func(t *testing.T, dir, in vfs.Inode, f vfs.FileImpl) string {
			big := bytes.Repeat([]byte("x"), gofer.MaxHeldData)
			if _, err := f.WriteAt(big, int64(len(data))); err != nil {
				t.Errorf("WriteAt: %v", err)
			}
			return string(data) + string(big)
		}},
		{"truncate", func(t *testing.T, dir, in vfs.Inode, f vfs.FileImpl) string {
			if err := f.(vfs.Truncater).Truncate(4); err != nil {
				t.Errorf("Truncate: %v", err)
			}
			return "0123"
		}},
		{"fsync", func(t *testing.T, dir, in vfs.Inode, f vfs.FileImpl) string {
			if err := f.(vfs.Syncer).Sync(false); err != nil {
				t.Errorf("Sync: %v", err)
			}
			return string(data)
		}},
		{"open", func(t *testing.T, dir, in vfs.Inode, f vfs.FileImpl) string {
			g, err := in.Open(unix.O_RDONLY)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer g.Close()
			buf := make([]byte, 20)
			if n, err := g.ReadAt(buf, 0); err != nil || string(buf[:n]) != string(data) {
				t.Errorf("ReadAt of a second open file: %q, %v", buf[:n], err)
			}
			return string(data)
		}},
		{"link", func(t *testing.T, dir, in vfs.Inode, f vfs.FileImpl) string {
			if err := dir.(vfs.DirOps).Link("other", in); err != nil {
				t.Errorf("Link: %v", err)
			}
			other, err := dir.Lookup("other")
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if st, err := other.Stat(); err != nil || st.Size != int64(len(data)) {
				t.Errorf("Stat of the other name: size %d, %v; want %d", st.Size, err, len(data))
			}
			return string(data)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir, _ := serveWriteBehind(t, root)
			in, f := createBehind(t, dir, "f", 0o644)
			writeChunks(t, f, data, 3)
			want := tc.do(t, dir, in, f)
			if goferfs.WrittenBehind(f) {
				t.Errorf("still written behind")
			}
			// On the host before the close, with no exchange needed.
			if got, err := os.ReadFile(filepath.Join(root, "f")); err != nil || string(got) != want {
				t.Errorf("host file before close: %d bytes %.20q, %v; want %d bytes", len(got), got, err, len(want))
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			askGofer(t, dir)
			if got, err := os.ReadFile(filepath.Join(root, "f")); err != nil || string(got) != want {
				t.Errorf("host file after close: %d bytes, %v; want %d", len(got), err, len(want))
			}
			// The sentry's own, shared by the inode's open files as
			// for any file it creates; not the gofer's any more.
			if n := openForWrite(t, filepath.Join(root, "f")); n != 1 {
				t.Errorf("%d descriptors open for writing, want the sentry's one", n)
			}
		})
	}
}

// A creation the gofer refuses after the program went on (the host made
// the name meanwhile, which an exclusive tree promises it never does)
// loses the program's data, never the host file's: the existing file is
// left as it was, the new file's calls fail, and the next fsync of the
// tree reports the error.
func TestWriteBehindRefusedCreation(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "x")
	if err := os.WriteFile(path, []byte("the host's"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, _ := serveWriteBehind(t, root)
	// The sandbox believes "x" absent: the VFS asked before (here, the
	// test calls Create directly).
	in, f := createBehind(t, dir, "x", 0o600)
	writeChunks(t, f, []byte("the sandbox's"), 13)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	askGofer(t, dir)
	if got, err := os.ReadFile(path); err != nil || string(got) != "the host's" {
		t.Errorf("host file: %q, %v; want it unchanged", got, err)
	}
	if _, err := in.Stat(); err != unix.EEXIST {
		t.Errorf("Stat of the lost file: %v, want EEXIST", err)
	}
	_, g := createBehind(t, dir, "y", 0o600)
	defer g.Close()
	if err := g.(vfs.Syncer).Sync(false); err != unix.EEXIST {
		t.Errorf("fsync after the loss: %v, want EEXIST", err)
	}
	if err := g.(vfs.Syncer).Sync(false); err != nil {
		t.Errorf("second fsync: %v, want the error reported once", err)
	}
}

// Near a full disk files are created the usual way, so that a full disk
// fails the program's calls as on Linux.
func TestNoWriteBehindNearFullDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	root := t.TempDir()
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=16m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(root, unix.MNT_DETACH) })
	dir, _ := serveWriteBehind(t, root)
	_, f, err := dir.(vfs.DirOps).Create("f", unix.O_WRONLY, 0o644, owner())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer f.Close()
	if goferfs.WrittenBehind(f) {
		t.Error("a file on a 16 MB file system is written behind")
	}
}

// openForWrite counts this process's descriptors (the test's gofer runs
// in it) open for writing on path's file.
func openForWrite(t *testing.T, path string) int {
	t.Helper()
	want := lstat(t, path)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		var st unix.Stat_t
		fdPath := filepath.Join("/proc/self/fd", e.Name())
		if unix.Stat(fdPath, &st) != nil || st.Dev != want.Dev || st.Ino != want.Ino {
			continue
		}
		fd := 0
		for _, c := range e.Name() {
			fd = fd*10 + int(c-'0')
		}
		if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil && fl&unix.O_PATH == 0 && fl&unix.O_ACCMODE != unix.O_RDONLY {
			n++
		}
	}
	return n
}

// syncfs(2) and sync(2) return once the host holds what the sandbox wrote:
// closed files written behind and open ones alike; fsync(2) of a directory
// once the files created in the tree are on the host.
func TestSyncMakesWrittenBehindFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		sync func(dir vfs.Inode) error
	}{
		{"syncfs", func(dir vfs.Inode) error { return dir.(vfs.FSSyncer).SyncFS() }},
		{"sync", func(vfs.Inode) error { return vfs.SyncAll() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir, _ := serveWriteBehind(t, root)
			_, closed := createBehind(t, dir, "closed", 0o644)
			writeChunks(t, closed, []byte("closed file"), 4)
			if err := closed.Close(); err != nil {
				t.Fatal(err)
			}
			_, open := createBehind(t, dir, "open", 0o644)
			defer open.Close()
			writeChunks(t, open, []byte("open file"), 4)
			if err := tc.sync(dir); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			// No exchange after the sync: the host has it all already.
			for name, want := range map[string]string{"closed": "closed file", "open": "open file"} {
				if got, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(got) != want {
					t.Errorf("host %s after %s: %q, %v; want %q", name, tc.name, got, err, want)
				}
			}
		})
	}
	t.Run("fsync of the directory", func(t *testing.T) {
		root := t.TempDir()
		dir, _ := serveWriteBehind(t, root)
		_, f := createBehind(t, dir, "f", 0o644)
		writeChunks(t, f, []byte("data"), 4)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		d, err := dir.Open(unix.O_RDONLY | unix.O_DIRECTORY)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.(vfs.Syncer).Sync(false); err != nil {
			t.Fatalf("fsync of the directory: %v", err)
		}
		if got, err := os.ReadFile(filepath.Join(root, "f")); err != nil || string(got) != "data" {
			t.Errorf("host file after fsync of its directory: %q, %v", got, err)
		}
	})
}
