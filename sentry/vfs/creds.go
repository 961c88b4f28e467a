package vfs

import (
	"golang.org/x/sys/unix"
)

// Capabilities the VFS checks, numbered as Linux's.
const (
	CapChown         = 0
	CapDacOverride   = 1
	CapDacReadSearch = 2
	CapFowner        = 3
	CapFsetid        = 4
	CapMknod         = 27
	CapSysAdmin      = 21
)

// Access bits for MayAccess, as Linux's MAY_EXEC, MAY_WRITE and MAY_READ.
const (
	MayExec  = 1
	MayWrite = 2
	MayRead  = 4
)

// Creds are the credentials a file access is checked with: the task's
// file-system user and group IDs, its supplementary groups and its
// effective capabilities.
type Creds struct {
	UID, GID uint32
	Groups   []uint32
	Caps     uint64
}

// HasCap reports whether cap is effective.
func (c *Creds) HasCap(cap int) bool { return c.Caps&(1<<uint(cap)) != 0 }

// InGroup reports whether gid is the fsgid or a supplementary group.
func (c *Creds) InGroup(gid uint32) bool {
	if c.GID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// IsOwner reports whether the caller owns a file with uid, or may act as
// its owner (CAP_FOWNER), as Linux's inode_owner_or_capable.
func (c *Creds) IsOwner(uid uint32) bool {
	return c.UID == uid || c.HasCap(CapFowner)
}

// MayAccess implements Linux's generic_permission: the owner, group or
// other permission bits of st, then CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH.
func (c *Creds) MayAccess(st *unix.Stat_t, want uint32) error {
	mode := st.Mode
	var perm uint32
	switch {
	case c.UID == st.Uid:
		perm = (mode >> 6) & 7
	case c.InGroup(st.Gid):
		perm = (mode >> 3) & 7
	default:
		perm = mode & 7
	}
	if want&^perm == 0 {
		return nil
	}
	isDir := mode&unix.S_IFMT == unix.S_IFDIR
	if c.HasCap(CapDacOverride) {
		// Execution still needs one execute bit on a non-directory.
		if want&MayExec == 0 || isDir || mode&0o111 != 0 {
			return nil
		}
	}
	if c.HasCap(CapDacReadSearch) {
		if want == MayRead || (isDir && want&MayWrite == 0) {
			return nil
		}
	}
	return unix.EACCES
}

// mayAccessDentry checks want against d's attributes; nil creds check
// nothing (the sentry's own accesses).
func (c *Creds) mayAccessDentry(d *Dentry, want uint32) error {
	if c == nil {
		return nil
	}
	st, err := permStat(d.inode)
	if err != nil {
		return err
	}
	return c.MayAccess(&st, want)
}

// mayDelete implements the sticky-directory rule of Linux's may_delete:
// in a sticky directory only the owner of the file or of the directory
// (or CAP_FOWNER) may remove or rename a name.
func (c *Creds) mayDelete(dirSt, childSt *unix.Stat_t) error {
	if c == nil || dirSt.Mode&unix.S_ISVTX == 0 {
		return nil
	}
	if c.UID == childSt.Uid || c.UID == dirSt.Uid || c.HasCap(CapFowner) {
		return nil
	}
	return unix.EPERM
}
