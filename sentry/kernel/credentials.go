package kernel

import (
	"github.com/cocoonrt/cocoon/sentry/vfs"

	"golang.org/x/sys/unix"
)

// Capability numbers used by the sentry's checks.
const (
	CapChown       = 0
	CapDacOverride = 1
	CapFowner      = 3
	CapKill        = 5
	CapSetgid      = 6
	CapSetuid      = 7
	CapSetpcap     = 8
	CapIPCLock     = 14
	CapIPCOwner    = 15
	CapNetRaw      = 13
	CapSysAdmin    = 21
	CapSysNice     = 23
	CapSysResource = 24
	// CapLast is CAP_LAST_CAP.
	CapLast = 40
	// AllCaps holds every capability.
	AllCaps = uint64(1)<<(CapLast+1) - 1
)

// Capabilities are a task's capability sets.
type Capabilities struct {
	Effective, Permitted, Inheritable, Bounding, Ambient uint64
}

// rootCredentials are what the sandbox's init starts with: root with the
// full capability sets inside the sandbox (none of them reach the host),
// in the initial user namespace.
func rootCredentials() Credentials {
	return Credentials{UserNS: initialUserNS, Caps: Capabilities{Effective: AllCaps, Permitted: AllCaps, Bounding: AllCaps}}
}

// setUIDs applies a change of real, effective and saved kernel user IDs
// (-1 for "unchanged" already resolved by the caller) and the capability
// rules Linux's cap_emulate_setxuid applies, root being user 0 of the
// credentials' namespace.
func (c *Credentials) setUIDs(r, e, s uint32, keepCaps bool) {
	ns := c.UserNamespace()
	oldRoot := ns.IsRoot(c.UID) || ns.IsRoot(c.EUID) || ns.IsRoot(c.SUID)
	oldEUIDRoot := ns.IsRoot(c.EUID)
	c.UID, c.EUID, c.SUID, c.FSUID = r, e, s, e
	if oldRoot && !ns.IsRoot(r) && !ns.IsRoot(e) && !ns.IsRoot(s) {
		if !keepCaps {
			c.Caps.Permitted, c.Caps.Effective = 0, 0
		}
		c.Caps.Ambient = 0
	}
	switch newRoot := ns.IsRoot(e); {
	case oldEUIDRoot && !newRoot:
		c.Caps.Effective = 0
	case !oldEUIDRoot && newRoot:
		c.Caps.Effective = c.Caps.Permitted
	}
}

// anyOf reports whether id is one of the credentials' real, effective or
// saved IDs.
func anyOf(id uint32, ids ...uint32) bool {
	for _, x := range ids {
		if id == x {
			return true
		}
	}
	return false
}

// The Set*ID methods take kernel IDs (the system calls translate theirs
// through the caller's namespace first) and check CAP_SETUID and
// CAP_SETGID in the caller's own namespace, as ns_capable_setid does: an
// ID without a mapping there cannot be reached.

// SetResUID implements setresuid(2); ^0 leaves an ID unchanged.
func (t *Task) SetResUID(r, e, s uint32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c := &t.creds
	if !c.HasOwnCap(CapSetuid) {
		for _, id := range []uint32{r, e, s} {
			if id != ^uint32(0) && !anyOf(id, c.UID, c.EUID, c.SUID) {
				return unix.EPERM
			}
		}
	}
	if r == ^uint32(0) {
		r = c.UID
	}
	if e == ^uint32(0) {
		e = c.EUID
	}
	if s == ^uint32(0) {
		s = c.SUID
	}
	c.setUIDs(r, e, s, t.keepCaps)
	return nil
}

// SetUID implements setuid(2).
func (t *Task) SetUID(uid uint32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c := &t.creds
	if c.HasOwnCap(CapSetuid) {
		c.setUIDs(uid, uid, uid, t.keepCaps)
		return nil
	}
	if uid != c.UID && uid != c.SUID {
		return unix.EPERM
	}
	c.setUIDs(c.UID, uid, c.SUID, t.keepCaps)
	return nil
}

// SetReUID implements setreuid(2).
func (t *Task) SetReUID(r, e uint32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c := &t.creds
	if !c.HasOwnCap(CapSetuid) {
		if r != ^uint32(0) && !anyOf(r, c.UID, c.EUID) {
			return unix.EPERM
		}
		if e != ^uint32(0) && !anyOf(e, c.UID, c.EUID, c.SUID) {
			return unix.EPERM
		}
	}
	nr, ne, ns := c.UID, c.EUID, c.SUID
	if r != ^uint32(0) {
		nr = r
	}
	if e != ^uint32(0) {
		ne = e
	}
	// The saved ID follows the effective one when the real ID is set or
	// the effective one differs from the old real ID.
	if r != ^uint32(0) || (e != ^uint32(0) && e != c.UID) {
		ns = ne
	}
	c.setUIDs(nr, ne, ns, t.keepCaps)
	return nil
}

