package overlay_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/overlay"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// image is the lower tree most tests use:
//
//	/etc/          0755
//	/etc/passwd    "root:x:0:0" 0644, uid 0, mtime 1000, user.tag=etc
//	/etc/hosts     "127.0.0.1"
//	/etc/sub/      with a, b
//	/bin/          with sh 04755 "ELF"
//	/lnk -> etc/passwd
//	/fifo          FIFO
//	/file          "lower file"
func image(b *builder) {
	b.dir("etc", 0o755).
		file("etc/passwd", "root:x:0:0", 0o644).
		setStat("etc/passwd", vfs.SetStatOpts{Mask: vfs.SetUID | vfs.SetGID | vfs.SetMtime | vfs.SetAtime, UID: 0, GID: 0, Mtime: ts(1000), Atime: ts(900)}).
		xattr("etc/passwd", "user.tag", "etc").
		xattr("etc/passwd", "trusted.overlay.origin", "x").
		file("etc/hosts", "127.0.0.1", 0o644).
		dir("etc/sub", 0o750).
		file("etc/sub/a", "a", 0o644).
		file("etc/sub/b", "b", 0o644).
		dir("bin", 0o755).
		file("bin/sh", "ELF", 0o4755).
		symlink("lnk", "etc/passwd").
		mknod("fifo", unix.S_IFIFO|0o600).
		file("file", "lower file", 0o644).
		setStat("etc", vfs.SetStatOpts{Mask: vfs.SetUID | vfs.SetGID | vfs.SetMtime, UID: 7, GID: 8, Mtime: ts(2000)}).
		setStat("lnk", vfs.SetStatOpts{Mask: vfs.SetMtime | vfs.SetUID, UID: 5, Mtime: ts(3000)})
}

func TestLookupPrecedence(t *testing.T) {
	e := newEnv(t, func(b *builder) {
		image(b)
		b.file("shadow", "lower", 0o644).
			dir("dirOverFile", 0o755).
			file("dirOverFile/x", "x", 0o644).
			file("fileOverDir", "lower", 0o644).
			file("etc/onlyLower", "l", 0o644)
	}, func(b *builder) {
		// An upper tree handed over non-empty.
		b.file("shadow", "upper", 0o644).
			file("dirOverFile", "upper file", 0o644).
			dir("fileOverDir", 0o755).
			dir("etc", 0o700).
			file("etc/onlyUpper", "u", 0o644).
			file("etc/hosts", "upper hosts", 0o644)
	}, overlay.Options{})

	tests := []struct {
		path string
		want string // content, or "dir" / an errno
		err  error
	}{
		{"shadow", "upper", nil},
		{"dirOverFile", "upper file", nil},
		{"dirOverFile/x", "", unix.ENOTDIR},
		{"etc/hosts", "upper hosts", nil},
		{"etc/onlyUpper", "u", nil},
		{"etc/onlyLower", "l", nil},
		{"etc/passwd", "root:x:0:0", nil},
		{"etc/sub/a", "a", nil},
		{"file", "lower file", nil},
		{"nothere", "", unix.ENOENT},
		{"etc/nothere", "", unix.ENOENT},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			err := e.lookupErr(tc.path)
			expectErr(t, tc.path, err, tc.err)
			if err == nil {
				if got := e.read(tc.path); got != tc.want {
					t.Errorf("read %q = %q, want %q", tc.path, got, tc.want)
				}
			}
		})
	}
	if st := e.stat("fileOverDir"); st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("fileOverDir mode %o, want a directory", st.Mode)
	}
	// The merged /etc: upper attributes, lower inode number, nlink 1.
	st := e.stat("etc")
	lst, _ := mustWalk(t, e.lower, "etc").Stat()
	if st.Mode&0o7777 != 0o700 || st.Ino != lst.Ino || st.Dev != lowerDev || st.Nlink != 1 {
		t.Errorf("etc: mode %o ino %d dev %d nlink %d, want 0700, %d, %d, 1", st.Mode, st.Ino, st.Dev, st.Nlink, lst.Ino, lowerDev)
	}
	expectNames(t, "ls etc", e.ls("etc"), "hosts", "onlyLower", "onlyUpper", "passwd", "sub")
	// Symlink from the lower tree.
	if target, err := e.resolve("lnk").Inode().Readlink(); err != nil || target != "etc/passwd" {
		t.Errorf("Readlink lnk = %q, %v", target, err)
	}
	// Lower-only directory: lower attributes.
	if st := e.stat("etc/sub"); st.Mode&0o7777 != 0o750 || st.Dev != lowerDev || st.Nlink != 2 {
		t.Errorf("etc/sub: mode %o dev %d nlink %d", st.Mode, st.Dev, st.Nlink)
	}
}

func mustWalk(t testing.TB, root vfs.Inode, path string) vfs.Inode {
	t.Helper()
	in, err := walk(root, path)
	if err != nil {
		t.Fatalf("walk %q: %v", path, err)
	}
	return in
}

