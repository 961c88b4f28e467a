package vfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// ResolveOpts controls a path walk.
type ResolveOpts struct {
	// FollowFinal follows a symlink in the last component.
	FollowFinal bool
	// WantDir requires the result to be a directory (ENOTDIR otherwise).
	WantDir bool
	// Creds, when set, must have search permission on every directory
	// walked through (EACCES otherwise).
	Creds *Creds
	// NoSymlinks fails with ELOOP at any symlink (RESOLVE_NO_SYMLINKS).
	NoSymlinks bool
	// NoXdev fails with EXDEV when the walk would cross a mount
	// (RESOLVE_NO_XDEV).
	NoXdev bool
	// NoMagicLinks fails with ELOOP at a magic link
	// (RESOLVE_NO_MAGICLINKS).
	NoMagicLinks bool
	// Beneath fails with EXDEV when the walk would leave root, through
	// ".." or an absolute symlink (RESOLVE_BENEATH; the caller passes the
	// starting directory as root).
	Beneath bool
}

// Resolve walks path from start (for relative paths) or root (for absolute
// ones) with Linux's rules: "." and "..", ".." never above root, symlinks
// followed at most MaxSymlinkTraversals times (ELOOP), a trailing slash
// requiring a directory, mount points crossed both ways.
func Resolve(root, start *Dentry, path string, opts ResolveOpts) (*Dentry, error) {
	if path == "" {
		return nil, unix.ENOENT
	}
	if len(path) >= PathMax {
		return nil, unix.ENAMETOOLONG
	}
	cur := start
	if path[0] == '/' {
		cur = root
	}
	cur = cur.top()
	if strings.HasSuffix(path, "/") {
		opts.WantDir = true
		opts.FollowFinal = true
	}
	// rest is what is left to walk, without leading slashes: empty once
	// the last component is taken. Walking it in place rather than split
	// keeps the walk free of allocations but for symlinks.
	rest := trimSlashes(path)
	links := 0
	for len(rest) > 0 {
		var name string
		name, rest = nextComponent(rest)
		st, err := permStat(cur.inode)
		if err != nil {
			return nil, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, unix.ENOTDIR
		}
		if opts.Creds != nil {
			if err := opts.Creds.MayAccess(&st, MayExec); err != nil {
				return nil, err
			}
		}
		switch name {
		case ".":
			continue
		case "..":
			if cur == root.top() && opts.Beneath {
				return nil, unix.EXDEV
			}
			p := parentOf(cur, root)
			if opts.NoXdev && p.mountRoot() != cur.mountRoot() {
				return nil, unix.EXDEV
			}
			cur = p
			continue
		}
		if len(name) > NameMax {
			return nil, unix.ENAMETOOLONG
		}
		next, err := cur.child(name)
		if err != nil {
			return nil, err
		}
		if top := next.top(); top != next {
			if opts.NoXdev {
				return nil, unix.EXDEV
			}
			next = top
		}
		if next.isSymlink() && (len(rest) > 0 || opts.FollowFinal) {
			if opts.NoSymlinks {
				return nil, unix.ELOOP
			}
			links++
			if links > MaxSymlinkTraversals {
				return nil, unix.ELOOP
			}
			if ml, ok := next.inode.(MagicLinker); ok {
				target, err := ml.MagicLink()
				if err != nil {
					return nil, err
				}
				if target != nil {
					switch {
					case opts.NoMagicLinks:
						return nil, unix.ELOOP
					case opts.Beneath:
						return nil, unix.EXDEV
					}
					cur = target
					continue
				}
			}
			target, err := next.inode.Readlink()
			if err != nil {
				return nil, err
			}
			if target == "" {
				return nil, unix.ENOENT
			}
			if target[0] == '/' {
				if opts.Beneath {
					return nil, unix.EXDEV
				}
				cur = root.top()
			}
			if len(rest) > 0 {
				target += "/" + rest
			}
			rest = trimSlashes(target)
			continue
		}
		cur = next
	}
	if opts.WantDir {
		if dir, err := cur.isDir(); err != nil {
			return nil, err
		} else if !dir {
			return nil, unix.ENOTDIR
		}
	}
	return cur, nil
}

// ResolveParent walks all but the last component of path and returns the
// parent directory and the last name ("" for "/" and paths ending in "/").
func ResolveParent(root, start *Dentry, path string, creds *Creds) (*Dentry, string, error) {
	return ResolveParentOpts(root, start, path, ResolveOpts{Creds: creds})
}

// ResolveParentOpts is ResolveParent with the walk options of opts (its
// FollowFinal and WantDir are ignored).
func ResolveParentOpts(root, start *Dentry, path string, opts ResolveOpts) (*Dentry, string, error) {
	if path == "" {
		return nil, "", unix.ENOENT
	}
	i := strings.LastIndexByte(strings.TrimRight(path, "/"), '/')
	dirPath, name := ".", strings.TrimRight(path, "/")
	if i >= 0 {
		dirPath, name = path[:i+1], strings.TrimRight(path[i+1:], "/")
	} else if name == "" {
		dirPath = "/" // "/", "//", ...: absolute, whatever start is
	}
	opts.FollowFinal, opts.WantDir = true, true
	dir, err := Resolve(root, start, dirPath, opts)
	if err != nil {
		return nil, "", err
	}
	return dir, name, nil
}

// trimSlashes returns p without its leading slashes.
func trimSlashes(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	return p
}

// nextComponent splits p, which has no leading slash, into its first
// component and what follows it, without leading slashes.
func nextComponent(p string) (name, rest string) {
	i := strings.IndexByte(p, '/')
	if i < 0 {
		return p, ""
	}
	return p[:i], trimSlashes(p[i+1:])
}
