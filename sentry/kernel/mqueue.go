package kernel

// POSIX message queues (ipc/mqueue.c): the queues of one IPC namespace,
// their names, the fs.mqueue.* limits, RLIMIT_MSGQUEUE accounting, and
// mq_open's and mq_unlink's lookups. The queue itself (messages, sleepers,
// mq_notify) is in mqueue_queue.go and mqueue_notify.go; the file system
// that shows a namespace's queues as files (every mqueue mount of the
// namespace, and the internal one mq_open opens through) is
// sentry/fs/mqueue.
//
// In Linux a queue is an inode of the namespace's mqueue superblock, and
// it lives until its name is gone and its last open file is closed
// (mqueue_evict_inode): only then do the namespace's queue count and the
// creator's RLIMIT_MSGQUEUE charge go down. MQueue.linked and MQueue.opens
// track exactly that.
//
// The messages themselves are memory the sentry holds for the container
// that sent them: each is charged to the sender's container's memory
// account as Linux charges load_msg's allocations to the sender's memory
// cgroup, from the send until the message is freed (received, taken back
// by a sender that gave up, or dropped with its queue), so a container
// cannot hold memory past its limit in message queues (mqueue_queue.go).
//
// Lock order: MQNamespace.mu, then MQueue.mu, then the queue's
// waiter.Queue. Neither is held while copying to or from application
// memory, while blocking, or while taking Kernel.mu (limits are read
// before, notifications sent after).

import (
	"encoding/binary"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/sysctl"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Limits and sizes from include/linux/ipc_namespace.h and ipc/mqueue.c.
const (
	// MQPrioMax is MQ_PRIO_MAX: priorities are below it.
	MQPrioMax = 32768
	// Defaults of a new IPC namespace (DFLT_*).
	mqDefaultQueuesMax  = 256
	mqDefaultMsgMax     = 10
	mqDefaultMsgsizeMax = 8192
	mqDefaultMsg        = 10
	mqDefaultMsgsize    = 8192
	// The ceilings CAP_SYS_RESOURCE lifts msg_max and msgsize_max to
	// (HARD_MSGMAX, HARD_MSGSIZEMAX).
	mqHardMsgMax     = 65536
	mqHardMsgsizeMax = 16 << 20
	// mqFileSize and mqDirentSize are FILENT_SIZE, a queue file's
	// st_size, and DIRENT_SIZE, what each name adds to the directory's.
	mqFileSize   = 80
	mqDirentSize = 20
	// sizeofMsgMsg and sizeofMsgTreeNode are sizeof(struct msg_msg) and
	// sizeof(struct posix_msg_tree_node) on amd64: mqueue_get_inode
	// charges them to RLIMIT_MSGQUEUE with the message bytes.
	sizeofMsgMsg      = 48
	sizeofMsgTreeNode = 48
	// SizeofMQAttr is sizeof(struct mq_attr).
	SizeofMQAttr = 64
	// MQRootIno is the mqueue root directory's inode number; queues'
	// follow it in creation order (Linux numbers with get_next_ino).
	MQRootIno = 1 << 40
)

// MQAttr is struct mq_attr.
type MQAttr struct {
	Flags, MaxMsg, MsgSize, CurMsgs int64
}

// DecodeMQAttr reads a struct mq_attr (SizeofMQAttr bytes).
func DecodeMQAttr(b []byte) MQAttr {
	le := binary.LittleEndian
	return MQAttr{
		Flags:   int64(le.Uint64(b[0:])),
		MaxMsg:  int64(le.Uint64(b[8:])),
		MsgSize: int64(le.Uint64(b[16:])),
		CurMsgs: int64(le.Uint64(b[24:])),
	}
}

// Encode writes a as struct mq_attr, the reserved words zero.
func (a MQAttr) Encode() []byte {
	b := make([]byte, SizeofMQAttr)
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(a.Flags))
	le.PutUint64(b[8:], uint64(a.MaxMsg))
	le.PutUint64(b[16:], uint64(a.MsgSize))
	le.PutUint64(b[24:], uint64(a.CurMsgs))
	return b
}