func TestWhiteouts(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	lowerIno := e.stat("etc/hosts").Ino

	// Unlink of a lower file leaves a whiteout.
	if err := e.unlink("etc/hosts"); err != nil {
		t.Fatalf("unlink: %v", err)
	}
	expectErr(t, "lookup after unlink", e.lookupErr("etc/hosts"), unix.ENOENT)
	if _, err := e.root.(vfs.Inode).Lookup("etc"); err != nil {
		t.Fatal(err)
	}
	etc := mustWalk(t, e.root, "etc")
	if _, err := etc.Lookup("hosts"); err != unix.ENOENT {
		t.Errorf("overlay Lookup(hosts) after unlink: %v", err)
	}
	expectNames(t, "ls etc", e.ls("etc"), "passwd", "sub")
	if e.upperHas("etc/hosts") {
		t.Errorf("whiteout stored in the upper tree")
	}
	if !e.upperHas("etc") {
		t.Errorf("parent not copied up on unlink")
	}
	expectErr(t, "unlink again", e.unlink("etc/hosts"), unix.ENOENT)

	// Re-create over the whiteout: a new file.
	e.create("etc/hosts", "new hosts")
	if got := e.read("etc/hosts"); got != "new hosts" {
		t.Errorf("re-created content %q", got)
	}
	st := e.stat("etc/hosts")
	if st.Ino == lowerIno && st.Dev == lowerDev {
		t.Errorf("re-created file kept the lower inode number")
	}
	if st.Dev != upperDev {
		t.Errorf("re-created file dev %d, want the upper's %d", st.Dev, upperDev)
	}
	expectNames(t, "ls etc after re-create", e.ls("etc"), "hosts", "passwd", "sub")

	// Unlink again: the lower file must stay hidden.
	if err := e.unlink("etc/hosts"); err != nil {
		t.Fatalf("second unlink: %v", err)
	}
	expectErr(t, "lookup after second unlink", e.lookupErr("etc/hosts"), unix.ENOENT)
	expectNames(t, "ls etc after second unlink", e.ls("etc"), "passwd", "sub")

	// Upper-only file: no whiteout needed; symlink and FIFO whiteouts.
	e.create("new", "n")
	for _, p := range []string{"new", "lnk", "fifo", "file"} {
		if err := e.unlink(p); err != nil {
			t.Fatalf("unlink %q: %v", p, err)
		}
		expectErr(t, "lookup "+p, e.lookupErr(p), unix.ENOENT)
	}
	expectNames(t, "ls /", e.ls("/"), "bin", "etc")
	expectErr(t, "unlink dir", e.unlink("etc"), unix.EISDIR)
}

func TestRmdirAndOpaque(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	e.create("etc/sub/c", "upper c")
	expectErr(t, "rmdir non-empty", e.rmdir("etc/sub"), unix.ENOTEMPTY)
	expectErr(t, "rmdir file", e.rmdir("etc/passwd"), unix.ENOTDIR)
	for _, n := range []string{"a", "c"} {
		if err := e.unlink("etc/sub/" + n); err != nil {
			t.Fatalf("unlink %s: %v", n, err)
		}
	}
	expectErr(t, "rmdir with b left", e.rmdir("etc/sub"), unix.ENOTEMPTY)
	if err := e.unlink("etc/sub/b"); err != nil {
		t.Fatal(err)
	}
	expectNames(t, "ls emptied", e.ls("etc/sub"))

	// Keep the directory open across its removal.
	d := e.resolve("etc/sub")
	df, err := d.Inode().Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	if err := e.rmdir("etc/sub"); err != nil {
		t.Fatalf("rmdir emptied dir: %v", err)
	}
	if _, err := df.(vfs.DirReader).Readdir(0, 0); err != unix.ENOENT {
		t.Errorf("Readdir of removed dir: %v, want ENOENT", err)
	}
	if _, _, err := d.Inode().(vfs.DirOps).Create("x", unix.O_RDWR, unix.S_IFREG|0o644, owner); err != unix.ENOENT {
		t.Errorf("Create in removed dir: %v, want ENOENT", err)
	}
	expectErr(t, "lookup removed", e.lookupErr("etc/sub"), unix.ENOENT)
	expectNames(t, "ls etc", e.ls("etc"), "hosts", "passwd")

	// Mkdir over the whiteout: an opaque directory.
	if err := e.mkdir("etc/sub"); err != nil {
		t.Fatalf("mkdir over whiteout: %v", err)
	}
	expectNames(t, "ls opaque", e.ls("etc/sub"))
	expectErr(t, "lookup lower child of opaque", e.lookupErr("etc/sub/a"), unix.ENOENT)
	e.create("etc/sub/z", "z")
	expectNames(t, "ls opaque after create", e.ls("etc/sub"), "z")
	st := e.stat("etc/sub")
	if st.Dev != upperDev || st.Nlink != 2 {
		t.Errorf("opaque dir dev %d nlink %d, want %d and 2", st.Dev, st.Nlink, upperDev)
	}
	// Removing it again leaves the lower one hidden.
	if err := e.unlink("etc/sub/z"); err != nil {
		t.Fatal(err)
	}
	if err := e.rmdir("etc/sub"); err != nil {
		t.Fatal(err)
	}
	expectErr(t, "lookup after rmdir of opaque", e.lookupErr("etc/sub"), unix.ENOENT)

	// A lower-only directory that is empty in the lower tree.
	e2 := newEnv(t, func(b *builder) { b.dir("empty", 0o755).dir("full", 0o755).file("full/f", "", 0o644) }, nil, overlay.Options{})
	if err := e2.rmdir("empty"); err != nil {
		t.Fatalf("rmdir lower empty dir: %v", err)
	}
	expectErr(t, "rmdir lower full dir", e2.rmdir("full"), unix.ENOTEMPTY)
	expectNames(t, "ls", e2.ls("/"), "full")
}

