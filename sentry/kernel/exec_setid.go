package kernel

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/loader"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// The credentials execve gives the new program: Linux's bprm_fill_uid
// (fs/exec.c), cap_bprm_creds_from_file (security/commoncap.c) and the
// dumpability rules of begin_new_exec and commit_creds.
//
// The sandbox has no file capabilities (security.capability xattrs are
// not honoured) and no securebits (SECBIT_NOROOT is never set), so root
// is always privileged: that is the "legacy" transform.

// perClearOnSetID are the personality flags an exec that gains privileges
// clears (PER_CLEAR_ON_SETID).
const perClearOnSetID = 0x0400000 | 0x0040000 | 0x0200000 | 0x0100000 // READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT | MMAP_PAGE_ZERO

// execCreds is the outcome of the credential computation of one execve.
type execCreds struct {
	creds Credentials
	// secure is AT_SECURE (bprm->secureexec).
	secure bool
	// perClear is set when personality flags must be cleared.
	perClear bool
	// dumpable is the new process's dumpability.
	dumpable bool
	// clearPDeathSig is set when the parent-death signal is reset.
	clearPDeathSig bool
}

// auxCreds returns what the auxiliary vector reports.
func (e *execCreds) auxCreds() loader.AuxCreds {
	c := &e.creds
	// IDs as the program's user namespace sees them.
	ns := c.UserNamespace()
	return loader.AuxCreds{UID: ns.MungedUID(c.UID), EUID: ns.MungedUID(c.EUID), GID: ns.MungedGID(c.GID), EGID: ns.MungedGID(c.EGID), Secure: e.secure}
}

// unsafeShareLocked reports whether the task's file-system context is
// shared with a task of another process (check_unsafe_exec's
// LSM_UNSAFE_SHARE): such an exec may not gain privileges.
//
// Preconditions: k.mu is held.
func (t *Task) unsafeShareLocked() bool {
	if t.fs == nil {
		return false
	}
	n := int32(0)
	for o := range t.tg.tasks {
		if o.fs == t.fs {
			n++
		}
	}
	return t.fs.refs.Load() > n
}

// computeExecCreds computes the credentials of the program f for the
// calling task, whose credentials it reads (only the task's own goroutine
// changes them).
func (t *Task) computeExecCreds(f *executable) execCreds {
	old := &t.creds
	t.k.mu.Lock()
	noNewPrivs := t.noNewPrivs
	unsafeShare := t.unsafeShareLocked()
	t.k.mu.Unlock()

	var out execCreds
	n := &out.creds
	*n = *old
	n.Groups = append([]uint32(nil), old.Groups...)

	// bprm_fill_uid: the set-ID bits, unless the mount is nosuid or the
	// task has no_new_privs.
	d := f.file.Dentry()
	if d != nil && !d.NoSuid() && !noNewPrivs {
		// Linux reloads the mode and owner under the inode lock and
		// gives up if the execute permission vanished meanwhile.
		// A file whose owner or group has no mapping in the task's
		// user namespace grants neither.
		ns := old.UserNamespace()
		if st, err := d.Inode().Stat(); err == nil && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 &&
			t.FSCreds().MayAccess(&st, vfs.MayExec) == nil && ns.HasUIDMapping(st.Uid) && ns.HasGIDMapping(st.Gid) {
			if st.Mode&unix.S_ISUID != 0 {
				out.perClear = true
				n.EUID = st.Uid
			}
			if st.Mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
				out.perClear = true
				n.EGID = st.Gid
			}
		}
	}

	// cap_bprm_creds_from_file. get_file_caps starts from an empty
	// permitted set; handle_privileged_root gives root the bounding and
	// inheritable sets, and the effective set when the effective ID is
	// root.
	caps := &n.Caps
	caps.Permitted = 0
	effective := false
	// Root is user 0 of the task's user namespace.
	ns := n.UserNamespace()
	if ns.IsRoot(n.EUID) || ns.IsRoot(n.UID) {
		caps.Permitted = old.Caps.Bounding | old.Caps.Inheritable
	}
	if ns.IsRoot(n.EUID) {
		effective = true
	}
	if caps.Permitted&^old.Caps.Permitted != 0 {
		out.perClear = true
	}
	// __is_setuid and __is_setgid compare the new effective IDs with the
	// old real ones.
	isSetID := n.EUID != old.UID || n.EGID != old.GID
	if (isSetID || caps.Permitted&^old.Caps.Permitted != 0) && (unsafeShare || noNewPrivs) {
		// Downgrade: no more than the task had, and maybe less. The
		// IDs stay only for a task with CAP_SETUID, and never with
		// no_new_privs.
		if !old.HasCap(CapSetuid) || noNewPrivs {
			n.EUID, n.EGID = n.UID, n.GID
		}
		caps.Permitted &= old.Caps.Permitted
	}
	n.SUID, n.FSUID = n.EUID, n.EUID
	n.SGID, n.FSGID = n.EGID, n.EGID
	if isSetID {
		// Set-ID execution cancels the ambient set.
		caps.Ambient = 0
	}
	caps.Permitted |= caps.Ambient
	if effective {
		caps.Effective = caps.Permitted
	} else {
		caps.Effective = caps.Ambient
	}
	out.secure = isSetID || (!ns.IsRoot(n.UID) && (effective || caps.Permitted&^caps.Ambient != 0))

	// Dumpability: begin_new_exec looks at the old IDs (fs.suid_dumpable
	// is 0 in the sandbox, so "not dumpable"), commit_creds at what
	// changed.
	out.dumpable = old.EUID == old.UID && old.EGID == old.GID
	if old.EUID != n.EUID || old.EGID != n.EGID || old.FSUID != n.FSUID || old.FSGID != n.FSGID ||
		caps.Permitted&^old.Caps.Permitted != 0 {
		out.dumpable = false
		out.clearPDeathSig = true
	}
	if out.secure {
		out.clearPDeathSig = true
	}
	return out
}
