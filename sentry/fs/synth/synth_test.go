package synth_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

func testDir() (*synth.Dir, map[string]vfs.Inode) {
	entries := map[string]vfs.Inode{
		"zlink": synth.NewSymlink("/target/path"),
		"bdir":  synth.NewDir(0o700, nil),
		"alink": synth.NewSymlink("x"),
	}
	return synth.NewDir(0o755, entries), entries
}

func TestDirReaddir(t *testing.T) {
	d, entries := testDir()
	st, _ := d.Stat()
	impl, err := d.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	dr := impl.(vfs.DirReader)
	all, err := dr.Readdir(0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		typ  uint8
	}{{".", unix.DT_DIR}, {"..", unix.DT_DIR}, {"alink", unix.DT_LNK}, {"bdir", unix.DT_DIR}, {"zlink", unix.DT_LNK}}
	if len(all) != len(want) {
		t.Fatalf("Readdir = %+v, want %d entries", all, len(want))
	}
	for i, e := range all {
		if e.Name != want[i].name || e.Type != want[i].typ {
			t.Errorf("entry %d = %q type %d, want %q type %d", i, e.Name, e.Type, want[i].name, want[i].typ)
		}
		if e.Off != uint64(i+1) {
			t.Errorf("entry %q cookie %d, want %d", e.Name, e.Off, i+1)
		}
		switch e.Name {
		case ".":
			if e.Ino != st.Ino {
				t.Errorf(". has inode %d, want the directory's %d", e.Ino, st.Ino)
			}
		case "..":
		default:
			est, _ := entries[e.Name].Stat()
			if e.Ino != est.Ino {
				t.Errorf("%q has inode %d, want %d", e.Name, e.Ino, est.Ino)
			}
		}
	}
	// Each entry's cookie continues after it.
	for i, e := range all {
		rest, err := dr.Readdir(e.Off, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if len(rest) != len(all)-i-1 || (len(rest) > 0 && rest[0].Name != all[i+1].Name) {
			t.Errorf("Readdir(%d) = %+v, want the entries after %q", e.Off, rest, e.Name)
		}
	}
	if rest, _ := dr.Readdir(1000, 4096); len(rest) != 0 {
		t.Errorf("Readdir past the end = %+v", rest)
	}
}

func TestEmptyDirReaddir(t *testing.T) {
	d := synth.NewDir(0o555, map[string]vfs.Inode{})
	impl, _ := d.Open(unix.O_RDONLY)
	ents, err := impl.(vfs.DirReader).Readdir(0, 4096)
	if err != nil || len(ents) != 2 || ents[0].Name != "." || ents[1].Name != ".." {
		t.Errorf("empty dir Readdir = %+v, %v; want . and ..", ents, err)
	}
	// A nil map is an empty directory too.
	if _, err := synth.NewDir(0o555, nil).Lookup("x"); err != unix.ENOENT {
		t.Errorf("Lookup in a nil-map dir: %v", err)
	}
}

// Through a vfs.File, getdents resumes where the previous call stopped.
func TestDirReaddirThroughFile(t *testing.T) {
	d, _ := testDir()
	impl, _ := d.Open(unix.O_RDONLY)
	f := vfs.NewFile(impl, vfs.NewRoot(d), unix.O_RDONLY)
	var names []string
	for {
		n := 0
		err := f.Readdir(4096, func(e vfs.Dirent) bool {
			if n == 2 {
				return false
			}
			n++
			names = append(names, e.Name)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	want := []string{".", "..", "alink", "bdir", "zlink"}
	if len(names) != len(want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("names %v, want %v", names, want)
			break
		}
	}
}

func TestDirLookupAndOpen(t *testing.T) {
	d, entries := testDir()
	for name, in := range entries {
		got, err := d.Lookup(name)
		if err != nil || got != in {
			t.Errorf("Lookup(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := d.Lookup("missing"); err != unix.ENOENT {
		t.Errorf("Lookup(missing): %v, want ENOENT", err)
	}
	if _, err := d.Readlink(); err != unix.EINVAL {
		t.Errorf("Readlink of a dir: %v, want EINVAL", err)
	}
	st, _ := d.Stat()
	if st.Mode != unix.S_IFDIR|0o755 || st.Nlink != 2 || st.Ino == 0 {
		t.Errorf("dir stat mode %#o nlink %d ino %d", st.Mode, st.Nlink, st.Ino)
	}
	for _, flags := range []int{unix.O_WRONLY, unix.O_RDWR} {
		if _, err := d.Open(flags); err != unix.EISDIR {
			t.Errorf("Open(%#o) of a dir: %v, want EISDIR", flags, err)
		}
	}
	impl, err := d.Open(unix.O_RDONLY | unix.O_DIRECTORY)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impl.ReadAt(make([]byte, 1), 0); err != unix.EISDIR {
		t.Errorf("read of a dir: %v, want EISDIR", err)
	}
	if ist, _ := impl.Stat(); ist.Ino != st.Ino {
		t.Errorf("open dir stat ino %d, want %d", ist.Ino, st.Ino)
	}
	if err := impl.Close(); err != nil {
		t.Error(err)
	}
}

func TestSymlink(t *testing.T) {
	const target = "/proc/self/fd/0"
	s := synth.NewSymlink(target)
	st, _ := s.Stat()
	if st.Mode != unix.S_IFLNK|0o777 || st.Size != int64(len(target)) || st.Nlink != 1 {
		t.Errorf("symlink stat mode %#o size %d nlink %d", st.Mode, st.Size, st.Nlink)
	}
	if got, err := s.Readlink(); got != target || err != nil {
		t.Errorf("Readlink = %q, %v", got, err)
	}
	if _, err := s.Lookup("x"); err != unix.ENOTDIR {
		t.Errorf("Lookup in a symlink: %v, want ENOTDIR", err)
	}
	if _, err := s.Open(unix.O_RDONLY); err != unix.ELOOP {
		t.Errorf("Open of a symlink: %v, want ELOOP", err)
	}
}

// Synthetic trees resolve with the VFS's rules, symlinks included.
func TestResolveInSynthTree(t *testing.T) {
	leaf := synth.NewDir(0o755, nil)
	root := synth.NewDir(0o755, map[string]vfs.Inode{
		"d":    synth.NewDir(0o755, map[string]vfs.Inode{"leaf": leaf}),
		"abs":  synth.NewSymlink("/d/leaf"),
		"rel":  synth.NewSymlink("d/leaf"),
		"loop": synth.NewSymlink("/loop"),
	})
	r := vfs.NewRoot(root)
	for _, p := range []string{"/d/leaf", "/abs", "/rel/", "/d/../abs/."} {
		d, err := vfs.Resolve(r, r, p, vfs.ResolveOpts{FollowFinal: true})
		if err != nil || d.Inode() != leaf {
			t.Errorf("Resolve(%q) = %v, %v; want the leaf", p, d, err)
		}
	}
	if _, err := vfs.Resolve(r, r, "/loop", vfs.ResolveOpts{FollowFinal: true}); err != unix.ELOOP {
		t.Errorf("self-referencing link: %v, want ELOOP", err)
	}
}

func TestAttrAndInodes(t *testing.T) {
	a, b := synth.NewIno(), synth.NewIno()
	if a == b || a == 0 || b == 0 {
		t.Errorf("NewIno gave %d and %d", a, b)
	}
	st := synth.Attr(7, unix.S_IFCHR|0o666, unix.Mkdev(1, 3))
	if st.Ino != 7 || st.Mode != unix.S_IFCHR|0o666 || st.Rdev != unix.Mkdev(1, 3) || st.Nlink != 1 || st.Blksize != 4096 {
		t.Errorf("Attr = %+v", st)
	}
	if st.Mtim.Sec == 0 {
		t.Errorf("Attr has no time stamps")
	}
	if d := synth.Attr(8, unix.S_IFDIR|0o755, 0); d.Nlink != 2 {
		t.Errorf("directory nlink %d, want 2", d.Nlink)
	}
}

func TestDirentType(t *testing.T) {
	for mode, want := range map[uint32]uint8{
		unix.S_IFDIR | 0o755:  unix.DT_DIR,
		unix.S_IFREG | 0o644:  unix.DT_REG,
		unix.S_IFLNK | 0o777:  unix.DT_LNK,
		unix.S_IFCHR | 0o666:  unix.DT_CHR,
		unix.S_IFBLK | 0o660:  unix.DT_BLK,
		unix.S_IFIFO | 0o600:  unix.DT_FIFO,
		unix.S_IFSOCK | 0o777: unix.DT_SOCK,
		0o644:                 unix.DT_UNKNOWN,
	} {
		if got := synth.DirentType(mode); got != want {
			t.Errorf("DirentType(%#o) = %d, want %d", mode, got, want)
		}
	}
}
