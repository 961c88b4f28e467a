package goferfs

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Write-behind creation.
//
// An archive extractor creates a file, writes it, sets its times, owner
// and mode, and closes it, thousands of times. The attribute changes are
// deferred to the close (deferred.go), but a Create is a gofer round trip
// that the program waits for, most of a file's cost. On an exclusive tree
// a new regular file is instead created with a posted CreateHeld, under a
// FID the sentry chose, so that the program goes on at once while the
// gofer creates the file on the other CPU. What the program writes from
// the start of the file, up to gofer.MaxHeldData bytes, stays in the
// inode; the last close posts FinishHeld, which writes it, makes the
// deferred attribute changes and closes the gofer's descriptor of the
// file: one more message, and no wait.
//
// Every request sent after CreateHeld is made after it (the gofer serves
// a connection in order, client_post.go), so everything that goes through
// the gofer by FID or name (a walk, a listing of the directory, rename,
// unlink, xattrs) sees the file. What needs the host file's contents or a
// host descriptor instead (a read, a write past the buffer or not at its
// end, mmap, truncation, fsync, another open, a hard link, whose inode
// would read the host file) first materializes the file: FinishHeld with
// the data so far, then an Open of a read-write descriptor, after which
// the inode is like any file the sandbox created. Stat needs only the
// created file's identity, from CreateHeld's reply.
//
// A posted request reports no error to the program. So that none is
// likely, files are written behind only while the tree's free space and
// inodes, read with StatFS every behindBatch files, leave a wide margin
// (behindAllowance); near a full disk creation waits for the gofer again
// and errors come back as on Linux. A failure that happens anyway is
// logged, makes the file's own calls fail with it, and is reported by the
// next fsync of a file of the tree.

const (
	// behindBatch bounds the files written behind between two reads of
	// the tree's free space.
	behindBatch = 4096
	// behindSyncFiles is how many creations wait for the gofer, once
	// the free space was found short, before it is read again.
	behindSyncFiles = 256
	// behindReserveBytes and behindReserveFiles are the free space and
	// inodes that write-behind never counts on.
	behindReserveBytes = 256 << 20
	behindReserveFiles = 4096
)

// behindState is what a file created with write-behind keeps while the
// sandbox has it open and it is not materialized.
type behindState struct {
	// created is the posted CreateHeld, of the file called name.
	created *gofer.Posted
	name    string
	// data is the file's whole contents so far.
	data []byte
}

// mayWriteBehind reports whether a new file of the directory dir may be
// created with write-behind, and counts it.
func (fs *FS) mayWriteBehind(dir gofer.FID) bool {
	if !fs.opts.WriteBehind || !fs.opts.Exclusive || !fs.opts.IDsFromGofer || fs.opts.ReadOnly {
		return false
	}
	fs.behindMu.Lock()
	defer fs.behindMu.Unlock()
	if fs.behindLeft == 0 {
		if fs.behindSyncLeft > 0 {
			fs.behindSyncLeft--
			return false
		}
		fs.behindLeft = fs.behindAllowance(dir)
		if fs.behindLeft == 0 {
			fs.behindSyncLeft = behindSyncFiles
			return false
		}
	}
	fs.behindLeft--
	return true
}

// behindAllowance returns how many files may be written behind before the
// free space of the tree is read again: half of what the free space and
// inodes beyond the reserve would hold if every file took the most a file
// buffers (a larger one is materialized, and its writes fail as on Linux),
// at most behindBatch.
func (fs *FS) behindAllowance(dir gofer.FID) int {
	st, err := fs.client.StatFS(dir)
	if err != nil {
		return 0
	}
	bytes := st.Bavail * st.Bsize
	if bytes <= behindReserveBytes {
		return 0
	}
	n := (bytes - behindReserveBytes) / gofer.MaxHeldData
	if st.Files != 0 { // a file system that counts inodes
		if st.Ffree <= behindReserveFiles {
			return 0
		}
		n = min(n, st.Ffree-behindReserveFiles)
	}
	return int(min(n/2, behindBatch))
}