func TestCopyUp(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	ino := e.stat("etc/passwd").Ino
	etcBefore := e.stat("etc")

	// chmod copies up data, owner, times and xattrs.
	d := e.resolve("etc/passwd")
	if err := d.Inode().(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o600}); err != nil {
		t.Fatalf("chmod: %v", err)
	}
	if !e.upperHas("etc/passwd") {
		t.Fatalf("not copied up")
	}
	u := mustWalk(t, e.upper, "etc/passwd")
	ust, _ := u.Stat()
	lst, _ := mustWalk(t, e.lower, "etc/passwd").Stat()
	if ust.Mode != unix.S_IFREG|0o600 || ust.Uid != 0 || ust.Gid != 0 || ust.Mtim != ts(1000) || ust.Atim != lst.Atim || ust.Size != 10 {
		t.Errorf("upper passwd: mode %o uid %d gid %d mtime %v atime %v size %d", ust.Mode, ust.Uid, ust.Gid, ust.Mtim, ust.Atim, ust.Size)
	}
	if v, err := u.(vfs.Xattrs).GetXattr("user.tag", 0); err != nil || string(v) != "etc" {
		t.Errorf("user.tag = %q, %v", v, err)
	}
	if _, err := u.(vfs.Xattrs).GetXattr("trusted.overlay.origin", 0); err != unix.ENODATA {
		t.Errorf("trusted.overlay.* copied up: %v", err)
	}
	if got := e.read("etc/passwd"); got != "root:x:0:0" {
		t.Errorf("content after copy-up %q", got)
	}
	st := e.stat("etc/passwd")
	if st.Ino != ino || st.Dev != lowerDev || st.Mode&0o7777 != 0o600 {
		t.Errorf("merged stat after copy-up: ino %d (want %d) dev %d mode %o", st.Ino, ino, st.Dev, st.Mode)
	}
	// The parent was copied up with its attributes, and its times kept.
	pst, _ := mustWalk(t, e.upper, "etc").Stat()
	if pst.Mode != unix.S_IFDIR|0o755 || pst.Uid != 7 || pst.Gid != 8 || pst.Mtim != ts(2000) {
		t.Errorf("upper etc: mode %o uid %d gid %d mtime %v", pst.Mode, pst.Uid, pst.Gid, pst.Mtim)
	}
	if etcAfter := e.stat("etc"); etcAfter.Mtim != etcBefore.Mtim || etcAfter.Ino != etcBefore.Ino {
		t.Errorf("merged etc changed: %v/%d -> %v/%d", etcBefore.Mtim, etcBefore.Ino, etcAfter.Mtim, etcAfter.Ino)
	}

	// Writes go to the upper copy; the lower file is untouched (checked
	// by the env cleanup).
	f, err := e.open("etc/passwd", unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("ROOT"), 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Stat(); st.Ino != ino || st.Dev != lowerDev {
		t.Errorf("fstat of copied-up file: ino %d dev %d, want %d %d", st.Ino, st.Dev, ino, lowerDev)
	}
	if _, ok := f.(vfs.Truncater); !ok {
		t.Errorf("open file lost Truncater")
	}
	if _, ok := f.(mm.SharedMappable); !ok {
		t.Errorf("open file lost SharedMappable")
	}
	f.Close()
	if got := e.read("etc/passwd"); got != "ROOT:x:0:0" {
		t.Errorf("after write %q", got)
	}

	// Symlink: copied up by chown (lchown), target and times kept.
	if err := e.resolve("lnk").Inode().(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetGID, GID: 42}); err != nil {
		t.Fatalf("lchown: %v", err)
	}
	ul := mustWalk(t, e.upper, "lnk")
	if target, _ := ul.Readlink(); target != "etc/passwd" {
		t.Errorf("upper symlink target %q", target)
	}
	if st, _ := ul.Stat(); st.Uid != 5 || st.Gid != 42 || st.Mtim != ts(3000) || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("upper symlink: uid %d gid %d mtime %v mode %o", st.Uid, st.Gid, st.Mtim, st.Mode)
	}

	// FIFO: copied up by utimes.
	if err := e.resolve("fifo").Inode().(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMtime, Mtime: ts(5)}); err != nil {
		t.Fatalf("utimes fifo: %v", err)
	}
	if st, _ := mustWalk(t, e.upper, "fifo").Stat(); st.Mode != unix.S_IFIFO|0o600 || st.Mtim != ts(5) {
		t.Errorf("upper fifo: mode %o mtime %v", st.Mode, st.Mtim)
	}

	// Setuid binary: mode bits kept by an xattr change.
	if err := e.resolve("bin/sh").Inode().(vfs.Xattrs).SetXattr("user.x", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := mustWalk(t, e.upper, "bin/sh").Stat(); st.Mode != unix.S_IFREG|0o4755 {
		t.Errorf("upper sh mode %o", st.Mode)
	}
	if got := e.read("bin/sh"); got != "ELF" {
		t.Errorf("sh content %q", got)
	}

	// Removing a missing xattr does not copy up.
	if err := e.resolve("etc/hosts").Inode().(vfs.Xattrs).RemoveXattr("user.none"); err != unix.ENODATA {
		t.Errorf("RemoveXattr missing: %v", err)
	}
	if e.upperHas("etc/hosts") {
		t.Errorf("etc/hosts copied up by a failed removexattr")
	}
	// Reading does not copy up.
	_ = e.read("etc/hosts")
	_ = e.read("etc/sub/a")
	if e.upperHas("etc/hosts") || e.upperHas("etc/sub") {
		t.Errorf("read copied up")
	}
}