// MQNamespace holds the POSIX message queues of one IPC namespace and its
// fs.mqueue.* sysctls (the mq_* fields of struct ipc_namespace).
type MQNamespace struct {
	// The fs.mqueue sysctls. Atomics, read without mu as Linux reads
	// them without mq_lock; a pod sets them at boot and root may change
	// them through /proc/sys/fs/mqueue.
	queuesMax, msgMax, msgsizeMax, msgDefault, msgsizeDefault atomic.Int64

	// queuedBytes is the bytes of message text held in all queues: the
	// memory the namespace's messages take (each queue's qsize).
	queuedBytes atomic.Int64

	// mu protects everything below and every queue's linked and opens.
	mu sync.Mutex
	// queues maps names to the linked queues.
	queues map[string]*MQueue
	// count is mq_queues_count: queues created and not yet freed
	// (unlinked ones that are still open included).
	count int64
	// nextSeq numbers queues in creation order (directory cookies).
	nextSeq uint64
	// dir holds the attributes of the root directory, shared by every
	// mount of the namespace's mqueue file system.
	dir mqDirAttr
	// userBytes is each user's RLIMIT_MSGQUEUE charge (user_struct's
	// mq_bytes). Linux keeps it per user, across IPC namespaces; the
	// sandbox has one IPC namespace (Kernel.IPC), so this table is the
	// kernel's.
	userBytes map[uint32]uint64

	// fsOnce guards fs, the namespace's mqueue file system
	// (sentry/fs/mqueue), which every mount of it shares as Linux keys
	// the superblock by namespace.
	fsOnce sync.Once
	fs     any
}

// mqDirAttr are the root directory's attributes.
type mqDirAttr struct {
	mode                uint32
	uid, gid            uint32
	atime, mtime, ctime unix.Timespec
}

func newMQNamespace() *MQNamespace {
	n := &MQNamespace{queues: make(map[string]*MQueue), userBytes: make(map[uint32]uint64)}
	n.queuesMax.Store(mqDefaultQueuesMax)
	n.msgMax.Store(mqDefaultMsgMax)
	n.msgsizeMax.Store(mqDefaultMsgsizeMax)
	n.msgDefault.Store(mqDefaultMsg)
	n.msgsizeDefault.Store(mqDefaultMsgsize)
	now := mqNow()
	n.dir = mqDirAttr{mode: unix.S_IFDIR | unix.S_ISVTX | 0o777, atime: now, mtime: now, ctime: now}
	return n
}

// MQueues returns the namespace's POSIX message queues.
func (n *IPCNamespace) MQueues() *MQNamespace { return n.mqueues }

// FileSystem returns the namespace's mqueue file system, made by make on
// the first call.
func (n *MQNamespace) FileSystem(make func() any) any {
	n.fsOnce.Do(func() { n.fs = make() })
	return n.fs
}

func mqNow() unix.Timespec {
	t := time.Now()
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// Sysctl returns the value of the fs.mqueue sysctl called name (its last
// component: "msg_max"), and whether there is one.
func (n *MQNamespace) Sysctl(name string) (int64, bool) {
	if v := n.limit(name); v != nil {
		return v.Load(), true
	}
	return 0, false
}

// SetSysctl sets an fs.mqueue sysctl (name is its last component) to a
// value package sysctl has checked.
func (n *MQNamespace) SetSysctl(name string, value int64) bool {
	if v := n.limit(name); v != nil {
		v.Store(value)
		return true
	}
	return false
}

func (n *MQNamespace) limit(name string) *atomic.Int64 {
	switch name {
	case "queues_max":
		return &n.queuesMax
	case "msg_max":
		return &n.msgMax
	case "msgsize_max":
		return &n.msgsizeMax
	case "msg_default":
		return &n.msgDefault
	case "msgsize_default":
		return &n.msgsizeDefault
	}
	return nil
}

// QueuedBytes returns the bytes of message text the namespace's queues
// hold.
func (n *MQNamespace) QueuedBytes() int64 { return n.queuedBytes.Load() }

// ChargedBytes returns uid's RLIMIT_MSGQUEUE charge: what its queues may
// hold at most, with Linux's per-message overheads.
func (n *MQNamespace) ChargedBytes(uid uint32) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.userBytes[uid]
}

// Lookup returns the queue called name, or nil.
func (n *MQNamespace) Lookup(name string) *MQueue {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.queues[name]
}

// MQueueEntry is one name of the namespace's directory.
type MQueueEntry struct {
	Name  string
	Queue *MQueue
}

// Entries lists the queues in creation order.
func (n *MQNamespace) Entries() []MQueueEntry {
	n.mu.Lock()
	out := make([]MQueueEntry, 0, len(n.queues))
	for name, q := range n.queues {
		out = append(out, MQueueEntry{Name: name, Queue: q})
	}
	n.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Queue.seq < out[j].Queue.seq })
	return out
}

