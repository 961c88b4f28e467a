package goferfs

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Deferred attribute write-back.
//
// A confined sentry (Options.IDsFromGofer) may not change the owner, mode
// or times of a host file through a donated descriptor, so each such
// change is a gofer round trip. Archive extractors and package managers
// make three of them for every file they write (futimens, fchown, fchmod,
// then close), which made them cost four round trips a file with Create.
// On an exclusive tree those changes of an open regular file are kept in
// the inode instead and sent as one SetAttr when its last open file
// closes, or earlier, before anything that could observe the host file
// or depend on its attributes: I/O through the host descriptor (a write
// must move mtime after the times set before it, so a pending mtime goes
// first, and reads may move atime), truncation, fsync, xattr calls (ACLs
// and the mode are tied), a new name for the file (Link), or a change
// that cannot wait (a new size, a time set to now).
//
// Only files with a single name are deferred: an open file pins its
// dentry, so while the file is open every path to it inside the sandbox
// reaches this inode, whose Stat and PermStat show the pending values.
// A file with other names may have other inodes, which ask the gofer.
//
// A deferred change reports success before the gofer makes it, so only
// changes the gofer cannot refuse wait: those of a file the sandbox made
// through this inode (Create, CreateTmpfile), which the gofer made and
// gave its owner, so that it may change its mode and times whatever its
// privileges (it owns the file, or holds CAP_FOWNER over it), and an
// owner that stays the same (with the set-ID bits the VFS clears then).
// A new owner waits for nothing: a gofer in a user namespace that maps
// only its own IDs refuses any other, and the sandbox must hear it.
// The VFS has checked permissions and values, so the gofer then refuses
// a deferred change only if the session is broken, and every later file
// operation of the sandbox fails anyway.

// deferrableMask are the changes that may wait for the last close.
const deferrableMask = vfs.SetMode | vfs.SetUID | vfs.SetGID | vfs.SetAtime | vfs.SetMtime

// pendingAttrs are attribute changes not yet sent to the gofer.
type pendingAttrs struct {
	// mask names the fields set, a subset of deferrableMask; zero when
	// nothing is pending.
	mask     uint32
	mode     uint32
	uid, gid uint32
	// atime and mtime are never UTIME_NOW or UTIME_OMIT.
	atime, mtime unix.Timespec
	// ctime is when the last change was deferred, which stat reports
	// until the gofer makes the change.
	ctime unix.Timespec
}

// merge adds opts's changes, later ones replacing earlier ones of the
// same field. The VFS computes every change from attributes that already
// show the pending ones (a chown's clearing of set-ID bits comes with
// the new mode), so the gofer may apply the merged set in its own order.
func (p *pendingAttrs) merge(opts *vfs.SetStatOpts, now unix.Timespec) {
	m := opts.Mask & deferrableMask
	if m&vfs.SetMode != 0 {
		p.mode = opts.Mode & 0o7777
	}
	if m&vfs.SetUID != 0 {
		p.uid = opts.UID
	}
	if m&vfs.SetGID != 0 {
		p.gid = opts.GID
	}
	if m&vfs.SetAtime != 0 {
		p.atime = opts.Atime
	}
	if m&vfs.SetMtime != 0 {
		p.mtime = opts.Mtime
	}
	p.mask |= m
	p.ctime = now
}

// apply shows the pending changes in st.
func (p *pendingAttrs) apply(st *unix.Stat_t) {
	if p.mask == 0 {
		return
	}
	if p.mask&vfs.SetMode != 0 {
		st.Mode = st.Mode&unix.S_IFMT | p.mode
	}
	if p.mask&vfs.SetUID != 0 {
		st.Uid = p.uid
	}
	if p.mask&vfs.SetGID != 0 {
		st.Gid = p.gid
	}
	if p.mask&vfs.SetAtime != 0 {
		st.Atim = p.atime
	}
	if p.mask&vfs.SetMtime != 0 {
		st.Mtim = p.mtime
	}
	if timespecBefore(st.Ctim, p.ctime) {
		st.Ctim = p.ctime
	}
}

// args returns the SetAttr request of the pending changes.
//
// A deferred owner is always the file's own (deferSetStat), so all a
// chown would do on the host is move ctime and clear set-ID bits; the VFS
// sent the cleared bits as a mode change already, and a mode or time
// change moves ctime too: with one of those, the chown, a host call of
// every file an archive extractor writes, is left out.
func (p *pendingAttrs) args() gofer.SetAttrArgs {
	mask := p.mask
	if mask&(vfs.SetMode|vfs.SetAtime|vfs.SetMtime) != 0 {
		mask &^= vfs.SetUID | vfs.SetGID
	}
	return gofer.SetAttrArgs{
		Mask:  mask,
		Mode:  p.mode,
		UID:   p.uid,
		GID:   p.gid,
		Atime: p.atime,
		Mtime: p.mtime,
	}
}

func timespecBefore(a, b unix.Timespec) bool {
	return a.Sec < b.Sec || a.Sec == b.Sec && a.Nsec < b.Nsec
}