func TestOpenCopyUp(t *testing.T) {
	tests := []struct {
		name  string
		flags int
		want  string // content after writing "XY" at 0
	}{
		{"rdonly", unix.O_RDONLY, "lower file"},
		{"wronly", unix.O_WRONLY, "XYwer file"},
		{"rdwr", unix.O_RDWR, "XYwer file"},
		{"trunc", unix.O_WRONLY | unix.O_TRUNC, "XY"},
		{"rdwr-trunc", unix.O_RDWR | unix.O_TRUNC, "XY"},
		{"rdonly-trunc", unix.O_RDONLY | unix.O_TRUNC, "lower file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, image, nil, overlay.Options{})
			f, err := e.open("file", tc.flags)
			if err != nil {
				t.Fatal(err)
			}
			acc := tc.flags & unix.O_ACCMODE
			if acc != unix.O_RDONLY {
				if _, err := f.WriteAt([]byte("XY"), 0); err != nil {
					t.Fatal(err)
				}
			}
			f.Close()
			copied := acc != unix.O_RDONLY || tc.flags&unix.O_TRUNC != 0
			if e.upperHas("file") != copied {
				t.Errorf("copied up = %v, want %v", e.upperHas("file"), copied)
			}
			if got := e.read("file"); got != tc.want {
				t.Errorf("content %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTruncateCopyUp(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	if err := e.resolve("file").Inode().(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetSize, Size: 5}); err != nil {
		t.Fatal(err)
	}
	if got := e.read("file"); got != "lower" {
		t.Errorf("truncate to 5: %q", got)
	}
	if err := e.resolve("etc/hosts").Inode().(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetSize, Size: 12}); err != nil {
		t.Fatal(err)
	}
	if got := e.read("etc/hosts"); got != "127.0.0.1\x00\x00\x00" {
		t.Errorf("extend to 12: %q", got)
	}
}

// TestReadOnlyOpenSeesCopyUp: a file opened read-only before another
// descriptor copied it up reads the upper file, as on Linux since 4.19.
func TestReadOnlyOpenSeesCopyUp(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	r, err := e.open("file", unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := e.open("file", unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("UPPER"), 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := readAll(t, r); got != "UPPER file" {
		t.Errorf("read-only file opened before copy-up reads %q", got)
	}
	if got := e.read("file"); got != "UPPER file" {
		t.Errorf("new open reads %q", got)
	}
}

func TestUnlinkedLowerFileCannotCopyUp(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	in := e.resolve("file").Inode()
	if err := e.unlink("file"); err != nil {
		t.Fatal(err)
	}
	if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o600}); err != unix.ENOENT {
		t.Errorf("SetStat of unlinked lower file: %v, want ENOENT", err)
	}
	if e.upperHas("file") {
		t.Errorf("unlinked file resurrected in the upper tree")
	}
	expectErr(t, "lookup", e.lookupErr("file"), unix.ENOENT)
}

func TestRename(t *testing.T) {
	type check struct {
		path string
		want string // content, or "" for ENOENT
	}
	tests := []struct {
		name     string
		from, to string
		flags    uint32
		err      error
		checks   []check
		ls       map[string][]string
	}{
		{
			name: "lower file", from: "etc/hosts", to: "etc/hosts2",
			checks: []check{{"etc/hosts", ""}, {"etc/hosts2", "127.0.0.1"}},
			ls:     map[string][]string{"etc": {"hosts2", "passwd", "sub"}},
		},
		{
			name: "lower file across dirs", from: "etc/hosts", to: "bin/hosts",
			checks: []check{{"etc/hosts", ""}, {"bin/hosts", "127.0.0.1"}},
			ls:     map[string][]string{"etc": {"passwd", "sub"}, "bin": {"hosts", "sh"}},
		},
		{
			name: "over lower file", from: "etc/hosts", to: "file",
			checks: []check{{"etc/hosts", ""}, {"file", "127.0.0.1"}},
			ls:     map[string][]string{"/": {"bin", "etc", "fifo", "file", "lnk"}},
		},
		{
			name: "noreplace", from: "etc/hosts", to: "file", flags: unix.RENAME_NOREPLACE, err: unix.EEXIST,
			checks: []check{{"etc/hosts", "127.0.0.1"}, {"file", "lower file"}},
		},
		{
			name: "exchange files", from: "etc/hosts", to: "file", flags: unix.RENAME_EXCHANGE,
			checks: []check{{"etc/hosts", "lower file"}, {"file", "127.0.0.1"}},
		},
		{
			name: "lower symlink", from: "lnk", to: "etc/lnk2",
			checks: []check{{"lnk", ""}},
			ls:     map[string][]string{"etc": {"hosts", "lnk2", "passwd", "sub"}},
		},
		{name: "lower dir", from: "etc/sub", to: "sub", err: unix.EXDEV, checks: []check{{"etc/sub/a", "a"}}},
		{name: "lower dir same parent", from: "etc", to: "etc2", err: unix.EXDEV},
		{name: "exchange lower dir", from: "etc", to: "file", flags: unix.RENAME_EXCHANGE, err: unix.EXDEV},
		{name: "exchange with lower dir", from: "file", to: "bin", flags: unix.RENAME_EXCHANGE, err: unix.EXDEV},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, image, nil, overlay.Options{})
			var ino uint64
			if tc.err == nil {
				ino = e.stat(tc.from).Ino
			}
			expectErr(t, "rename", e.rename(tc.from, tc.to, tc.flags), tc.err)
			for _, c := range tc.checks {
				if c.want == "" {
					expectErr(t, "lookup "+c.path, e.lookupErr(c.path), unix.ENOENT)
				} else if got := e.read(c.path); got != c.want {
					t.Errorf("%s = %q, want %q", c.path, got, c.want)
				}
			}
			for dir, want := range tc.ls {
				expectNames(t, "ls "+dir, e.ls(dir), want...)
			}
			if tc.err == nil {
				if got := e.stat(tc.to).Ino; got != ino {
					t.Errorf("inode number changed by rename: %d -> %d", ino, got)
				}
			}
		})
	}
}

