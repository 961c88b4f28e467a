package vfs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// entry returns the namespace's mount at target.
func entry(t *testing.T, ns *vfs.MountNamespace, target string) vfs.MountEntry {
	t.Helper()
	for _, e := range ns.Mounts() {
		if e.Target == target {
			return e
		}
	}
	t.Fatalf("no mount at %s in %q", target, mountTargets(ns))
	return vfs.MountEntry{}
}

// TestBindRecursive checks that a recursive bind copies the mounts below
// the source onto their places, a plain one the top mount alone, and that
// each copy records its root within the file system and its source's
// description.
func TestBindRecursive(t *testing.T) {
	tree := dir(map[string]*node{"a": dir(nil), "b": dir(nil), "c": dir(nil)})
	ns := vfs.NewMountNamespace(vfs.NewRoot(tree), 1)
	root := ns.Root()
	fs := dir(map[string]*node{"sub": dir(map[string]*node{"in": dir(nil)}), "other": dir(nil)})
	if _, err := ns.Mount(mustResolve(t, root, root, "a"), fs, vfs.MountInfo{FSType: "t", Source: "src"}); err != nil {
		t.Fatal(err)
	}
	inner := dir(map[string]*node{"x": file("x")})
	if _, err := ns.Mount(mustResolve(t, root, root, "a/sub/in"), inner, vfs.MountInfo{FSType: "u"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Mount(mustResolve(t, root, root, "a/other"), dir(nil), vfs.MountInfo{FSType: "v"}); err != nil {
		t.Fatal(err)
	}

	if _, err := ns.Bind(mustResolve(t, root, root, "a/sub"), mustResolve(t, root, root, "b"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := vfs.Resolve(root, root, "b/in/x", vfs.ResolveOpts{}); err != unix.ENOENT {
		t.Errorf("b/in/x after a plain bind: %v", err)
	}
	e := entry(t, ns, "/b")
	if e.FSRoot != "/sub" || e.Info == nil || e.Info.FSType != "t" || e.Info.Source != "src" {
		t.Errorf("plain bind: root %q info %+v", e.FSRoot, e.Info)
	}

	if _, err := ns.Bind(mustResolve(t, root, root, "a/sub"), mustResolve(t, root, root, "c"), true); err != nil {
		t.Fatal(err)
	}
	mustResolve(t, root, root, "c/in/x")
	if e := entry(t, ns, "/c/in"); e.FSRoot != "/" || e.Info == nil || e.Info.FSType != "u" {
		t.Errorf("copied submount: root %q info %+v", e.FSRoot, e.Info)
	}
	for _, m := range ns.Mounts() {
		if m.Target == "/c/other" {
			t.Errorf("a mount outside the bound directory was copied")
		}
	}
	// The copy is a mount of its own: busy while its submount is there.
	c := mustResolve(t, root, root, "c")
	if err := ns.UnmountIdle(c, nil); err != unix.EBUSY {
		t.Errorf("unmounting a copy with a submount: %v", err)
	}
	if err := ns.UnmountIdle(mustResolve(t, root, root, "c/in"), nil); err != nil {
		t.Fatal(err)
	}
	mustResolve(t, root, root, "a/sub/in/x")
	if err := ns.UnmountIdle(c, nil); err != nil {
		t.Fatal(err)
	}
}

// TestUnmountIdle checks the users that make a mount busy: an open file
// in its tree, and a dentry a task holds (passed in).
func TestUnmountIdle(t *testing.T) {
	tree := dir(map[string]*node{"a": dir(nil)})
	ns := vfs.NewMountNamespace(vfs.NewRoot(tree), 1)
	root := ns.Root()
	m, err := ns.Mount(mustResolve(t, root, root, "a"), dir(map[string]*node{"d": dir(map[string]*node{"f": file("f")})}), vfs.MountInfo{})
	if err != nil {
		t.Fatal(err)
	}
	d := mustResolve(t, root, root, "a/d")
	if d.MountRoot() != m {
		t.Fatalf("MountRoot of a/d is not the mount's root")
	}
	f := mustResolve(t, root, root, "a/d/f")
	impl, err := f.Inode().Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	file := vfs.NewFile(impl, f, unix.O_RDONLY)
	if err := ns.UnmountIdle(m, nil); err != unix.EBUSY {
		t.Errorf("with an open file: %v", err)
	}
	file.DecRef()
	if err := ns.UnmountIdle(m, []*vfs.Dentry{d}); err != unix.EBUSY {
		t.Errorf("with a user inside: %v", err)
	}
	if err := ns.UnmountIdle(m, []*vfs.Dentry{root}); err != nil {
		t.Errorf("idle: %v", err)
	}
	if err := ns.UnmountIdle(m, nil); err != unix.EINVAL {
		t.Errorf("unmounting again: %v", err)
	}
}
