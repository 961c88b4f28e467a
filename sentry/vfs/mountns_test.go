package vfs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

func mustResolve(t *testing.T, root, start *vfs.Dentry, path string) *vfs.Dentry {
	t.Helper()
	d, err := vfs.Resolve(root, start, path, vfs.ResolveOpts{FollowFinal: true})
	if err != nil {
		t.Fatalf("Resolve %q: %v", path, err)
	}
	return d
}

func mountTargets(ns *vfs.MountNamespace) []string {
	var out []string
	for _, m := range ns.Mounts() {
		out = append(out, m.Target)
	}
	return out
}

// TestMountNamespaceCopy checks that a copied namespace has the mounts of
// the original, that later mounts and unmounts in either stay there, and
// that a working directory maps to its place in the copy.
func TestMountNamespaceCopy(t *testing.T) {
	tree := dir(map[string]*node{
		"a": dir(map[string]*node{"deep": dir(nil)}),
		"b": dir(nil),
	})
	ns := vfs.NewMountNamespace(vfs.NewRoot(tree), 1)
	root := ns.Root()
	m, err := ns.Mount(mustResolve(t, root, root, "a"), dir(map[string]*node{"x": dir(nil)}), vfs.MountInfo{FSType: "t"})
	if err != nil {
		t.Fatal(err)
	}
	cwd := mustResolve(t, root, root, "a/x")
	c, remap := ns.Copy(2)
	if got := mountTargets(c); len(got) != 2 || got[0] != "/" || got[1] != "/a" {
		t.Fatalf("copy's mounts %q", got)
	}
	croot := c.Root()
	ccwd := remap(cwd)
	if ccwd == cwd || ccwd.Path(croot) != "/a/x" {
		t.Errorf("cwd in the copy: %p %q", ccwd, ccwd.Path(croot))
	}
	if _, err := ns.Mount(mustResolve(t, root, root, "b"), dir(nil), vfs.MountInfo{}); err != nil {
		t.Fatal(err)
	}
	if got := mountTargets(c); len(got) != 2 {
		t.Errorf("the original's mount shows in the copy: %q", got)
	}
	// The copy's mount of a is its own: unmounting it there leaves the
	// original's.
	if err := c.Unmount(mustResolve(t, croot, croot, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := vfs.Resolve(croot, croot, "a/x", vfs.ResolveOpts{}); err != unix.ENOENT {
		t.Errorf("a/x in the copy after umount: %v", err)
	}
	mustResolve(t, root, root, "a/x")
	// A mount of the original is not the copy's to unmount.
	if err := c.Unmount(m); err != unix.EINVAL {
		t.Errorf("unmounting the original's mount from the copy: %v", err)
	}
}

// TestMountNamespaceMovePivot checks MS_MOVE's and pivot_root's tree
// changes and their loop checks.
func TestMountNamespaceMovePivot(t *testing.T) {
	tree := dir(map[string]*node{"a": dir(nil), "b": dir(nil), "f": file("")})
	ns := vfs.NewMountNamespace(vfs.NewRoot(tree), 1)
	root := ns.Root()
	m, err := ns.Mount(mustResolve(t, root, root, "a"), dir(map[string]*node{"in": dir(nil)}), vfs.MountInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Move(m, mustResolve(t, root, root, "a/in")); err != unix.ELOOP {
		t.Errorf("move into itself: %v", err)
	}
	if err := ns.Move(m, mustResolve(t, root, root, "f")); err != unix.EINVAL {
		t.Errorf("move a directory onto a file: %v", err)
	}
	if err := ns.Move(mustResolve(t, root, root, "b"), mustResolve(t, root, root, "a")); err != unix.EINVAL {
		t.Errorf("move a non-mount: %v", err)
	}
	if err := ns.Move(m, mustResolve(t, root, root, "b")); err != nil {
		t.Fatal(err)
	}
	mustResolve(t, root, root, "b/in")
	if got := mountTargets(ns); len(got) != 2 || got[1] != "/b" {
		t.Errorf("mounts after move %q", got)
	}

	// pivot_root(".", ".") from inside the mount, then umount ".".
	b := mustResolve(t, root, root, "b")
	if _, err := ns.Pivot(root, root, root); err != unix.EBUSY {
		t.Errorf("pivot onto the root's mount: %v", err)
	}
	old, err := ns.Pivot(root, b, b)
	if err != nil {
		t.Fatal(err)
	}
	if old != root || ns.Root() != b {
		t.Fatalf("pivot: old %p root %p", old, ns.Root())
	}
	over := mustResolve(t, b, b, ".")
	if over != root {
		t.Fatalf(`"." after pivot is not the old root`)
	}
	if err := ns.Unmount(over); err != nil {
		t.Fatal(err)
	}
	mustResolve(t, b, b, "/in")
	if got := mountTargets(ns); len(got) != 1 || got[0] != "/" {
		t.Errorf("mounts after pivot and umount %q", got)
	}
}

// TestCopiedMountNamespaceEnds checks that a copy ends with its last
// user: its dentries leave the dentry cache (where one cached name
// would keep its whole tree) and its mounts give back the namespaces
// they hold; an initial namespace is not counted, and an ended copy
// cannot be entered.
func TestCopiedMountNamespaceEnds(t *testing.T) {
	tree := dir(map[string]*node{"a": dir(map[string]*node{"deep": dir(nil)}), "f": file("")})
	ns := vfs.NewMountNamespace(vfs.NewRoot(tree), 1)
	root := ns.Root()
	if _, err := ns.Mount(mustResolve(t, root, root, "a"), dir(map[string]*node{"x": dir(nil)}), vfs.MountInfo{FSType: "t"}); err != nil {
		t.Fatal(err)
	}
	c, _ := ns.Copy(2)
	c.Enter()
	c.Enter()
	croot := c.Root()
	// A name looked up in the copy, below its mount of a and beside it;
	// and a bind mount of a held namespace file.
	x := mustResolve(t, croot, croot, "a/x")
	f := mustResolve(t, croot, croot, "f")
	held := &holder{}
	if _, err := c.Bind(vfs.NewAnonymous("net:[7]", &vfs.NamespaceInode{Namespace: held, Ino: 7}), f, false); err != nil {
		t.Fatal(err)
	}
	if !vfs.InDentryCache(x) || !vfs.InDentryCache(f) || held.refs != 1 {
		t.Fatalf("before: cached %v %v, holds %d", vfs.InDentryCache(x), vfs.InDentryCache(f), held.refs)
	}
	c.Leave()
	if !vfs.InDentryCache(x) || held.refs != 1 {
		t.Fatal("the copy ended with a user left")
	}
	c.Leave()
	if vfs.InDentryCache(x) || vfs.InDentryCache(f) {
		t.Errorf("the ended copy's dentries are still cached: %v %v", vfs.InDentryCache(x), vfs.InDentryCache(f))
	}
	if held.refs != 0 {
		t.Errorf("the ended copy's mount still holds its namespace (%d)", held.refs)
	}
	if c.Enter() {
		t.Error("an ended copy was entered")
	}
	// The original is untouched, and never ends.
	ns.Enter()
	ns.Leave()
	if d := mustResolve(t, root, root, "a/x"); !vfs.InDentryCache(d) {
		t.Error("the original's dentries left the cache")
	}
}

// holder is a namespace that counts the holds on it.
type holder struct{ refs int }

func (h *holder) HoldNamespace() bool { h.refs++; return true }
func (h *holder) ReleaseNamespace()   { h.refs-- }
