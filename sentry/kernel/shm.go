package kernel

// System V shared memory (ipc/shm.c): shmget, shmat, shmdt, shmctl.
//
// Segments live in an IPCNamespace. The sandbox has one for the whole
// kernel (Kernel.IPC), which is what a pod whose containers share the IPC
// namespace sees (the Kubernetes default: IPC is per pod); tasks may make
// others with CLONE_NEWIPC (ipcns.go). Task.IPCNamespace is the only place
// that picks one.
//
// A segment's pages are a mm.SharedMemory object in the memory file, so
// every attach maps the same pages. Each shmat makes a shmAttachment, the
// Mappable of the mapping; each VMA of it (fragments after mprotect or a
// partial munmap, copies made by fork) holds a reference, and the number
// of those references is shm_nattch, as Linux counts vm_open/vm_close.
// Detaching (munmap, shmdt, exec, exit) drops them; a segment marked for
// removal goes with its last attach.
//
// Lock order: the mm calls shmAttachment.IncRef and DecRef with its lock
// held, so IPCNamespace.mu is taken under MemoryManager.mu and the mm is
// never called with IPCNamespace.mu held.

import (
	"encoding/binary"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// System V IPC constants (include/uapi/linux/ipc.h, shm.h).
const (
	IPCPrivate = 0
	IPCCreat   = 0o1000
	IPCExcl    = 0o2000
	IPCNoWait  = 0o4000

	IPCRmid = 0
	IPCSet  = 1
	IPCStat = 2
	IPCInfo = 3

	ShmLock       = 11
	ShmUnlock     = 12
	ShmStat       = 13
	ShmInfo       = 14
	ShmStatAny    = 15
	ShmRdonly     = 0o10000
	ShmRnd        = 0o20000
	ShmRemap      = 0o40000
	ShmExec       = 0o100000
	shmDest       = 0o1000 // SHM_DEST, in shm_perm.mode
	shmLocked     = 0o2000 // SHM_LOCKED, in shm_perm.mode
	shmHugeTLB    = 0o4000 // SHM_HUGETLB, a shmget flag
	shmNoReserve  = 0o10000
	shmLBA        = arch.PageSize
	ipcIDShift    = 15 // IPCMNI_SHIFT: id = seq<<15 | index
	ipcIDIndexMax = 1<<ipcIDShift - 1

	// Linux's defaults (include/uapi/linux/shm.h): the limits of a new
	// IPC namespace.
	ShmMin = 1
	ShmMNI = 4096
	ShmMax = ^uint64(0) - 1<<24
	ShmAll = ^uint64(0) - 1<<24
	ShmSeg = ShmMNI
)

// IPCNamespace holds the System V IPC objects of one IPC namespace:
// shared memory segments here, semaphore sets (sem.go) and message
// queues (msg.go). Each kind has its own lock.
type IPCNamespace struct {
	k *Kernel
	// ino is the namespace's inode number (/proc/[pid]/ns/ipc);
	// immutable.
	ino uint64
	// users counts the tasks in the namespace and its open namespace
	// files, except for the initial one (ipcns.go).
	users atomic.Int64

	// semMu protects sems, usedSems, every set's state and waiters, and
	// the entries of every undo list bound to this namespace. It is
	// never held while copying to or from application memory or while
	// taking Kernel.mu.
	semMu    sync.Mutex
	sems     ipcIDs[*semSet]
	usedSems int // used_sems: semaphores in all sets
	// msgMu protects msgs, msgHdrs, msgBytes and every queue's state and
	// waiters, with the same rules as semMu.
	msgMu    sync.Mutex
	msgs     ipcIDs[*msgQueue]
	msgHdrs  int // messages in all queues (percpu_msg_hdrs)
	msgBytes int // bytes in all queues (percpu_msg_bytes)

	// mu protects everything below and every segment's fields.
	mu sync.Mutex
	// byIndex holds the segments by index (the low 15 bits of the ID),
	// segments marked for removal included; byKey the ones that have a
	// key and are not marked.
	byIndex map[int32]*shmSegment
	byKey   map[int32]*shmSegment
	// seq and lastIdx number IDs as ipc_idr_alloc does.
	seq     uint16
	lastIdx int32
	// tot is the number of pages of all segments (shm_tot).
	tot uint64
	// Limits (kernel.shmmax, shmall, shmmni).
	ctlMax, ctlAll, ctlMNI uint64
	// rmidForced is kernel.shm_rmid_forced: a segment goes when its last
	// attach does, and at its creator's exit, marked or not.
	rmidForced bool

	// limits are the kernel.msg* and kernel.sem sysctls.
	limits *ipcLimits

	// mqueues are the POSIX message queues (mqueue.go).
	mqueues *MQNamespace
}

// shmSegment is one segment (struct shmid_kernel).
type shmSegment struct {
	ns    *IPCNamespace
	index int32
	seq   uint16
	key   int32
	// uid, gid are the owner, cuid and cgid the creator.
	uid, gid, cuid, cgid uint32
	// mode holds the permission bits and shmDest and shmLocked.
	mode uint32
	size uint64
	obj  *mm.SharedMemory
	// atime, dtime and ctime are in seconds since the epoch.
	atime, dtime, ctime int64
	// cpid and lpid are root-namespace process IDs (0: none).
	cpid, lpid int32
	// creator is the thread that created the segment until it exits
	// (Linux's shm_creator), for kernel.shm_rmid_forced.
	creator *Task
	// nattch counts the VMAs mapping the segment; pending the shmat
	// calls between their check and their mapping, which keep a segment
	// marked for removal alive.
	nattch  int64
	pending int
	// gone is set once the segment is destroyed.
	gone bool
}

func (s *shmSegment) id() int32 { return int32(s.seq)<<ipcIDShift | s.index }

// IPC returns the kernel's IPC namespace, the initial one, creating it on
// first use.
func (k *Kernel) IPC() *IPCNamespace {
	k.ipcOnce.Do(func() { k.ipc = newIPCNamespace(k, initialIPCNamespaceID) })
	return k.ipc
}

// newIPCNamespace returns an IPC namespace without objects, with Linux's
// default limits, numbered ino.
func newIPCNamespace(k *Kernel, ino uint64) *IPCNamespace {
	return &IPCNamespace{
		k:       k,
		ino:     ino,
		byIndex: make(map[int32]*shmSegment),
		byKey:   make(map[int32]*shmSegment),
		lastIdx: -1,
		ctlMax:  ShmMax, ctlAll: ShmAll, ctlMNI: ShmMNI,
		limits:  newIPCLimits(),
		sems:    newIPCIDs[*semSet](),
		msgs:    newIPCIDs[*msgQueue](),
		mqueues: newMQNamespace(),
	}
}

// IPCNamespace returns the IPC namespace of the task: its own after
// unshare, clone or setns with CLONE_NEWIPC, else the kernel's.
func (t *Task) IPCNamespace() *IPCNamespace {
	if ns := t.ipc.Load(); ns != nil {
		return ns
	}
	return t.k.IPC()
}

// callerTGID returns the root-namespace process ID of the task whose
// system call the calling goroutine runs, or 0. It takes no lock: the
// attach counting runs under MemoryManager.mu, below Kernel.mu.
func callerTGID() int32 {
	if t := callerTask(); t != nil {
		return t.tg.id
	}
	return 0
}

func nowSeconds() int64 { return time.Now().Unix() }

// ipcPerms implements ipcperms: whether creds may access an object with
// owner uid/gid, creator cuid/cgid and mode for the rwx bits in flag.
func ipcPerms(c *Credentials, uid, gid, cuid, cgid, mode uint32, flag uint32) bool {
	requested := (flag>>6 | flag>>3 | flag) & 7
	granted := mode
	switch {
	case c.EUID == cuid || c.EUID == uid:
		granted >>= 6
	case inGroup(c, cgid) || inGroup(c, gid):
		granted >>= 3
	}
	return requested&^granted&7 == 0 || c.HasCap(CapIPCOwner)
}

// inGroup is in_group_p: the file-system group or a supplementary group.
func inGroup(c *Credentials, gid uint32) bool {
	if c.FSGID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Shmget implements shmget(2).
func (t *Task) Shmget(key int32, size uint64, flag int32) (int32, error) {
	ns := t.IPCNamespace()
	c := &t.creds
	if flag&shmHugeTLB != 0 {
		// No huge pages in the sandbox: hugetlb_file_setup fails.
		return 0, unix.ENOMEM
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if key != IPCPrivate {
		if s := ns.byKey[key]; s != nil {
			if flag&IPCCreat != 0 && flag&IPCExcl != 0 {
				return 0, unix.EEXIST
			}
			if s.size < size {
				return 0, unix.EINVAL
			}
			if !ipcPerms(c, s.uid, s.gid, s.cuid, s.cgid, s.mode, uint32(flag)&0o777) {
				return 0, unix.EACCES
			}
			return s.id(), nil
		}
		if flag&IPCCreat == 0 {
			return 0, unix.ENOENT
		}
	}
	// newseg.
	if size < ShmMin || size > ns.ctlMax {
		return 0, unix.EINVAL
	}
	pages := (size + arch.PageSize - 1) / arch.PageSize
	if pages*arch.PageSize < size {
		return 0, unix.ENOSPC
	}
	if ns.tot+pages < ns.tot || ns.tot+pages > ns.ctlAll {
		return 0, unix.ENOSPC
	}
	if uint64(len(ns.byIndex)) >= min(ns.ctlMNI, ipcIDIndexMax+1) {
		return 0, unix.ENOSPC
	}
	idx := int32(0)
	for ns.byIndex[idx] != nil {
		idx++
	}
	if idx <= ns.lastIdx {
		ns.seq++
		if ns.seq >= 1<<16-1 { // ipcid_seq_max: INT_MAX >> IPCMNI_SHIFT
			ns.seq = 0
		}
	}
	ns.lastIdx = idx
	s := &shmSegment{
		ns:    ns,
		index: idx,
		seq:   ns.seq,
		key:   key,
		uid:   c.EUID, cuid: c.EUID,
		gid: c.EGID, cgid: c.EGID,
		mode:    uint32(flag) & 0o777,
		size:    size,
		obj:     mm.NewSharedMemory(),
		ctime:   nowSeconds(),
		cpid:    t.tg.id,
		creator: t,
	}
	t.createdShm = true
	ns.byIndex[idx] = s
	if key != IPCPrivate {
		ns.byKey[key] = s
	}
	ns.tot += pages
	return s.id(), nil
}

// lookupLocked finds the segment with ID id (shm_obtain_object_check):
// EINVAL when there is none or its sequence number differs.
//
// Preconditions: ns.mu is held.
func (ns *IPCNamespace) lookupLocked(id int32) (*shmSegment, error) {
	if id < 0 {
		return nil, unix.EINVAL
	}
	s := ns.byIndex[id&ipcIDIndexMax]
	if s == nil || int32(s.seq) != id>>ipcIDShift {
		return nil, unix.EINVAL
	}
	return s, nil
}

// destroyLocked removes s (shm_destroy).
//
// Preconditions: ns.mu is held.
func (ns *IPCNamespace) destroyLocked(s *shmSegment) {
	if s.gone {
		return
	}
	s.gone = true
	delete(ns.byIndex, s.index)
	if ns.byKey[s.key] == s {
		delete(ns.byKey, s.key)
	}
	ns.tot -= (s.size + arch.PageSize - 1) / arch.PageSize
	s.obj.DecRef(ns.k.MemFile)
}

// mayDestroyLocked destroys s if it is marked and nothing is attached.
//
// Preconditions: ns.mu is held.
func (ns *IPCNamespace) mayDestroyLocked(s *shmSegment) {
	if s.nattch == 0 && s.pending == 0 && (s.mode&shmDest != 0 || ns.rmidForced) {
		ns.destroyLocked(s)
	}
}

// shmAttachment is the Mappable of one shmat: every VMA of the attach
// holds a reference, each counting as one attach of the segment.
type shmAttachment struct {
	seg *shmSegment
}

var _ mm.ShmAttachment = (*shmAttachment)(nil)
var _ mm.SharedMappable = (*shmAttachment)(nil)

// ReadAt implements mm.Mappable.
func (a *shmAttachment) ReadAt(p []byte, off int64) (int, error) {
	return a.seg.obj.ReadAt(a.seg.ns.k.MemFile, p, off)
}

// Size implements mm.Mappable: pages wholly past the segment's size fault
// with SIGBUS (a segment is attached rounded up to pages, so only an
// mremap'd attach reaches past it).
func (a *shmAttachment) Size() (int64, error) { return int64(a.seg.size), nil }

// SharedMemory implements mm.SharedMappable.
func (a *shmAttachment) SharedMemory() *mm.SharedMemory { return a.seg.obj }

// SegmentSize implements mm.ShmAttachment.
func (a *shmAttachment) SegmentSize() uint64 { return a.seg.size }

// IncRef is a new VMA of the attach (shm_open).
func (a *shmAttachment) IncRef() {
	ns := a.seg.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	a.seg.nattch++
	a.seg.atime = nowSeconds()
	a.seg.lpid = callerTGID()
}

// DecRef is a VMA of the attach going away (shm_close).
func (a *shmAttachment) DecRef() {
	ns := a.seg.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s := a.seg
	s.nattch--
	s.dtime = nowSeconds()
	s.lpid = callerTGID()
	ns.mayDestroyLocked(s)
}

// Shmat implements shmat(2).
func (t *Task) Shmat(id int32, addr uint64, flag int32) (uint64, error) {
	if id < 0 {
		return 0, unix.EINVAL
	}
	if addr != 0 {
		if addr&(shmLBA-1) != 0 {
			if flag&ShmRnd == 0 {
				return 0, unix.EINVAL
			}
			addr &^= shmLBA - 1
			if addr == 0 && flag&ShmRemap != 0 {
				return 0, unix.EINVAL
			}
		}
	} else if flag&ShmRemap != 0 {
		return 0, unix.EINVAL
	}
	perms := platform.Read | platform.Write
	maxPerms := platform.Read | platform.Write | platform.Execute
	acc := uint32(0o444 | 0o222)
	if flag&ShmRdonly != 0 {
		perms, acc = platform.Read, 0o444
		maxPerms = platform.Read | platform.Execute
	}
	if flag&ShmExec != 0 {
		perms |= platform.Execute
		acc |= 0o111
	}
	ns := t.IPCNamespace()
	ns.mu.Lock()
	s, err := ns.lookupLocked(id)
	if err != nil {
		ns.mu.Unlock()
		return 0, err
	}
	if !ipcPerms(&t.creds, s.uid, s.gid, s.cuid, s.cgid, s.mode, acc) {
		ns.mu.Unlock()
		return 0, unix.EACCES
	}
	s.pending++
	size := s.size
	ns.mu.Unlock()
	defer func() {
		ns.mu.Lock()
		s.pending--
		ns.mayDestroyLocked(s)
		ns.mu.Unlock()
	}()

	length, _ := arch.PageRoundUp(size)
	if addr != 0 && flag&ShmRemap == 0 {
		if addr+length < addr || t.mm.Overlaps(addr, length) {
			return 0, unix.EINVAL
		}
	}
	return t.mm.MMap(mm.MMapOpts{
		Length:   length,
		Addr:     addr,
		Fixed:    addr != 0,
		Perms:    perms,
		MaxPerms: maxPerms,
		File:     &shmAttachment{seg: s},
	})
}

// Shmdt implements shmdt(2).
func (t *Task) Shmdt(addr uint64) error {
	return t.mm.DetachShm(addr)
}

// Sizes of the structures shmctl copies.
const (
	sizeofShmidDS  = 112 // struct shmid64_ds
	sizeofShmInfo  = 48  // struct shm_info
	sizeofShminfo  = 72  // struct shminfo64
	sizeofMsginfo  = 32  // struct msginfo
	sizeofMsqidDS  = 120 // struct msqid64_ds
	sizeofSeminfo  = 40  // struct seminfo
	ipcPermSize    = 48  // struct ipc64_perm
	ipcPermModeOff = 20
)

// ShmidDS is struct shmid64_ds.
type ShmidDS struct {
	Key                  int32
	UID, GID, CUID, CGID uint32
	Mode                 uint32
	Seq                  uint16
	Segsz                uint64
	Atime, Dtime, Ctime  int64
	Cpid, Lpid           int32
	Nattch               uint64
}

// Marshal encodes d in the amd64 layout.
func (d *ShmidDS) Marshal() []byte {
	b := make([]byte, sizeofShmidDS)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(d.Key))
	le.PutUint32(b[4:], d.UID)
	le.PutUint32(b[8:], d.GID)
	le.PutUint32(b[12:], d.CUID)
	le.PutUint32(b[16:], d.CGID)
	le.PutUint32(b[20:], d.Mode)
	le.PutUint16(b[24:], d.Seq)
	le.PutUint64(b[48:], d.Segsz)
	le.PutUint64(b[56:], uint64(d.Atime))
	le.PutUint64(b[64:], uint64(d.Dtime))
	le.PutUint64(b[72:], uint64(d.Ctime))
	le.PutUint32(b[80:], uint32(d.Cpid))
	le.PutUint32(b[84:], uint32(d.Lpid))
	le.PutUint64(b[88:], d.Nattch)
	return b
}

// unmarshalShmidDS decodes the fields IPC_SET reads.
func unmarshalShmidDS(b []byte) ShmidDS {
	le := binary.LittleEndian
	return ShmidDS{UID: le.Uint32(b[4:]), GID: le.Uint32(b[8:]), Mode: le.Uint32(b[20:])}
}

// pidOf translates a root-namespace process ID into the task's namespace
// (0 when it is not visible there).
func (t *Task) pidOf(root int32) int32 {
	if root == 0 {
		return 0
	}
	t.k.mu.Lock()
	defer t.k.mu.Unlock()
	return t.pidns.idLocked(root)
}

// maxIdxLocked is ipc_get_maxidx: the highest index in use, 0 when none.
//
// Preconditions: ns.mu is held.
func (ns *IPCNamespace) maxIdxLocked() int32 {
	m := int32(0)
	for i := range ns.byIndex {
		m = max(m, i)
	}
	return m
}

// Shmctl implements shmctl(2). buf is the user buffer address; the
// result is what the system call returns.
func (t *Task) Shmctl(id int32, cmd int32, buf uint64) (uint64, error) {
	if id < 0 || cmd < 0 {
		return 0, unix.EINVAL
	}
	ns := t.IPCNamespace()
	c := &t.creds
	switch cmd {
	case IPCInfo:
		ns.mu.Lock()
		b := make([]byte, sizeofShminfo)
		le := binary.LittleEndian
		le.PutUint64(b[0:], ns.ctlMax)
		le.PutUint64(b[8:], ShmMin)
		le.PutUint64(b[16:], ns.ctlMNI)
		le.PutUint64(b[24:], ns.ctlMNI) // shmseg
		le.PutUint64(b[32:], ns.ctlAll)
		ret := ns.maxIdxLocked()
		ns.mu.Unlock()
		if _, err := t.CopyOut(buf, b); err != nil {
			return 0, unix.EFAULT
		}
		return uint64(ret), nil
	case ShmInfo:
		ns.mu.Lock()
		var rss uint64
		for _, s := range ns.byIndex {
			rss += s.obj.Resident() / arch.PageSize
		}
		b := make([]byte, sizeofShmInfo)
		le := binary.LittleEndian
		le.PutUint32(b[0:], uint32(len(ns.byIndex)))
		le.PutUint64(b[8:], ns.tot)
		le.PutUint64(b[16:], rss)
		ret := ns.maxIdxLocked()
		ns.mu.Unlock()
		if _, err := t.CopyOut(buf, b); err != nil {
			return 0, unix.EFAULT
		}
		return uint64(ret), nil
	case IPCStat, ShmStat, ShmStatAny:
		ns.mu.Lock()
		var s *shmSegment
		var err error
		if cmd == IPCStat {
			s, err = ns.lookupLocked(id)
		} else if s = ns.byIndex[id&ipcIDIndexMax]; s == nil {
			err = unix.EINVAL
		}
		if err != nil {
			ns.mu.Unlock()
			return 0, err
		}
		if cmd != ShmStatAny && !ipcPerms(c, s.uid, s.gid, s.cuid, s.cgid, s.mode, 0o444) {
			ns.mu.Unlock()
			return 0, unix.EACCES
		}
		cpid, lpid := s.cpid, s.lpid
		ds := ShmidDS{
			Key: s.key, UID: s.uid, GID: s.gid, CUID: s.cuid, CGID: s.cgid,
			Mode: s.mode, Seq: s.seq, Segsz: s.size,
			Atime: s.atime, Dtime: s.dtime, Ctime: s.ctime,
			Nattch: uint64(s.nattch),
		}
		sid := s.id()
		ns.mu.Unlock()
		// pidOf takes Kernel.mu: not under ns.mu.
		ds.Cpid, ds.Lpid = t.pidOf(cpid), t.pidOf(lpid)
		// Owner and creator as the caller's user namespace sees them.
		uns := c.UserNamespace()
		ds.UID, ds.CUID = uns.MungedUID(ds.UID), uns.MungedUID(ds.CUID)
		ds.GID, ds.CGID = uns.MungedGID(ds.GID), uns.MungedGID(ds.CGID)
		if _, err := t.CopyOut(buf, ds.Marshal()); err != nil {
			return 0, unix.EFAULT
		}
		if cmd == IPCStat {
			return 0, nil
		}
		return uint64(sid), nil
	case IPCSet, IPCRmid:
		var in ShmidDS
		if cmd == IPCSet {
			b := make([]byte, sizeofShmidDS)
			if _, err := t.CopyIn(buf, b); err != nil {
				return 0, unix.EFAULT
			}
			in = unmarshalShmidDS(b)
			// The new owner, as the caller's user namespace names
			// it; one without a mapping is EINVAL (ipc_update_perm).
			uid, okU := c.UserNamespace().KUID(in.UID)
			gid, okG := c.UserNamespace().KGID(in.GID)
			if !okU || !okG {
				return 0, unix.EINVAL
			}
			in.UID, in.GID = uid, gid
		}
		ns.mu.Lock()
		defer ns.mu.Unlock()
		s, err := ns.lookupLocked(id)
		if err != nil {
			return 0, err
		}
		if c.EUID != s.cuid && c.EUID != s.uid && !c.HasCap(CapSysAdmin) {
			return 0, unix.EPERM
		}
		if cmd == IPCSet {
			s.uid, s.gid = in.UID, in.GID
			s.mode = s.mode&^0o777 | in.Mode&0o777
			s.ctime = nowSeconds()
			return 0, nil
		}
		// do_shm_rmid: destroyed now, or when the last attach goes; the
		// key is free at once.
		if s.nattch > 0 || s.pending > 0 {
			s.mode |= shmDest
			if ns.byKey[s.key] == s {
				delete(ns.byKey, s.key)
			}
			s.key = IPCPrivate
			return 0, nil
		}
		ns.destroyLocked(s)
		return 0, nil
	case ShmLock, ShmUnlock:
		memlock := t.RLimit(unix.RLIMIT_MEMLOCK).Cur // before ns.mu: it takes Kernel.mu
		ns.mu.Lock()
		defer ns.mu.Unlock()
		s, err := ns.lookupLocked(id)
		if err != nil {
			return 0, err
		}
		if !c.HasCap(CapIPCLock) {
			if c.EUID != s.uid && c.EUID != s.cuid {
				return 0, unix.EPERM
			}
			if cmd == ShmLock && memlock == 0 {
				return 0, unix.EPERM
			}
		}
		// Accepted; the sandbox has no swap, so every page is
		// resident anyway.
		if cmd == ShmLock {
			s.mode |= shmLocked
		} else {
			s.mode &^= shmLocked
		}
		return 0, nil
	}
	return 0, unix.EINVAL
}

// ShmSegmentInfo is one segment as /proc/sysvipc/shm lists it.
type ShmSegmentInfo struct {
	ShmidDS
	ID int32
	// Resident is the number of bytes of the segment in memory.
	Resident uint64
}

// ShmSegments lists the segments in index order, process IDs as ns sees
// them.
func (n *IPCNamespace) ShmSegments(pidns *PIDNamespace) []ShmSegmentInfo {
	n.mu.Lock()
	var out []ShmSegmentInfo
	for _, s := range n.byIndex {
		out = append(out, ShmSegmentInfo{
			ID: s.id(),
			ShmidDS: ShmidDS{
				Key: s.key, UID: s.uid, GID: s.gid, CUID: s.cuid, CGID: s.cgid,
				Mode: s.mode, Seq: s.seq, Segsz: s.size,
				Atime: s.atime, Dtime: s.dtime, Ctime: s.ctime,
				Cpid: s.cpid, Lpid: s.lpid, Nattch: uint64(s.nattch),
			},
			Resident: s.obj.Resident(),
		})
	}
	n.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID&ipcIDIndexMax < out[j].ID&ipcIDIndexMax })
	n.k.mu.Lock()
	for i := range out {
		out[i].Cpid = pidns.idLocked(out[i].Cpid)
		out[i].Lpid = pidns.idLocked(out[i].Lpid)
	}
	n.k.mu.Unlock()
	return out
}

// exitShm forgets t as the creator of its segments (Linux's exit_shm).
// With kernel.shm_rmid_forced those with nothing attached go now; the
// others keep their key and go with their last detach (mayDestroyLocked),
// as Linux has done since 5.16 (earlier kernels marked them SHM_DEST).
func (t *Task) exitShm() {
	if !t.createdShm {
		return
	}
	t.createdShm = false
	ns := t.IPCNamespace()
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for _, s := range ns.byIndex {
		if s.creator != t {
			continue
		}
		s.creator = nil
		ns.mayDestroyLocked(s)
	}
}