// createBehind creates name in the directory i with write-behind.
func (i *inode) createBehind(name string, mode uint32, owner vfs.Owner) (vfs.Inode, vfs.FileImpl, error) {
	fs := i.fs
	fid := fs.client.NewFID()
	n := fs.newInode(fid, gofer.Stat{})
	n.made = true
	created := fs.client.PostCreateHeld(i.fid, name, mode&0o7777, owner.UID, owner.GID, fid, func(err error) {
		n.behindFailed(name, err)
	})
	if created.Done() {
		// Not sent: the session is broken.
		if _, err := fs.client.Await(created); err != nil {
			return nil, nil, err
		}
	}
	now := realtimeNow()
	n.stat = unix.Stat_t{
		Mode:    unix.S_IFREG | mode&0o7777,
		Nlink:   1,
		Uid:     owner.UID,
		Gid:     owner.GID,
		Blksize: 4096,
		Atim:    now,
		Mtim:    now,
		Ctim:    now,
	}
	n.behind = &behindState{created: created, name: name}
	n.created.Store(created)
	fs.behindMu.Lock()
	fs.behindInodes[n] = struct{}{}
	fs.behindMu.Unlock()
	n.behindOpen.Store(true)
	i.noteCreate(name, nil)
	n.mu.Lock()
	f := n.newRegularFileLocked(nil)
	n.mu.Unlock()
	return n, f, nil
}

// behindFailed records that a posted request of the file named name,
// created with write-behind, failed: the file's calls fail with err from
// now on, and the next fsync in the tree reports it.
func (i *inode) behindFailed(name string, err error) {
	// Once is enough: after a failed CreateHeld, the FinishHeld fails
	// too.
	if err == gofer.ErrClientShutdown || !i.behindErr.CompareAndSwap(nil, &err) {
		return
	}
	i.fs.behindErr.CompareAndSwap(nil, &err)
	i.fs.log().Warn("the gofer failed to make a file the sandbox wrote", "name", name, "err", err)
}

// failedBehind returns the error of a posted request of the file, if one
// failed.
func (i *inode) failedBehind() error {
	if p := i.behindErr.Load(); p != nil {
		return *p
	}
	return nil
}

// takeBehindErr returns, once, the error of a write-behind request of the
// tree that failed.
func (fs *FS) takeBehindErr() error {
	if p := fs.behindErr.Swap(nil); p != nil {
		if errno, ok := (*p).(unix.Errno); ok {
			return errno
		}
		return unix.EIO
	}
	return nil
}

// writeBehind keeps src, to be written at off, if the file is still
// written behind, off is the end of what it holds, and it all fits.
func (i *inode) writeBehind(src []byte, off int64) (int, bool) {
	i.behindMu.Lock()
	defer i.behindMu.Unlock()
	b := i.behind
	if b == nil || off != int64(len(b.data)) || len(b.data)+len(src) > gofer.MaxHeldData {
		return 0, false
	}
	b.data = append(b.data, src...)
	now := realtimeNow()
	i.mu.Lock()
	// The write moves mtime past any time set before it.
	i.pending.mask &^= vfs.SetMtime
	i.stat.Size = int64(len(b.data))
	i.stat.Blocks = (i.stat.Size + 4095) / 4096 * 8
	i.stat.Mtim, i.stat.Ctim = now, now
	i.mu.Unlock()
	return len(src), true
}