// DirStat returns the root directory's attributes (st_dev is the file
// system's to fill): its size grows by DIRENT_SIZE per queue, as Linux's
// mqueue_create_attr and mqueue_unlink count.
func (n *MQNamespace) DirStat() unix.Stat_t {
	n.mu.Lock()
	defer n.mu.Unlock()
	d := &n.dir
	return unix.Stat_t{
		Ino: MQRootIno, Mode: d.mode, Nlink: 2, Uid: d.uid, Gid: d.gid,
		Size:    int64(2+len(n.queues)) * mqDirentSize,
		Blksize: 4096, Atim: d.atime, Mtim: d.mtime, Ctim: d.ctime,
	}
}

// SetDirStat changes the root directory's attributes (chmod, chown,
// utimes of the mount's root); the VFS has checked the caller may.
func (n *MQNamespace) SetDirStat(opts vfs.SetStatOpts) error {
	if opts.Mask&vfs.SetSize != 0 {
		return unix.EISDIR
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	applyMQStat(&n.dir.mode, &n.dir.uid, &n.dir.gid, &n.dir.atime, &n.dir.mtime, &n.dir.ctime, opts)
	return nil
}

// applyMQStat applies a change of attributes (simple_setattr).
func applyMQStat(mode, uid, gid *uint32, atime, mtime, ctime *unix.Timespec, opts vfs.SetStatOpts) {
	now := mqNow()
	orNow := func(ts unix.Timespec) unix.Timespec {
		if ts.Nsec == unix.UTIME_NOW {
			return now
		}
		return ts
	}
	if opts.Mask&vfs.SetMode != 0 {
		*mode = *mode&unix.S_IFMT | opts.Mode&0o7777
	}
	if opts.Mask&vfs.SetUID != 0 {
		*uid = opts.UID
	}
	if opts.Mask&vfs.SetGID != 0 {
		*gid = opts.GID
	}
	if opts.Mask&vfs.SetAtime != 0 {
		*atime = orNow(opts.Atime)
	}
	if opts.Mask&vfs.SetMtime != 0 {
		*mtime = orNow(opts.Mtime)
	}
	if opts.Mask != 0 {
		*ctime = now
	}
}

// touchDirLocked stamps the directory after a name came or went.
//
// Preconditions: n.mu is held.
func (n *MQNamespace) touchDirLocked() {
	now := mqNow()
	n.dir.atime, n.dir.mtime, n.dir.ctime = now, now, now
}

// mqCreator is who creates a queue: its owner, and what limits apply.
type mqCreator struct {
	uid, gid uint32
	// limited is false for the sentry's own creations.
	limited bool
	// sysResource is CAP_SYS_RESOURCE, which lifts queues_max and raises
	// msg_max and msgsize_max to the hard ceilings.
	sysResource bool
	// rlimit is RLIMIT_MSGQUEUE's soft limit; ruid is the user charged
	// (current_user(): the real user ID).
	rlimit uint64
	ruid   uint32
}

func creatorOf(t *Task) mqCreator {
	c := &t.creds
	return mqCreator{
		uid: c.FSUID, gid: c.FSGID, limited: true,
		sysResource: c.HasCap(CapSysResource),
		rlimit:      t.RLimit(unix.RLIMIT_MSGQUEUE).Cur,
		ruid:        c.UID,
	}
}

// mqCharge is what a queue with attr charges its creator: its messages
// at their largest, one struct msg_msg each, and a tree node per
// priority it could use (mqueue_get_inode); ok is false on overflow.
func mqCharge(maxMsg, msgSize int64) (uint64, bool) {
	m, s := uint64(maxMsg), uint64(msgSize)
	if s > ^uint64(0)/m {
		return 0, false
	}
	tree := m*sizeofMsgMsg + min(m, MQPrioMax)*sizeofMsgTreeNode
	b := m * s
	if b+tree < b {
		return 0, false
	}
	return b + tree, true
}

// createLocked makes a queue called name (mqueue_create_attr and
// mqueue_get_inode): ENOSPC past queues_max, EINVAL for attributes out of
// bounds, EOVERFLOW, EMFILE past RLIMIT_MSGQUEUE. A nil attr takes the
// namespace's defaults. mode holds the permission bits (umask applied).
//
// Preconditions: n.mu is held; name is valid and not in use.
func (n *MQNamespace) createLocked(name string, mode uint32, attr *MQAttr, c mqCreator) (*MQueue, error) {
	if c.limited && n.count >= n.queuesMax.Load() && !c.sysResource {
		return nil, unix.ENOSPC
	}
	maxMsg := min(n.msgMax.Load(), n.msgDefault.Load())
	msgSize := min(n.msgsizeMax.Load(), n.msgsizeDefault.Load())
	if attr != nil {
		maxMsg, msgSize = attr.MaxMsg, attr.MsgSize
	}
	if maxMsg <= 0 || msgSize <= 0 {
		return nil, unix.EINVAL
	}
	if c.limited {
		if c.sysResource {
			if maxMsg > mqHardMsgMax || msgSize > mqHardMsgsizeMax {
				return nil, unix.EINVAL
			}
		} else if maxMsg > n.msgMax.Load() || msgSize > n.msgsizeMax.Load() {
			return nil, unix.EINVAL
		}
	}
	charge, ok := mqCharge(maxMsg, msgSize)
	if !ok {
		return nil, unix.EOVERFLOW
	}
	if c.limited {
		used := n.userBytes[c.ruid]
		if used+charge < used || used+charge > c.rlimit {
			return nil, unix.EMFILE
		}
	}
	n.userBytes[c.ruid] += charge
	n.count++
	n.nextSeq++
	now := mqNow()
	q := &MQueue{
		ns:        n,
		name:      name,
		seq:       n.nextSeq,
		maxMsg:    maxMsg,
		msgSize:   msgSize,
		chargedTo: c.ruid,
		charged:   charge,
		linked:    true,
		mode:      unix.S_IFREG | mode&0o7777,
		uid:       c.uid,
		gid:       c.gid,
		size:      mqFileSize,
		atime:     now, mtime: now, ctime: now,
	}
	n.queues[name] = q
	n.touchDirLocked()
	return q, nil
}

// freeLocked releases a queue whose name and files are all gone
// (mqueue_evict_inode): its messages go, uncharged from their senders'
// memory accounts, and the namespace's count and its creator's
// RLIMIT_MSGQUEUE charge come down.
//
// Preconditions: n.mu is held; !q.linked && q.opens == 0.
func (n *MQNamespace) freeLocked(q *MQueue) {
	q.freed = true
	q.mu.Lock()
	n.queuedBytes.Add(-int64(q.qsize))
	for _, l := range q.levels {
		for _, m := range l.msgs {
			m.free()
		}
	}
	q.levels, q.curMsgs, q.qsize = nil, 0, 0
	q.mu.Unlock()
	n.count--
	n.userBytes[q.chargedTo] -= q.charged
	if n.userBytes[q.chargedTo] == 0 {
		delete(n.userBytes, q.chargedTo)
	}
}

// CheckMQName applies the rules mq_open and mq_unlink's lookup
// (getname, lookup_one_len, simple_lookup) puts on a queue name as the
// kernel receives it (glibc has stripped the leading '/').
func CheckMQName(name string) error {
	switch {
	case name == "":
		return unix.ENOENT
	case name == "." || name == "..":
		return unix.EACCES
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return unix.EACCES
		}
	}
	if len(name) > vfs.NameMax {
		return unix.ENAMETOOLONG
	}
	return nil
}

