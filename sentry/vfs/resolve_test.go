package vfs_test

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

func TestResolve(t *testing.T) {
	follow := vfs.ResolveOpts{FollowFinal: true}
	nofollow := vfs.ResolveOpts{}
	for _, tc := range []struct {
		path  string
		start string // relative paths start here ("" is the root)
		opts  vfs.ResolveOpts
		want  string // node path in the tree, or "" with err
		err   error
	}{
		{path: "/", want: "/"},
		{path: ".", start: "a", want: "a"},
		{path: "./", start: "a", want: "a"},
		{path: "/a/./b", want: "a/b"},
		{path: "//a///b//", want: "a/b"},
		{path: "/a/b/..", want: "a"},
		{path: "/a/b/../../file", want: "file"},
		{path: "/..", want: "/"},
		{path: "/../../..", want: "/"},
		{path: "/../a/../../file", want: "file"},
		{path: "..", start: "a", want: "/"},
		{path: "../..", start: "a/b", want: "/"},
		{path: "b/f", start: "a", want: "a/b/f"},
		{path: "/file", start: "a", want: "file"},
		{path: "", err: unix.ENOENT},
		{path: "/nope", err: unix.ENOENT},
		{path: "/nope/..", err: unix.ENOENT},
		{path: "/a/nope/f", err: unix.ENOENT},
		{path: "/file/", err: unix.ENOTDIR},
		{path: "/file/.", err: unix.ENOTDIR},
		{path: "/file/..", err: unix.ENOTDIR},
		{path: "/a/b/f/x", err: unix.ENOTDIR},
		{path: "/file", opts: vfs.ResolveOpts{WantDir: true}, err: unix.ENOTDIR},
		{path: "/a", opts: vfs.ResolveOpts{WantDir: true}, want: "a"},

		// Symlinks.
		{path: "/a/rel", opts: follow, want: "a/b/f"},
		{path: "/a/rel", opts: nofollow, want: "a/rel"},
		{path: "/a/abs/f", opts: nofollow, want: "a/b/f"},
		{path: "/a/up/b", want: "a/b"},
		{path: "/a/dotdot/file", want: "file"},
		{path: "/a/dotdot", opts: follow, want: "/"},
		{path: "/chain1/f", want: "a/b/f"},
		{path: "/chain1", opts: follow, want: "a/b"},
		{path: "rel", start: "a", opts: follow, want: "a/b/f"},
		{path: "/loop", opts: follow, err: unix.ELOOP},
		{path: "/loop", opts: nofollow, want: "loop"},
		{path: "/loop/x", err: unix.ELOOP},
		{path: "/dangling", opts: follow, err: unix.ENOENT},
		{path: "/dangling", opts: nofollow, want: "dangling"},
		{path: "/empty", opts: follow, err: unix.ENOENT},
		{path: "/empty/x", err: unix.ENOENT},
		{path: "/a/rel/x", err: unix.ENOTDIR},
		{path: "/tofile/", err: unix.ENOTDIR},
		// A trailing slash follows a final symlink even without
		// FollowFinal.
		{path: "/linkdir/", opts: nofollow, want: "a"},
		{path: "/linkdir/.", opts: nofollow, want: "a"},
		{path: "/linkdir", opts: vfs.ResolveOpts{WantDir: true}, err: unix.ENOTDIR},

		// Name and path lengths.
		{path: "/" + strings.Repeat("n", 255), err: unix.ENOENT},
		{path: "/" + strings.Repeat("n", 256), err: unix.ENAMETOOLONG},
		{path: "/a/" + strings.Repeat("n", 256) + "/x", err: unix.ENAMETOOLONG},
		{path: strings.Repeat("./", 2047) + "a", want: "a"}, // 4095 bytes
		{path: strings.Repeat("./", 2048), err: unix.ENAMETOOLONG},
		{path: "/" + strings.Repeat("a/../", 818) + "file", want: "file"}, // 4095 bytes
	} {
		t.Run(fmt.Sprintf("%.60q", tc.path), func(t *testing.T) {
			tree := testTree()
			root := vfs.NewRoot(tree)
			start := root
			if tc.start != "" {
				start = walk(t, root, root, tc.start, follow)
			}
			d, err := vfs.Resolve(root, start, tc.path, tc.opts)
			if tc.err != nil {
				if err != tc.err {
					t.Errorf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
			if want := inodeAt(tree, tc.want); d.Inode() != want {
				t.Errorf("resolved to %s, want %s", d.Path(root), tc.want)
			}
		})
	}
}

// Linux allows 40 symlinks in one walk (MAXSYMLINKS): the 41st is ELOOP.
func TestResolveSymlinkLimit(t *testing.T) {
	for _, tc := range []struct {
		links int
		err   error
	}{{vfs.MaxSymlinkTraversals, nil}, {vfs.MaxSymlinkTraversals + 1, unix.ELOOP}} {
		children := map[string]*node{"target": file("end")}
		for i := 1; i <= tc.links; i++ {
			next := fmt.Sprintf("l%d", i+1)
			if i == tc.links {
				next = "target"
			}
			children[fmt.Sprintf("l%d", i)] = link(next)
		}
		tree := dir(children)
		root := vfs.NewRoot(tree)
		d, err := vfs.Resolve(root, root, "/l1", vfs.ResolveOpts{FollowFinal: true})
		if err != tc.err {
			t.Errorf("%d links: error %v, want %v", tc.links, err, tc.err)
		}
		if err == nil && d.Inode() != children["target"] {
			t.Errorf("%d links: resolved to %s", tc.links, d.Path(root))
		}
	}
}

// Lookups are cached in dentries: walking a path twice asks the file
// system once, and gives the same dentry.
func TestResolveCachesDentries(t *testing.T) {
	tree := testTree()
	root := vfs.NewRoot(tree)
	d1 := walk(t, root, root, "/a/b/f", vfs.ResolveOpts{})
	n := tree.lookups + tree.children["a"].lookups
	d2 := walk(t, root, root, "/a/b/f", vfs.ResolveOpts{})
	if d1 != d2 {
		t.Errorf("two walks gave different dentries")
	}
	if got := tree.lookups + tree.children["a"].lookups; got != n {
		t.Errorf("second walk looked up %d more names", got-n)
	}
	// A failed lookup is not cached as a dentry.
	if _, err := vfs.Resolve(root, root, "/nope", vfs.ResolveOpts{}); err != unix.ENOENT {
		t.Fatal(err)
	}
	tree.children["nope"] = file("now here")
	if _, err := vfs.Resolve(root, root, "/nope", vfs.ResolveOpts{}); err != nil {
		t.Errorf("name created after a failed lookup: %v", err)
	}
}

func TestDentryPath(t *testing.T) {
	tree := testTree()
	root := vfs.NewRoot(tree)
	for _, tc := range []struct{ path, want string }{
		{"/", "/"},
		{"/a", "/a"},
		{"/a/b/f", "/a/b/f"},
		{"/a/b/..", "/a"},
		{"/a/rel", "/a/b/f"}, // the path of what the link resolves to
		{"/..", "/"},
	} {
		d := walk(t, root, root, tc.path, vfs.ResolveOpts{FollowFinal: true})
		if got := d.Path(root); got != tc.want {
			t.Errorf("Path of %q = %q, want %q", tc.path, got, tc.want)
		}
	}
	// Seen from a root below the real one (a chroot).
	sub := walk(t, root, root, "/a", vfs.ResolveOpts{})
	d := walk(t, root, root, "/a/b/f", vfs.ResolveOpts{})
	if got := d.Path(sub); got != "/b/f" {
		t.Errorf("Path from /a = %q, want /b/f", got)
	}
	if got := sub.Path(sub); got != "/" {
		t.Errorf("Path of the root itself = %q, want /", got)
	}
}

// A walk rooted below the real root (a chroot) cannot get out with "..",
// and absolute symlinks restart at that root.
func TestResolveChroot(t *testing.T) {
	tree := testTree()
	realRoot := vfs.NewRoot(tree)
	root := walk(t, realRoot, realRoot, "/a", vfs.ResolveOpts{})
	for _, tc := range []struct{ path, want string }{
		{"/..", "a"},
		{"../../..", "a"},
		{"/b/../..", "a"},
		{"/dotdot", "a"},
	} {
		d := walk(t, root, root, tc.path, vfs.ResolveOpts{FollowFinal: true})
		if d.Inode() != inodeAt(tree, tc.want) {
			t.Errorf("%q from the chroot resolved to %s, want %s", tc.path, d.Path(realRoot), tc.want)
		}
	}
	// /a/abs -> /a/b: inside the chroot, /a does not exist.
	if _, err := vfs.Resolve(root, root, "/abs", vfs.ResolveOpts{FollowFinal: true}); err != unix.ENOENT {
		t.Errorf("absolute link in a chroot: %v, want ENOENT", err)
	}
}

func TestMountChild(t *testing.T) {
	tree := testTree()
	root := vfs.NewRoot(tree)
	// Over an existing name: the mounted tree hides what is below.
	over := dir(map[string]*node{"x": file("mounted"), "sub": dir(nil), "toroot": link("/file")})
	root.MountChild("a", over)
	// Over a missing name: the mount point exists only in the view.
	proc := dir(map[string]*node{"self": dir(nil)})
	root.MountChild("proc", proc)

	for _, tc := range []struct {
		path string
		want *node
		err  error
	}{
		{"/a", over, nil},
		{"/a/x", over.children["x"], nil},
		{"/a/b", nil, unix.ENOENT},
		{"/a/..", tree, nil},
		{"/a/../file", tree.children["file"], nil},
		{"/a/sub/../..", tree, nil},
		{"/a/sub/../../a/x", over.children["x"], nil},
		{"/a/toroot", tree.children["file"], nil}, // absolute links use the sandbox root
		{"/linkdir/x", over.children["x"], nil},   // a link to the mount point
		{"/proc", proc, nil},
		{"/proc/self", proc.children["self"], nil},
		{"/proc/self/../..", tree, nil},
		{"/proc/..", tree, nil},
	} {
		d, err := vfs.Resolve(root, root, tc.path, vfs.ResolveOpts{FollowFinal: true})
		if err != tc.err {
			t.Errorf("Resolve(%q): error %v, want %v", tc.path, err, tc.err)
			continue
		}
		if err == nil && d.Inode() != tc.want {
			t.Errorf("Resolve(%q) = %s (%p), want %p", tc.path, d.Path(root), d.Inode(), tc.want)
		}
	}
	// Paths through mounts name the mount point.
	for _, tc := range []struct{ path, want string }{
		{"/a", "/a"},
		{"/a/sub", "/a/sub"},
		{"/proc/self", "/proc/self"},
	} {
		d := walk(t, root, root, tc.path, vfs.ResolveOpts{})
		if got := d.Path(root); got != tc.want {
			t.Errorf("Path of %q = %q, want %q", tc.path, got, tc.want)
		}
	}
	// ".." inside the mounted tree stays in it until its root.
	sub := walk(t, root, root, "/a/sub", vfs.ResolveOpts{})
	if d := walk(t, root, sub, "../x", vfs.ResolveOpts{}); d.Inode() != over.children["x"] {
		t.Errorf("../x from /a/sub resolved to %s", d.Path(root))
	}
}

func TestResolveParent(t *testing.T) {
	tree := testTree()
	root := vfs.NewRoot(tree)
	a := walk(t, root, root, "/a", vfs.ResolveOpts{})
	for _, tc := range []struct {
		path     string
		start    *vfs.Dentry
		wantDir  *node
		wantName string
		err      error
	}{
		{"/a/b/f", root, inodeAt(tree, "a/b"), "f", nil},
		{"/a/b/new", root, inodeAt(tree, "a/b"), "new", nil},
		{"f", walk(t, root, root, "/a/b", vfs.ResolveOpts{}), inodeAt(tree, "a/b"), "f", nil},
		{"b", a, inodeAt(tree, "a"), "b", nil},
		{"/file", a, tree, "file", nil},
		{"/a/b/", root, inodeAt(tree, "a"), "b", nil},
		{"/a/abs/f", root, inodeAt(tree, "a/b"), "f", nil}, // symlinks in the parent are followed
		{"/a/rel", root, inodeAt(tree, "a"), "rel", nil},   // the last one is not
		{"/", a, tree, "", nil},
		{"//", a, tree, "", nil},
		{"/a/..", root, inodeAt(tree, "a"), "..", nil},
		{"", root, nil, "", unix.ENOENT},
		{"/nope/x", root, nil, "", unix.ENOENT},
		{"/file/x", root, nil, "", unix.ENOTDIR},
		{"/tofile/x", root, nil, "", unix.ENOTDIR},
	} {
		d, name, err := vfs.ResolveParent(root, tc.start, tc.path, nil)
		if err != tc.err {
			t.Errorf("ResolveParent(%q): error %v, want %v", tc.path, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if d.Inode() != tc.wantDir || name != tc.wantName {
			t.Errorf("ResolveParent(%q) = %s, %q; want the dir %p, %q", tc.path, d.Path(root), name, tc.wantDir, tc.wantName)
		}
	}
}
