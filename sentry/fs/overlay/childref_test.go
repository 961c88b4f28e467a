package overlay

import (
	"runtime"
	"testing"
	"weak"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// TestLowerOnlyChildrenGoWhenUnused: a merged file that lies only in the
// lower tree is not kept once nothing uses it (its lower file's gofer FID
// must go back), and comes back with the same identity; a copied-up one
// is kept, since its metadata lives only in it.
func TestLowerOnlyChildrenGoWhenUnused(t *testing.T) {
	mf, err := memfile.New("overlay-childref", 16<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	lower := tmpfs.New(mf, tmpfs.Options{Mode: 0o755, Dev: 11})
	for _, name := range []string{"kept", "dropped"} {
		_, f, err := lower.Root().(vfs.DirOps).Create(name, unix.O_RDWR, 0o644, vfs.Owner{})
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	root := New(lower.Root(), tmpfs.New(mf, tmpfs.Options{Mode: 0o755, Dev: 22}).Root(), Options{}).(*inode)

	lookup := func(name string) *inode {
		t.Helper()
		in, err := root.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		return in.(*inode)
	}
	dropped := lookup("dropped")
	ino := dropped.ino
	if lookup("dropped") != dropped {
		t.Fatal("a child in use was made again")
	}
	kept := lookup("kept")
	if err := kept.copyUp(-1); err != nil {
		t.Fatal(err)
	}
	droppedRef, keptRef := weak.Make(dropped), weak.Make(kept)
	dropped, kept = nil, nil
	runtime.GC()
	runtime.GC()
	if droppedRef.Value() != nil {
		t.Error("an unused lower-only child is still cached")
	}
	if keptRef.Value() == nil {
		t.Error("a copied-up child was let go")
	}
	if again := lookup("dropped"); again.ino != ino {
		t.Errorf("looked up again: ino %d, was %d", again.ino, ino)
	}
}