// MQOpen implements mq_open(2)'s lookup or creation (do_mq_open and
// prepare_open): it returns the queue, open (the caller's file holds the
// open and releases it with MQueue.Release), and whether it was created.
// The caller has checked the name, read attr (nil without one) and made
// sure a descriptor is free.
func (t *Task) MQOpen(name string, oflag int, mode uint32, attr *MQAttr) (q *MQueue, created bool, err error) {
	n := t.IPCNamespace().MQueues()
	creds := t.FSCreds()
	// Before n.mu: the limits are read under Kernel.mu.
	creator, umask := creatorOf(t), t.Umask()
	n.mu.Lock()
	defer n.mu.Unlock()
	q = n.queues[name]
	if q == nil {
		if oflag&unix.O_CREAT == 0 {
			return nil, false, unix.ENOENT
		}
		// vfs_mkobj: may_create on the root directory.
		dir := unix.Stat_t{Mode: n.dir.mode, Uid: n.dir.uid, Gid: n.dir.gid}
		if err := creds.MayAccess(&dir, vfs.MayWrite|vfs.MayExec); err != nil {
			return nil, false, err
		}
		// umode_t: 16 bits, then S_IALLUGO less the umask.
		perm := mode & 0xffff & 0o7777 &^ umask
		q, err = n.createLocked(name, perm, attr, creator)
		if err != nil {
			return nil, false, err
		}
		q.opens++
		return q, true, nil
	}
	if oflag&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL {
		return nil, false, unix.EEXIST
	}
	var want uint32
	switch oflag & unix.O_ACCMODE {
	case unix.O_RDONLY:
		want = vfs.MayRead
	case unix.O_WRONLY:
		want = vfs.MayWrite
	case unix.O_RDWR:
		want = vfs.MayRead | vfs.MayWrite
	default:
		return nil, false, unix.EINVAL
	}
	st := q.Stat()
	if err := creds.MayAccess(&st, want); err != nil {
		return nil, false, err
	}
	q.opens++
	return q, false, nil
}