func TestRenameUpperDir(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	if err := e.mkdir("newdir"); err != nil {
		t.Fatal(err)
	}
	e.create("newdir/f", "f")
	if err := e.rename("newdir", "etc/moved", 0); err != nil {
		t.Fatalf("rename upper-only dir: %v", err)
	}
	if got := e.read("etc/moved/f"); got != "f" {
		t.Errorf("moved content %q", got)
	}
	expectErr(t, "old name", e.lookupErr("newdir"), unix.ENOENT)
	// ".." of the moved directory is its new parent.
	ents := e.readdir("etc/moved", 0)
	if ents[1].Name != ".." || ents[1].Ino != e.stat("etc").Ino {
		t.Errorf("'..' of moved dir: %+v, want ino %d", ents[1], e.stat("etc").Ino)
	}

	// Over an empty merged directory: the moved one is opaque.
	for _, n := range []string{"a", "b"} {
		if err := e.unlink("etc/sub/" + n); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.rename("etc/moved", "etc/sub", 0); err != nil {
		t.Fatalf("rename over empty merged dir: %v", err)
	}
	expectNames(t, "ls etc/sub", e.ls("etc/sub"), "f")
	expectErr(t, "lower child", e.lookupErr("etc/sub/a"), unix.ENOENT)
	if err := e.unlink("etc/sub/f"); err != nil {
		t.Fatal(err)
	}
	if err := e.rmdir("etc/sub"); err != nil {
		t.Fatal(err)
	}
	expectErr(t, "after rmdir", e.lookupErr("etc/sub"), unix.ENOENT)
	expectNames(t, "ls etc", e.ls("etc"), "hosts", "passwd")

	// Over a non-empty merged directory.
	if err := e.mkdir("d2"); err != nil {
		t.Fatal(err)
	}
	expectErr(t, "over non-empty", e.rename("d2", "bin", 0), unix.ENOTEMPTY)
	expectErr(t, "dir over file", e.rename("d2", "file", 0), unix.ENOTDIR)
	expectErr(t, "file over dir", e.rename("file", "d2", 0), unix.EISDIR)
}

func TestReaddir(t *testing.T) {
	const n = 60
	e := newEnv(t, func(b *builder) {
		b.dir("d", 0o755)
		for i := 0; i < n; i++ {
			b.file(fmt.Sprintf("d/lower%02d", i), "x", 0o644)
		}
		b.dir("d/sub", 0o755)
	}, nil, overlay.Options{})
	for i := 0; i < 10; i++ {
		e.create(fmt.Sprintf("d/upper%02d", i), "u")
	}
	for i := 0; i < n; i += 3 {
		if err := e.unlink(fmt.Sprintf("d/lower%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Copy one up: it must be listed once.
	if err := e.resolve("d/lower01").Inode().(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := 0; i < 10; i++ {
		want[fmt.Sprintf("upper%02d", i)] = true
	}
	for i := 0; i < n; i++ {
		if i%3 != 0 {
			want[fmt.Sprintf("lower%02d", i)] = true
		}
	}
	want["sub"] = true

	for _, maxBytes := range []int{0, 1, 64, 200} {
		ents := e.readdir("d", maxBytes)
		if len(ents) < 2 || ents[0].Name != "." || ents[1].Name != ".." {
			t.Fatalf("maxBytes %d: listing does not start with . and ..: %+v", maxBytes, ents[:min(2, len(ents))])
		}
		seen := map[string]bool{}
		for k, d := range ents {
			if d.Off != uint64(k+1) {
				t.Errorf("entry %d %q has cookie %d", k, d.Name, d.Off)
			}
			if k < 2 {
				continue
			}
			if seen[d.Name] {
				t.Errorf("%q listed twice", d.Name)
			}
			seen[d.Name] = true
			if !want[d.Name] {
				t.Errorf("unexpected %q", d.Name)
			}
			st := e.stat("d/" + d.Name)
			if st.Ino != d.Ino {
				t.Errorf("%q: dirent ino %d, stat ino %d", d.Name, d.Ino, st.Ino)
			}
			if uint32(d.Type)<<12 != st.Mode&unix.S_IFMT {
				t.Errorf("%q: dirent type %d, mode %o", d.Name, d.Type, st.Mode)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("maxBytes %d: %d entries, want %d", maxBytes, len(seen), len(want))
		}
		if ents[0].Ino != e.stat("d").Ino || ents[1].Ino != e.stat("/").Ino {
			t.Errorf(". and .. inos %d %d", ents[0].Ino, ents[1].Ino)
		}
	}

	// Stability: changes between reads of one open directory do not
	// move cookies; rewinding shows them.
	f, err := e.resolve("d").Inode().Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dr := f.(vfs.DirReader)
	first, err := dr.Readdir(0, 200)
	if err != nil || len(first) == 0 {
		t.Fatalf("first read: %v, %d entries", err, len(first))
	}
	full, _ := dr.Readdir(0, 0)
	e.create("d/aaa-new", "new")
	last := len(full) - 1
	for full[last].Type == unix.DT_DIR {
		last--
	}
	if err := e.unlink("d/" + full[last].Name); err != nil {
		t.Fatal(err)
	}
	if err := e.unlink("d/" + full[len(first)].Name); err != nil {
		t.Fatal(err)
	}
	rest, err := dr.Readdir(first[len(first)-1].Off, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := append(append([]vfs.Dirent(nil), first...), rest...)
	if len(got) != len(full) {
		t.Fatalf("continued listing has %d entries, want the snapshot's %d", len(got), len(full))
	}
	for k := range got {
		if got[k] != full[k] {
			t.Errorf("entry %d: %+v, snapshot %+v", k, got[k], full[k])
		}
	}
	again, _ := dr.Readdir(0, 0)
	if len(again) != len(full)-1 {
		t.Errorf("rewound listing has %d entries, want %d", len(again), len(full)-1)
	}
	if extra, _ := dr.Readdir(uint64(len(again)+5), 0); len(extra) != 0 {
		t.Errorf("read past the end: %+v", extra)
	}
}

func TestHardLink(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	ino := e.stat("etc/hosts").Ino
	if err := e.link("etc/hosts", "bin/hosts"); err != nil {
		t.Fatalf("link of lower file: %v", err)
	}
	if !e.upperHas("etc/hosts") || !e.upperHas("bin/hosts") {
		t.Fatalf("link not made in the upper tree")
	}
	a, b := e.stat("etc/hosts"), e.stat("bin/hosts")
	if a.Ino != ino || b.Ino != ino || a.Nlink != 2 || b.Nlink != 2 {
		t.Errorf("links: ino %d/%d (want %d), nlink %d/%d", a.Ino, b.Ino, ino, a.Nlink, b.Nlink)
	}
	f, err := e.open("bin/hosts", unix.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("::1"), 0)
	f.Close()
	if got := e.read("etc/hosts"); got != "::1.0.0.1" {
		t.Errorf("write through one link, other reads %q", got)
	}
	if err := e.unlink("etc/hosts"); err != nil {
		t.Fatal(err)
	}
	expectErr(t, "lookup unlinked link", e.lookupErr("etc/hosts"), unix.ENOENT)
	if st := e.stat("bin/hosts"); st.Nlink != 1 {
		t.Errorf("nlink after unlink %d", st.Nlink)
	}
	// Directories cannot be linked; nor can files of another overlay.
	other := newEnv(t, image, nil, overlay.Options{})
	dir, _ := e.parent("x")
	if err := dir.Inode().(vfs.DirOps).Link("x", other.resolve("file").Inode()); err != unix.EXDEV {
		t.Errorf("cross-overlay link: %v", err)
	}
	if err := dir.Inode().(vfs.DirOps).Link("x", e.resolve("etc").Inode()); err != unix.EPERM {
		t.Errorf("link of dir: %v", err)
	}
}

func TestCreateKinds(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	etc := e.resolve("etc")
	if _, err := etc.Symlink("sl", "passwd", owner, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := etc.Mknod("sock", unix.S_IFSOCK|0o644, owner, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.mkdir("etc/sub/deeper"); err != nil {
		t.Fatal(err)
	}
	e.create("etc/sub/deeper/f", "deep")
	expectNames(t, "ls etc", e.ls("etc"), "hosts", "passwd", "sl", "sock", "sub")
	expectNames(t, "ls etc/sub", e.ls("etc/sub"), "a", "b", "deeper")
	if st := e.stat("etc/sock"); st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Errorf("sock mode %o", st.Mode)
	}
	if got := e.read("etc/sub/deeper/f"); got != "deep" {
		t.Errorf("deep %q", got)
	}
	// The copied-up etc/sub kept its mode.
	if st, _ := mustWalk(t, e.upper, "etc/sub").Stat(); st.Mode&0o7777 != 0o750 {
		t.Errorf("upper etc/sub mode %o", st.Mode)
	}
	expectErr(t, "create existing", e.tryCreate("etc/passwd", ""), unix.EEXIST)
}

func TestDevOption(t *testing.T) {
	const dev = 77
	e := newEnv(t, image, nil, overlay.Options{Dev: dev})
	e.create("new", "n")
	lower := e.stat("file")
	up := e.stat("new")
	lst, _ := mustWalk(t, e.lower, "file").Stat()
	ust, _ := mustWalk(t, e.upper, "new").Stat()
	if lower.Dev != dev || up.Dev != dev {
		t.Errorf("devs %d %d, want %d", lower.Dev, up.Dev, dev)
	}
	if lower.Ino != lst.Ino {
		t.Errorf("lower ino %d, want %d", lower.Ino, lst.Ino)
	}
	if up.Ino != ust.Ino|1<<63 {
		t.Errorf("upper-only ino %#x, want %#x", up.Ino, ust.Ino|1<<63)
	}
	for _, p := range []string{"file", "new"} {
		f, err := e.open(p, unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		fst, _ := f.Stat()
		st := e.stat(p)
		if fst.Ino != st.Ino || fst.Dev != st.Dev {
			t.Errorf("%s: fstat %d/%d, stat %d/%d", p, fst.Dev, fst.Ino, st.Dev, st.Ino)
		}
		if _, ok := f.(vfs.Allocator); !ok {
			t.Errorf("%s: wrapped file lost Allocator", p)
		}
		f.Close()
	}
	ents := e.readdir("/", 0)
	for _, d := range ents[2:] {
		if st := e.stat(d.Name); st.Ino != d.Ino {
			t.Errorf("%s: dirent ino %#x, stat %#x", d.Name, d.Ino, st.Ino)
		}
	}
}

func TestStatFSAndMisc(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	st, err := e.root.(vfs.StatFSer).StatFS()
	if err != nil || st.Type != overlay.Magic {
		t.Errorf("StatFS: type %#x, %v", st.Type, err)
	}
	if !e.root.(vfs.NegativeCacher).CachesNegative() {
		t.Errorf("CachesNegative false")
	}
	e.root.(vfs.Invalidator).Invalidate()
	if _, err := e.resolve("file").Inode().Lookup("x"); err != unix.ENOTDIR {
		t.Errorf("Lookup in file: %v", err)
	}
	if _, err := e.resolve("etc").Inode().Open(unix.O_RDWR); err != unix.EISDIR {
		t.Errorf("open dir for writing: %v", err)
	}
	names, err := e.resolve("etc/passwd").Inode().(vfs.Xattrs).ListXattr(0)
	if err != nil || len(names) != 2 {
		t.Errorf("ListXattr: %q, %v", names, err)
	}
	if e.upperHas("etc") {
		t.Errorf("reading attributes copied up")
	}
}

func TestReadOnlyOverlay(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	ro := overlay.New(e.lower, nil, overlay.Options{})
	r := vfs.NewRoot(ro)
	d, err := vfs.Resolve(r, r, "etc", vfs.ResolveOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Mkdir("x", 0o755, owner, nil); err != unix.EROFS {
		t.Errorf("mkdir in read-only overlay: %v", err)
	}
	if err := d.Unlink("hosts", nil); err != unix.EROFS {
		t.Errorf("unlink in read-only overlay: %v", err)
	}
	f, err := vfs.Resolve(r, r, "etc/hosts", vfs.ResolveOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Inode().Open(unix.O_RDWR); err != unix.EROFS {
		t.Errorf("open for write: %v", err)
	}
	if _, err := f.Inode().Open(unix.O_RDONLY); err != nil {
		t.Errorf("open read-only: %v", err)
	}
}

// TestConcurrentCopyUp reads, stats, lists and looks up files while they
// are copied up and changed; run with -race.
func TestConcurrentCopyUp(t *testing.T) {
	const files = 8
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB
	e := newEnv(t, func(b *builder) {
		b.dir("d", 0o755)
		for i := 0; i < files; i++ {
			b.file(fmt.Sprintf("d/f%d", i), string(big), 0o644)
		}
	}, nil, overlay.Options{})

	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < files; i++ {
		path := fmt.Sprintf("d/f%d", i)
		// Readers with files opened before the copy-up.
		r, err := e.open(path, unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			<-start
			// A file opened before the copy-up reads the lower
			// data, or once copied up, the whole copy with or
			// without the writers' byte: never a partial copy.
			written := append([]byte("W"), big[1:]...)
			buf := make([]byte, len(big))
			for k := 0; k < 3; k++ {
				n, _ := r.ReadAt(buf, 0)
				if !bytes.Equal(buf[:n], big) && !bytes.Equal(buf[:n], written) {
					t.Errorf("%s: a reader opened before the copy-up read %d bytes of neither the lower file nor its written copy", path, n)
					return
				}
			}
		}()
		// Writers trigger the copy-up (several at once per file).
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				f, err := e.open(path, unix.O_RDWR)
				if err != nil {
					t.Errorf("open %s for write: %v", path, err)
					return
				}
				defer f.Close()
				if _, err := f.WriteAt([]byte("W"), 0); err != nil {
					t.Errorf("write %s: %v", path, err)
				}
			}()
		}
		// Stat and fresh lookups and reads.
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k := 0; k < 20; k++ {
				r := vfs.NewRoot(e.root)
				d, err := vfs.Resolve(r, r, path, vfs.ResolveOpts{})
				if err != nil {
					t.Errorf("resolve %s: %v", path, err)
					return
				}
				st, err := d.Inode().Stat()
				if err != nil || st.Size != int64(len(big)) {
					t.Errorf("stat %s: size %d, %v", path, st.Size, err)
				}
				f, err := d.Inode().Open(unix.O_RDONLY)
				if err != nil {
					t.Errorf("open %s: %v", path, err)
					return
				}
				buf := make([]byte, 16)
				if n, _ := f.ReadAt(buf, 1); n != 16 || string(buf) != "123456789abcdef0" {
					t.Errorf("read %s: %q", path, buf[:n])
				}
				f.Close()
			}
		}()
	}
	// Listing and creating in the directory meanwhile.
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-start
		for k := 0; k < 20; k++ {
			f, err := e.resolve("d").Inode().Open(unix.O_RDONLY)
			if err != nil {
				t.Errorf("open d: %v", err)
				return
			}
			ents := readdirAll(t, f, 128)
			f.Close()
			if len(ents) < files+2 {
				t.Errorf("listing has %d entries", len(ents))
			}
		}
	}()
	go func() {
		defer wg.Done()
		<-start
		d := mustWalk(t, e.root, "d").(vfs.DirOps)
		for k := 0; k < 20; k++ {
			_, f, err := d.Create(fmt.Sprintf("new%d", k), unix.O_RDWR, unix.S_IFREG|0o644, owner)
			if err != nil {
				t.Errorf("create: %v", err)
				return
			}
			f.Close()
		}
	}()
	close(start)
	wg.Wait()
	for i := 0; i < files; i++ {
		path := fmt.Sprintf("d/f%d", i)
		want := "W" + string(big[1:])
		if got := e.read(path); got != want {
			t.Errorf("%s after copy-up: %d bytes, first %q", path, len(got), got[:min(len(got), 4)])
		}
	}
	if n := len(e.ls("d")); n != files+20 {
		t.Errorf("d has %d entries, want %d", n, files+20)
	}
}

// TestConcurrentLookupUnlink looks names up (without the VFS's cache) while
// they are unlinked and re-created: a lookup racing a removal must not
// leave a stale merged child behind.
func TestConcurrentLookupUnlink(t *testing.T) {
	const n = 50
	e := newEnv(t, func(b *builder) {
		b.dir("d", 0o755)
		for i := 0; i < n; i++ {
			b.file(fmt.Sprintf("d/f%d", i), "x", 0o644)
		}
	}, nil, overlay.Options{})
	d := mustWalk(t, e.root, "d")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := 0; i < n; i++ {
					if c, err := d.Lookup(fmt.Sprintf("f%d", i)); err == nil {
						c.Stat()
					}
				}
				if f, err := d.Open(unix.O_RDONLY); err == nil {
					f.(vfs.DirReader).Readdir(0, 0)
					f.Close()
				}
			}
		}()
	}
	ops := d.(vfs.DirOps)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%d", i)
		if err := ops.Unlink(name); err != nil {
			t.Fatalf("unlink %s: %v", name, err)
		}
		if i%2 == 0 {
			_, f, err := ops.Create(name, unix.O_RDWR, unix.S_IFREG|0o644, owner)
			if err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
			f.WriteAt([]byte("new"), 0)
			f.Close()
		}
	}
	close(stop)
	wg.Wait()
	for i := 0; i < n; i++ {
		path := fmt.Sprintf("d/f%d", i)
		if i%2 == 0 {
			if got := e.read(path); got != "new" {
				t.Errorf("%s = %q", path, got)
			}
		} else {
			expectErr(t, path, e.lookupErr(path), unix.ENOENT)
		}
	}
	if got := len(e.ls("d")); got != n/2 {
		t.Errorf("d has %d entries, want %d", got, n/2)
	}
}

func TestRemoveXattrCopyUp(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	x := e.resolve("etc/passwd").Inode().(vfs.Xattrs)
	if err := x.RemoveXattr("user.tag"); err != nil {
		t.Fatalf("RemoveXattr: %v", err)
	}
	if !e.upperHas("etc/passwd") {
		t.Fatalf("not copied up")
	}
	if _, err := x.GetXattr("user.tag", 0); err != unix.ENODATA {
		t.Errorf("GetXattr after remove: %v", err)
	}
	if err := x.SetXattr("user.new", []byte("v"), unix.XATTR_CREATE); err != nil {
		t.Fatal(err)
	}
	if v, err := x.GetXattr("user.new", 0); err != nil || string(v) != "v" {
		t.Errorf("GetXattr user.new = %q, %v", v, err)
	}
}

func TestExchangeUpperDirWithLowerFile(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	if err := e.mkdir("etc/newdir"); err != nil {
		t.Fatal(err)
	}
	e.create("etc/newdir/in", "in")
	if err := e.rename("etc/newdir", "file", unix.RENAME_EXCHANGE); err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got := e.read("file/in"); got != "in" {
		t.Errorf("file/in = %q", got)
	}
	if got := e.read("etc/newdir"); got != "lower file" {
		t.Errorf("etc/newdir = %q", got)
	}
	// Renaming the file back over a name the lower tree has.
	if err := e.rename("etc/newdir", "etc/hosts", 0); err != nil {
		t.Fatal(err)
	}
	if got := e.read("etc/hosts"); got != "lower file" {
		t.Errorf("etc/hosts = %q", got)
	}
	expectErr(t, "etc/newdir", e.lookupErr("etc/newdir"), unix.ENOENT)
	expectNames(t, "ls etc", e.ls("etc"), "hosts", "passwd", "sub")
}