// coarseNow is the time the host kernel stamps a change with
// (current_time uses the coarse clock): a ctime reported for a pending
// change is then never later than the one the host records when the
// change is made.
func coarseNow() unix.Timespec {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts) != nil {
		return unix.Timespec{}
	}
	return ts
}

// explicitTime reports whether a time to set is a value rather than
// UTIME_NOW, whose "now" is the host's when it makes the change.
func explicitTime(ts unix.Timespec) bool {
	return ts.Nsec != unix.UTIME_NOW && ts.Nsec != unix.UTIME_OMIT
}

// deferSetStat records opts as pending if it may wait, and reports
// whether it did.
func (i *inode) deferSetStat(opts *vfs.SetStatOpts) bool {
	if !i.fs.opts.IDsFromGofer || !i.fs.opts.Exclusive || i.fs.opts.ReadOnly {
		return false
	}
	if opts.Mask&^deferrableMask != 0 ||
		opts.Mask&vfs.SetAtime != 0 && !explicitTime(opts.Atime) ||
		opts.Mask&vfs.SetMtime != 0 && !explicitTime(opts.Mtime) {
		return false
	}
	now := coarseNow()
	i.attrMu.Lock()
	defer i.attrMu.Unlock()
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.made || len(i.open) == 0 || i.forgotten || i.stat.Mode&unix.S_IFMT != unix.S_IFREG || i.stat.Nlink > 1 ||
		opts.Mask&vfs.SetUID != 0 && opts.UID != i.stat.Uid ||
		opts.Mask&vfs.SetGID != 0 && opts.GID != i.stat.Gid {
		return false
	}
	i.pending.merge(opts, now)
	i.pendingGen++
	i.pending.apply(&i.stat)
	i.pendingSet.Store(true)
	return true
}

// flushPendingLocked has the gofer make the pending changes, as one
// SetAttr or by awaiting the one the last close posted, and reports the
// gofer's error. They stay visible until the gofer made them, so that a
// concurrent Stat, which reads the host file, never shows them undone.
// i.attrMu is held.
func (i *inode) flushPendingLocked() error {
	i.mu.Lock()
	p, gen := i.pending, i.pendingGen
	posted, postedGen := i.posted, i.postedGen
	i.mu.Unlock()
	if p.mask == 0 {
		return nil
	}
	var st gofer.Stat
	var err error
	fresh := true
	if posted != nil && postedGen == gen {
		st, err = i.fs.client.Await(posted)
		// Its reply may be older than changes made through the gofer
		// since (a rename moves ctime, an unlink nlink).
		fresh = false
	} else {
		// Queued behind a posted SetAttr, if any: both are made in
		// order.
		st, err = i.fs.client.SetAttr(i.fid, p.args())
	}
	i.fs.hostChanged()
	i.mu.Lock()
	i.pending, i.posted = pendingAttrs{}, nil
	i.pendingSet.Store(false)
	if err == nil && fresh {
		i.setStatLocked(st)
	} else {
		// What the host holds is unknown now: ask again. The type,
		// mode and owner a walk checks stay as the sandbox set them.
		i.statValid = false
		i.fstat = fstatStamp{}
	}
	i.mu.Unlock()
	return err
}

// postPendingLocked sends the pending changes at the last close of the
// file without waiting for the gofer (gofer.Client.PostSetAttr): the
// program goes on while the gofer makes them. They stay pending, and
// shown, until an operation that bypasses the gofer settles them; one
// that asks the gofer is answered after the change is made. Close
// reports no error of its own, as on Linux. i.attrMu is held.
func (i *inode) postPendingLocked() {
	i.mu.Lock()
	p, gen := i.pending, i.pendingGen
	sent := i.posted != nil && i.postedGen == gen
	i.mu.Unlock()
	if p.mask == 0 || sent {
		return
	}
	posted := i.fs.client.PostSetAttr(i.fid, p.args())
	i.fs.hostChanged()
	i.mu.Lock()
	i.posted, i.postedGen = posted, gen
	i.mu.Unlock()
}

// settleBeforeWrite sends pending changes before a write through the host
// descriptor if the write would reorder them: a pending mtime, which the
// write must move past. The mode, owner and atime may keep waiting: a
// write changes none of them on the host (the set-ID bits it would clear
// are cleared by the VFS, as a mode change that joins the pending ones).
// An archive extractor that sets a mode before it writes then pays no
// round trip for the write.
func (i *inode) settleBeforeWrite() {
	if !i.pendingSet.Load() {
		return
	}
	i.mu.Lock()
	mtime := i.pending.mask&vfs.SetMtime != 0
	i.mu.Unlock()
	if mtime {
		i.settle()
	}
}

// settle sends pending changes before an operation that depends on the
// host file's attributes or changes them itself. A failure is left for
// the operation to meet: the session is broken then.
func (i *inode) settle() {
	if i.pendingSet.Load() {
		i.attrMu.Lock()
		_ = i.flushPendingLocked()
		i.attrMu.Unlock()
	}
}
