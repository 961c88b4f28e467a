package tmpfs

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Symlink is a symbolic link.
type Symlink struct {
	inode
	// target is immutable.
	target string
}

// Stat implements vfs.Inode.Stat.
func (s *Symlink) Stat() (unix.Stat_t, error) {
	st := s.stat()
	st.Size = int64(len(s.target))
	return st, nil
}

// Lookup implements vfs.Inode.Lookup.
func (s *Symlink) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }

// Readlink implements vfs.Inode.Readlink.
func (s *Symlink) Readlink() (string, error) {
	s.touchAtime()
	return s.target, nil
}

// Open implements vfs.Inode.Open: the VFS follows symlinks, so only
// O_NOFOLLOW opens get here.
func (s *Symlink) Open(int) (vfs.FileImpl, error) { return nil, unix.ELOOP }

// SetStat implements vfs.SetStatter.
func (s *Symlink) SetStat(opts vfs.SetStatOpts) error { return s.setStat(opts, unix.EINVAL) }

// Special is a FIFO or a socket: an inode with a name and attributes only.
// Opening one is the VFS's business (pipes for FIFOs, ENXIO for sockets).
type Special struct {
	inode
}

// Stat implements vfs.Inode.Stat.
func (s *Special) Stat() (unix.Stat_t, error) { return s.stat(), nil }

// Lookup implements vfs.Inode.Lookup.
func (s *Special) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }

// Readlink implements vfs.Inode.Readlink.
func (s *Special) Readlink() (string, error) { return "", unix.EINVAL }

// Open implements vfs.Inode.Open: sockets cannot be opened (ENXIO, as on
// Linux); FIFOs are opened by the VFS as pipes before it would call this,
// so reaching here is an error too.
func (s *Special) Open(int) (vfs.FileImpl, error) { return nil, unix.ENXIO }

// SetStat implements vfs.SetStatter.
func (s *Special) SetStat(opts vfs.SetStatOpts) error { return s.setStat(opts, unix.EINVAL) }
