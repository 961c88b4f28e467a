package overlay_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/overlay"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// TestTmpfile checks open(2)'s O_TMPFILE on the overlay: an unnamed file
// of the upper layer made in a lower-only directory (copied up for it),
// not listed, nlink 0, that linkat gives a name visible through a fresh
// walk and in the upper tree, while the lower tree stays as it was.
func TestTmpfile(t *testing.T) {
	e := newEnv(t, image, nil, overlay.Options{})
	dir := e.resolve("etc/sub")
	tc, ok := dir.Inode().(vfs.TmpfileCreator)
	if !ok {
		t.Fatal("overlay directory is not a vfs.TmpfileCreator")
	}
	in, f, err := tc.CreateTmpfile(0, 0o640, owner)
	if err != nil {
		t.Fatalf("CreateTmpfile: %v", err)
	}
	if _, err := f.WriteAt([]byte("unnamed"), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	st, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o7777 != 0o640 || st.Nlink != 0 {
		t.Errorf("tmpfile mode %o nlink %d, want regular 0640 nlink 0", st.Mode, st.Nlink)
	}
	if fst, err := f.Stat(); err != nil || fst.Ino != st.Ino || fst.Dev != st.Dev {
		t.Errorf("open file's stat %d:%d (%v), inode's %d:%d", fst.Dev, fst.Ino, err, st.Dev, st.Ino)
	}
	expectNames(t, "ls etc/sub", e.ls("etc/sub"), "a", "b")

	// O_EXCL files never get a name: the VFS refuses linkat for them.
	if vfs.NewTmpfile(dir, in, false).Linkable() {
		t.Error("O_EXCL tmpfile is linkable")
	}
	d := vfs.NewTmpfile(dir, in, true)
	if err := dir.Link("named", d, nil); err != nil {
		t.Fatalf("Link: %v", err)
	}
	if _, err := f.WriteAt([]byte("UN"), 0); err != nil {
		t.Fatalf("WriteAt after link: %v", err)
	}
	f.Close()
	expectNames(t, "ls etc/sub", e.ls("etc/sub"), "a", "b", "named")
	if got := e.read("etc/sub/named"); got != "UNnamed" {
		t.Errorf("etc/sub/named reads %q", got)
	}
	fresh, err := e.resolveIn(e.fresh(), "etc/sub/named")
	if err != nil {
		t.Fatalf("fresh walk: %v", err)
	}
	if fst, err := fresh.Inode().Stat(); err != nil || fst.Nlink != 1 || fst.Ino != st.Ino {
		t.Errorf("named: nlink %d ino %d (%v), want 1 and %d", fst.Nlink, fst.Ino, err, st.Ino)
	}
	mustWalk(t, e.upper, "etc/sub/named")
}
