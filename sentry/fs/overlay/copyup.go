package overlay

import (
	"errors"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// copyChunk is the most data one copy-up step reads and writes.
const copyChunk = 1 << 20

// copyUp gives i an upper part, copied from its lower part, with at most
// limit bytes of data (all with a negative limit). The parent directory
// is copied up first; the copy is made with the parent's dirMu held.
func (i *inode) copyUp(limit int64) error {
	if i.upper.Load() != nil {
		return nil
	}
	i.mu.Lock()
	p, name := i.parent, i.name
	i.mu.Unlock()
	if p == nil {
		// The root of a read-only overlay.
		return unix.EROFS
	}
	if err := p.copyUp(-1); err != nil {
		return err
	}
	ops, ok := p.upperInode().(vfs.DirOps)
	if !ok {
		return unix.EROFS
	}
	p.dirMu.Lock()
	defer p.dirMu.Unlock()
	if i.upper.Load() != nil {
		return nil
	}
	i.mu.Lock()
	unlinked := i.unlinked
	i.mu.Unlock()
	if unlinked || p.dead {
		// The name is gone (only an open file refers to it): there is
		// nowhere to copy it to.
		return unix.ENOENT
	}
	pu := p.upperInode()
	pst, perr := pu.Stat()
	u, ust, err := i.copyUpLocked(ops, name, limit)
	if err != nil {
		return err
	}
	if perr == nil {
		// The merged parent did not change: keep its times.
		restoreTimes(pu, &pst)
	}
	i.setUpper(u, &ust)
	p.holdChild(name, i)
	return nil
}

// restoreTimes sets in's atime and mtime back to st's.
func restoreTimes(in vfs.Inode, st *unix.Stat_t) {
	if s, ok := in.(vfs.SetStatter); ok {
		_ = s.SetStat(vfs.SetStatOpts{Mask: vfs.SetAtime | vfs.SetMtime, Atime: st.Atim, Mtime: st.Mtim})
	}
}

// copyUpLocked makes the upper copy of i as name in the upper directory
// ops; the parent's dirMu is held.
func (i *inode) copyUpLocked(ops vfs.DirOps, name string, limit int64) (vfs.Inode, unix.Stat_t, error) {
	st, err := i.lower.Stat()
	if err != nil {
		return nil, st, err
	}
	perm := st.Mode & 0o7777
	owner := vfs.Owner{UID: st.Uid, GID: st.Gid}
	var u vfs.Inode
	switch i.typ {
	case unix.S_IFREG:
		var f vfs.FileImpl
		if u, f, err = ops.Create(name, unix.O_RDWR, unix.S_IFREG|perm, owner); err != nil {
			return nil, st, err
		}
		err = copyData(i.lower, f, limit)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	case unix.S_IFDIR:
		u, err = ops.Mkdir(name, unix.S_IFDIR|perm, owner)
		if err != nil {
			return nil, st, err
		}
	case unix.S_IFLNK:
		var target string
		if target, err = i.lower.Readlink(); err != nil {
			return nil, st, err
		}
		if u, err = ops.Symlink(name, target, owner); err != nil {
			return nil, st, err
		}
	default:
		// FIFOs and sockets; the upper file system refuses devices.
		if u, err = ops.Mknod(name, i.typ|perm, owner); err != nil {
			return nil, st, err
		}
	}
	if err == nil {
		err = copyXattrs(i.lower, u)
	}
	if err == nil {
		err = copyAttrs(u, &st, i.typ)
	}
	var ust unix.Stat_t
	if err == nil {
		ust, err = u.Stat()
	}
	if err != nil {
		if i.isDir() {
			_ = ops.Rmdir(name)
		} else {
			_ = ops.Unlink(name)
		}
		return nil, ust, err
	}
	return u, ust, nil
}

// copyData copies up to limit bytes (all with a negative limit) of the
// lower file's data into dst.
func copyData(lower vfs.Inode, dst vfs.FileImpl, limit int64) error {
	if limit == 0 {
		return nil
	}
	src, err := lower.Open(unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer src.Close()
	buf := make([]byte, copyChunk)
	var off int64
	for limit < 0 || off < limit {
		b := buf
		if limit >= 0 && int64(len(b)) > limit-off {
			b = b[:limit-off]
		}
		n, rerr := src.ReadAt(b, off)
		for w := 0; w < n; {
			m, err := dst.WriteAt(b[w:n], off+int64(w))
			if err != nil {
				return err
			}
			if m == 0 {
				return unix.EIO
			}
			w += m
		}
		off += int64(n)
		switch {
		case rerr == io.EOF || (rerr == nil && n == 0):
			return nil
		case rerr != nil:
			return rerr
		}
	}
	return nil
}

// copiedXattr reports whether copy-up copies the attribute name: the
// user., security. and trusted. namespaces, except overlayfs's own.
func copiedXattr(name string) bool {
	if strings.HasPrefix(name, "trusted.overlay.") {
		return false
	}
	return strings.HasPrefix(name, "user.") ||
		strings.HasPrefix(name, "security.") ||
		strings.HasPrefix(name, "trusted.")
}

// copyXattrs copies the lower file's extended attributes to u; those the
// upper file system does not support are skipped.
func copyXattrs(lower, u vfs.Inode) error {
	lx, ok := lower.(vfs.Xattrs)
	if !ok {
		return nil
	}
	ux, ok := u.(vfs.Xattrs)
	if !ok {
		return nil
	}
	names, err := lx.ListXattr(0)
	if err != nil {
		if notSupported(err) {
			return nil
		}
		return err
	}
	for _, name := range names {
		if !copiedXattr(name) {
			continue
		}
		v, err := lx.GetXattr(name, 0)
		switch {
		case err == unix.ENODATA || notSupported(err):
			continue
		case err != nil:
			return err
		}
		if err := ux.SetXattr(name, v, 0); err != nil && !notSupported(err) {
			return err
		}
	}
	return nil
}

func notSupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP)
}

// copyAttrs gives u the owner, mode and times in st (symlinks have no
// mode to set).
func copyAttrs(u vfs.Inode, st *unix.Stat_t, typ uint32) error {
	s, ok := u.(vfs.SetStatter)
	if !ok {
		return nil
	}
	opts := vfs.SetStatOpts{
		Mask:  vfs.SetUID | vfs.SetGID | vfs.SetAtime | vfs.SetMtime,
		UID:   st.Uid,
		GID:   st.Gid,
		Atime: st.Atim,
		Mtime: st.Mtim,
	}
	if typ != unix.S_IFLNK {
		opts.Mask |= vfs.SetMode
		opts.Mode = st.Mode & 0o7777
	}
	return s.SetStat(opts)
}