// behindStat returns the attributes of a file still written behind; ok is
// false when it is not.
func (i *inode) behindStat() (st unix.Stat_t, ok bool, err error) {
	i.behindMu.Lock()
	defer i.behindMu.Unlock()
	if i.behind == nil {
		return st, false, nil
	}
	if err := i.learnIdentity(); err != nil {
		return st, true, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.stat, true, nil
}

// learnIdentity records the device and inode numbers of a file created
// with write-behind, from CreateHeld's reply, once something asks for
// them (every Stat path keeps the identity it has).
func (i *inode) learnIdentity() error {
	created := i.created.Load()
	if created == nil {
		return nil
	}
	cst, err := i.fs.client.Await(created)
	if err != nil {
		return err
	}
	i.mu.Lock()
	if i.created.CompareAndSwap(created, nil) {
		i.stat.Dev, i.stat.Ino = cst.Dev, cst.Ino
	}
	i.mu.Unlock()
	return nil
}

// heldAttrsLocked returns the attribute changes the FinishHeld of the
// last close makes: the pending ones; the mode again whenever it has
// set-ID bits, which the gofer's write may have cleared (privs.go: the
// VFS decided already whether the sandbox's write kills them); and the
// times the sandbox saw, so that the file keeps them rather than taking
// the gofer's clock when it writes. i.mu is held.
func (i *inode) heldAttrsLocked() gofer.SetAttrArgs {
	a := i.pending.args()
	if privBits(i.stat.Mode) != 0 && a.Mask&unix.STATX_MODE == 0 {
		a.Mask |= unix.STATX_MODE
		a.Mode = i.stat.Mode & 0o7777
	}
	if a.Mask&unix.STATX_ATIME == 0 {
		a.Mask |= unix.STATX_ATIME
		a.Atime = i.stat.Atim
	}
	if a.Mask&unix.STATX_MTIME == 0 {
		a.Mask |= unix.STATX_MTIME
		a.Mtime = i.stat.Mtim
	}
	return a
}

// materialize makes the host file of a file written behind hold what was
// written, gives the inode a read-write host descriptor and the open file
// the descriptor, and returns it. For a file not written behind it
// returns the inode's read-write descriptor.
func (i *inode) materialize() (*hostFD, error) {
	i.behindMu.Lock()
	defer i.behindMu.Unlock()
	b := i.behind
	if b == nil {
		i.mu.Lock()
		defer i.mu.Unlock()
		if h := i.hostFDs[1]; h != nil {
			return h, nil
		}
		if err := i.failedBehind(); err != nil {
			return nil, err
		}
		return nil, unix.EIO
	}
	// The pending attribute changes stay pending, as for any file the
	// sandbox created and still has open; the mode goes with the data
	// if the write may have cleared set-ID bits.
	i.mu.Lock()
	a := gofer.SetAttrArgs{}
	if privBits(i.stat.Mode) != 0 {
		a = gofer.SetAttrArgs{Mask: unix.STATX_MODE, Mode: i.stat.Mode & 0o7777}
	}
	i.mu.Unlock()
	finished := i.fs.client.PostFinishHeld(i.fid, b.data, a, nil)
	// After FinishHeld, on the same connection.
	fd, openErr := i.fs.client.Open(i.fid, unix.O_RDWR)
	err := i.learnIdentity()
	if err == nil {
		_, err = i.fs.client.Await(finished)
	}
	if err == nil {
		err = openErr
	}
	i.fs.hostChanged()
	i.endBehind()
	if err != nil {
		if openErr == nil {
			unix.Close(fd)
		}
		i.behindErr.CompareAndSwap(nil, &err)
		return nil, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.fstat = fstatStamp{}
	h := i.setHostFDLocked(1, fd, 0)
	for f := range i.open {
		f.h.CompareAndSwap(nil, h)
	}
	return h, nil
}

// finishBehindLocked posts the FinishHeld of a file written behind at its
// last close: its data and the pending attribute changes, which stay
// pending (and shown) until an operation that bypasses the gofer awaits
// them, as postPendingLocked's do. i.attrMu is held.
func (i *inode) finishBehindLocked() {
	i.behindMu.Lock()
	defer i.behindMu.Unlock()
	b := i.behind
	if b == nil {
		return
	}
	i.mu.Lock()
	a, gen := i.heldAttrsLocked(), i.pendingGen
	i.mu.Unlock()
	finished := i.fs.client.PostFinishHeld(i.fid, b.data, a, func(err error) {
		i.behindFailed(b.name, err)
	})
	i.fs.hostChanged()
	i.endBehind()
	i.mu.Lock()
	i.posted, i.postedGen = finished, gen
	// Size, times and identity come from the gofer from now on; the
	// type, mode and owner a walk checks stay as the sandbox set them.
	i.statValid = false
	i.fstat = fstatStamp{}
	i.mu.Unlock()
}

// endBehind ends the file's write-behind. i.behindMu is held.
func (i *inode) endBehind() {
	i.behind = nil
	i.behindOpen.Store(false)
	i.fs.behindMu.Lock()
	delete(i.fs.behindInodes, i)
	i.fs.behindMu.Unlock()
}

// SyncFS implements vfs.FSSyncer: the files still written behind are
// materialized, every posted request is made, and a failed one of the
// tree is reported, once.
func (fs *FS) SyncFS() error {
	fs.behindMu.Lock()
	open := make([]*inode, 0, len(fs.behindInodes))
	for i := range fs.behindInodes {
		open = append(open, i)
	}
	fs.behindMu.Unlock()
	for _, i := range open {
		// A failure is the file's, and reported below.
		_, _ = i.materialize()
	}
	if err := fs.client.Settle(); err != nil {
		return err
	}
	return fs.takeBehindErr()
}

// SyncFS implements vfs.FSSyncer for syncfs(2) on a file of the tree.
func (i *inode) SyncFS() error { return i.fs.SyncFS() }

func realtimeNow() unix.Timespec {
	return unix.NsecToTimespec(time.Now().UnixNano())
}