// SetResGID implements setresgid(2).
func (t *Task) SetResGID(r, e, s uint32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c := &t.creds
	if !c.HasOwnCap(CapSetgid) {
		for _, id := range []uint32{r, e, s} {
			if id != ^uint32(0) && !anyOf(id, c.GID, c.EGID, c.SGID) {
				return unix.EPERM
			}
		}
	}
	if r != ^uint32(0) {
		c.GID = r
	}
	if e != ^uint32(0) {
		c.EGID, c.FSGID = e, e
	}
	if s != ^uint32(0) {
		c.SGID = s
	}
	return nil
}

// SetGID implements setgid(2).
func (t *Task) SetGID(gid uint32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c := &t.creds
	if c.HasOwnCap(CapSetgid) {
		c.GID, c.EGID, c.SGID, c.FSGID = gid, gid, gid, gid
		return nil
	}
	if gid != c.GID && gid != c.SGID {
		return unix.EPERM
	}
	c.EGID, c.FSGID = gid, gid
	return nil
}

// SetReGID implements setregid(2).
func (t *Task) SetReGID(r, e uint32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c := &t.creds
	if !c.HasOwnCap(CapSetgid) {
		if r != ^uint32(0) && !anyOf(r, c.GID, c.EGID) {
			return unix.EPERM
		}
		if e != ^uint32(0) && !anyOf(e, c.GID, c.EGID, c.SGID) {
			return unix.EPERM
		}
	}
	if r != ^uint32(0) || (e != ^uint32(0) && e != c.GID) {
		if e != ^uint32(0) {
			c.SGID = e
		} else {
			c.SGID = c.EGID
		}
	}
	if r != ^uint32(0) {
		c.GID = r
	}
	if e != ^uint32(0) {
		c.EGID, c.FSGID = e, e
	}
	return nil
}

// MaySetGroups reports whether setgroups(2) is allowed to the
// credentials (may_setgroups): CAP_SETGID in their namespace, where
// setgroups must be allowed (its gid_map written, /proc/PID/setgroups
// not "deny").
func (c *Credentials) MaySetGroups() bool {
	return c.HasOwnCap(CapSetgid) && c.UserNamespace().maySetgroups()
}

// SetGroups implements setgroups(2) with kernel group IDs.
func (t *Task) SetGroups(groups []uint32) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if !t.creds.MaySetGroups() {
		return unix.EPERM
	}
	t.creds.Groups = append([]uint32(nil), groups...)
	return nil
}

// SetCapabilities implements capset(2) for the calling task.
func (t *Task) SetCapabilities(effective, permitted, inheritable uint64) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	c := &t.creds.Caps
	if permitted&^c.Permitted != 0 {
		return unix.EPERM
	}
	if effective&^permitted != 0 {
		return unix.EPERM
	}
	if inheritable&^(c.Inheritable|c.Permitted) != 0 && !t.creds.HasOwnCap(CapSetpcap) {
		return unix.EPERM
	}
	if inheritable&^(c.Inheritable|c.Bounding) != 0 {
		return unix.EPERM
	}
	c.Effective, c.Permitted, c.Inheritable = effective, permitted, inheritable
	c.Ambient &= permitted & inheritable
	return nil
}

// DropBoundingCap implements PR_CAPBSET_DROP.
func (t *Task) DropBoundingCap(cap int) error {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	if cap < 0 || cap > CapLast {
		return unix.EINVAL
	}
	if !t.creds.HasOwnCap(CapSetpcap) {
		return unix.EPERM
	}
	t.creds.Caps.Bounding &^= 1 << uint(cap)
	return nil
}

// execve's credential transform (set-ID bits, capabilities) is in
// exec_setid.go.

// UpdateCredentials runs fn on the task's credentials with Kernel.mu held:
// other tasks read them under it (kill permission checks, /proc).
func (t *Task) UpdateCredentials(fn func(c *Credentials)) {
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	fn(&t.creds)
}

// FSCreds returns the credentials file accesses are checked with: the
// file-system kernel IDs, supplementary groups and effective
// capabilities. Only the task's own goroutine changes its credentials,
// so no lock is needed.
//
// The sandbox's file systems and mounts belong to the initial user
// namespace, so only capabilities held there count: a process whose
// capabilities come from a user namespace of its own gets none of them
// over files (Linux would grant them over files whose owner and group
// have mappings in its namespace, which vfs.Creds cannot express).
func (t *Task) FSCreds() *vfs.Creds {
	c := &t.creds
	caps := c.Caps.Effective
	if c.UserNamespace() != initialUserNS {
		caps = 0
	}
	return &vfs.Creds{UID: c.FSUID, GID: c.FSGID, Groups: c.Groups, Caps: caps}
}

// Umask returns the task's file mode creation mask.
func (t *Task) Umask() uint32 { return t.fs.Umask() }