// Forget removes the name of a queue MQOpen has just created when the
// caller could not give it a descriptor (EMFILE), if the name still
// names it; the caller's file then releases the queue.
func (n *MQNamespace) Forget(q *MQueue) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.queues[q.name] == q {
		n.unlinkLocked(q)
	}
}

// HasFreeFD reports whether a descriptor below limit is free, for calls
// that fail with EMFILE before doing anything (mq_open reserves its
// descriptor first, get_unused_fd_flags).
func (t *FDTable) HasFreeFD(limit uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for fd, e := range t.entries {
		if uint64(fd) >= limit {
			return false
		}
		if e.file == nil {
			return true
		}
	}
	return uint64(len(t.entries)) < limit
}

// CreateForCaller creates a queue with the namespace's default attributes
// for open(2) with O_CREAT or mknod(2) of a regular file in an mqueue
// mount (mqueue_create): the VFS has checked the name and the directory's
// permissions; the limits are the calling task's.
func (n *MQNamespace) CreateForCaller(name string, mode uint32, owner vfs.Owner) (*MQueue, error) {
	c := mqCreator{uid: owner.UID, gid: owner.GID}
	if t := callerTask(); t != nil {
		c = creatorOf(t)
		// mqueue_get_inode takes the file-system IDs, as the VFS did.
		c.uid, c.gid = owner.UID, owner.GID
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.queues[name] != nil {
		return nil, unix.EEXIST
	}
	return n.createLocked(name, mode, nil, c)
}

// Unlink removes the name of a queue (mqueue_unlink): the queue lives on
// while files have it open. The VFS (mq_unlink goes through the internal
// mount too) has checked the permissions.
func (n *MQNamespace) Unlink(name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	q := n.queues[name]
	if q == nil {
		return unix.ENOENT
	}
	n.unlinkLocked(q)
	return nil
}

// unlinkLocked removes q's name, and q with it if no file has it open.
//
// Preconditions: n.mu is held; q is linked.
func (n *MQNamespace) unlinkLocked(q *MQueue) {
	delete(n.queues, q.name)
	q.mu.Lock()
	q.linked = false
	q.ctime = mqNow()
	q.mu.Unlock()
	n.touchDirLocked()
	if q.opens == 0 {
		n.freeLocked(q)
	}
}

// CallerMQNamespace returns the POSIX message queues of the IPC
// namespace of the task whose system call is running on the calling OS
// thread, or nil.
func CallerMQNamespace() *MQNamespace {
	if t := callerTask(); t != nil {
		return t.IPCNamespace().MQueues()
	}
	return nil
}

// FileFlusher is implemented by open files that act whenever one of
// their descriptors is closed, not only at the last close (Linux's
// f_op->flush): an mqueue descriptor drops the closing process's
// mq_notify registration then.
type FileFlusher interface {
	Flush(closer *Task)
}

// flushFile runs f's flush for the task closing a descriptor of it.
func flushFile(f *vfs.File) {
	if fl, ok := f.Impl().(FileFlusher); ok {
		if t := callerTask(); t != nil {
			fl.Flush(t)
		}
	}
}

// WriteSysctl sets the fs.mqueue sysctl called name (its last component)
// for a write of value to /proc/sys/fs/mqueue/NAME by the calling task.
// The files belong to the namespace's root user, who alone may write
// them (mq_permissions: the effective user ID decides, not
// capabilities); a value out of range is EINVAL.
func (n *MQNamespace) WriteSysctl(name, value string) error {
	if t := callerTask(); t == nil || t.creds.EUID != 0 {
		return unix.EACCES
	}
	_, v, err := sysctl.Parse("fs.mqueue."+name, value)
	if err != nil {
		return unix.EINVAL
	}
	n.SetSysctl(name, parsedInt(v))
	return nil
}
