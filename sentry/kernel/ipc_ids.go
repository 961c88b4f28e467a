package kernel

// The parts of ipc/util.c that semaphore sets and message queues share:
// the permission header every object has (struct kern_ipc_perm), the
// table that numbers and finds the objects of one kind (struct ipc_ids),
// ipcget's key rules and ipcctl_obtain_check's ownership check.
//
// Shared memory (shm.go) keeps its own table; the numbering is the same:
// an ID is seq<<15 | index, the lowest free index is taken, and the
// sequence number advances whenever an index at or below the last one
// handed out is reused, so a stale ID fails with EINVAL.
//
// An ipcIDs has no lock of its own: the namespace lock of its kind
// (IPCNamespace.semMu, IPCNamespace.msgMu) protects it and its objects.

import (
	"encoding/binary"
	"sort"

	"golang.org/x/sys/unix"
)

// ipcLE is the byte order of the structures the IPC calls copy.
var ipcLE = binary.LittleEndian

// ipcPerm is the permission header of an object (struct kern_ipc_perm).
type ipcPerm struct {
	index int32
	seq   uint16
	key   int32
	// uid and gid are the owner, cuid and cgid the creator.
	uid, gid, cuid, cgid uint32
	// mode holds the permission bits (0777).
	mode uint32
	// removed is set by IPC_RMID: the object is out of the table and
	// everything still holding it must fail with EIDRM
	// (!ipc_valid_object).
	removed bool
}

func (p *ipcPerm) perm() *ipcPerm { return p }

// id is the object's identifier.
func (p *ipcPerm) id() int32 { return int32(p.seq)<<ipcIDShift | p.index }

// allowed is ipcperms: whether c may access the object for the rwx bits
// in flag.
func (p *ipcPerm) allowed(c *Credentials, flag uint32) bool {
	return ipcPerms(c, p.uid, p.gid, p.cuid, p.cgid, p.mode, flag&0o777)
}

// ipcObject is a semaphore set or a message queue.
type ipcObject interface {
	comparable
	perm() *ipcPerm
}

// ipcIDs is the table of one kind of object in a namespace (struct
// ipc_ids).
type ipcIDs[T ipcObject] struct {
	// byIndex holds every live object by index; byKey those with a key.
	byIndex map[int32]T
	byKey   map[int32]T
	// seq and lastIdx number IDs as ipc_idr_alloc does.
	seq     uint16
	lastIdx int32
}

func newIPCIDs[T ipcObject]() ipcIDs[T] {
	return ipcIDs[T]{byIndex: make(map[int32]T), byKey: make(map[int32]T), lastIdx: -1}
}

// lookup finds the object with ID id (ipc_obtain_object_check): EINVAL
// when there is none or its sequence number differs.
func (ids *ipcIDs[T]) lookup(id int32) (T, error) {
	var zero T
	if id < 0 {
		return zero, unix.EINVAL
	}
	o, ok := ids.byIndex[id&ipcIDIndexMax]
	if !ok || int32(o.perm().seq) != id>>ipcIDShift {
		return zero, unix.EINVAL
	}
	return o, nil
}

// lookupIndex finds the object at the index in id, whatever its sequence
// number (ipc_obtain_object_idr, for the *_STAT commands).
func (ids *ipcIDs[T]) lookupIndex(id int32) (T, error) {
	var zero T
	o, ok := ids.byIndex[id&ipcIDIndexMax]
	if id < 0 || !ok {
		return zero, unix.EINVAL
	}
	return o, nil
}

// add gives o an index and a sequence number and enters it (ipc_addid):
// ENOSPC when limit objects exist already.
func (ids *ipcIDs[T]) add(o T, limit int) error {
	if len(ids.byIndex) >= min(limit, ipcIDIndexMax+1) {
		return unix.ENOSPC
	}
	idx := int32(0)
	for {
		if _, used := ids.byIndex[idx]; !used {
			break
		}
		idx++
	}
	if idx <= ids.lastIdx {
		ids.seq++
		if ids.seq >= 1<<16-1 { // ipcid_seq_max: INT_MAX >> IPCMNI_SHIFT
			ids.seq = 0
		}
	}
	ids.lastIdx = idx
	p := o.perm()
	p.index, p.seq = idx, ids.seq
	ids.byIndex[idx] = o
	if p.key != IPCPrivate {
		ids.byKey[p.key] = o
	}
	return nil
}

// remove takes o out of the table and marks it removed (ipc_rmid).
func (ids *ipcIDs[T]) remove(o T) {
	p := o.perm()
	delete(ids.byIndex, p.index)
	if cur, ok := ids.byKey[p.key]; ok && cur == o {
		delete(ids.byKey, p.key)
	}
	p.removed = true
}

// maxIdx is ipc_get_maxidx: the highest index in use, 0 when none.
func (ids *ipcIDs[T]) maxIdx() int32 {
	m := int32(0)
	for i := range ids.byIndex {
		m = max(m, i)
	}
	return m
}

// sorted returns the objects in index order (for /proc/sysvipc).
func (ids *ipcIDs[T]) sorted() []T {
	out := make([]T, 0, len(ids.byIndex))
	for _, o := range ids.byIndex {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].perm().index < out[j].perm().index })
	return out
}

// get implements ipcget: IPC_PRIVATE always makes a new object; a key
// finds its object (EEXIST with IPC_CREAT|IPC_EXCL, then more's check,
// then EACCES without the mode bits flag asks for) or, with IPC_CREAT,
// makes one; without it the key is ENOENT. create makes and adds the
// object.
func (ids *ipcIDs[T]) get(c *Credentials, key, flag int32, more func(T) error, create func() (int32, error)) (int32, error) {
	if key == IPCPrivate {
		return create()
	}
	o, ok := ids.byKey[key]
	if !ok {
		if flag&IPCCreat == 0 {
			return 0, unix.ENOENT
		}
		return create()
	}
	if flag&IPCCreat != 0 && flag&IPCExcl != 0 {
		return 0, unix.EEXIST
	}
	if more != nil {
		if err := more(o); err != nil {
			return 0, err
		}
	}
	if !o.perm().allowed(c, uint32(flag)) {
		return 0, unix.EACCES
	}
	return o.perm().id(), nil
}

// obtainForCtl is ipcctl_obtain_check for IPC_SET and IPC_RMID: the
// object with ID id, which only its owner, its creator or CAP_SYS_ADMIN
// may change (EPERM).
func (ids *ipcIDs[T]) obtainForCtl(c *Credentials, id int32) (T, error) {
	o, err := ids.lookup(id)
	if err != nil {
		return o, err
	}
	p := o.perm()
	if c.EUID != p.cuid && c.EUID != p.uid && !c.HasCap(CapSysAdmin) {
		var zero T
		return zero, unix.EPERM
	}
	return o, nil
}

// newIPCPerm is the header of an object c makes with key and the mode
// bits of flag.
func newIPCPerm(c *Credentials, key, flag int32) ipcPerm {
	return ipcPerm{
		key: key,
		uid: c.EUID, cuid: c.EUID,
		gid: c.EGID, cgid: c.EGID,
		mode: uint32(flag) & 0o777,
	}
}

// IPCPerm64 is the part of struct ipc64_perm that IPC_SET reads and the
// *_STAT commands write.
type IPCPerm64 struct {
	Key                  int32
	UID, GID, CUID, CGID uint32
	Mode                 uint32
	Seq                  uint16
}

// perm64 describes p as the *_STAT commands report it.
func (p *ipcPerm) perm64() IPCPerm64 {
	return IPCPerm64{Key: p.key, UID: p.uid, GID: p.gid, CUID: p.cuid, CGID: p.cgid, Mode: p.mode, Seq: p.seq}
}

// inUserNS returns p with its owner and creator as ns sees them (the
// *_STAT commands: from_kuid_munged).
func (p IPCPerm64) inUserNS(ns *UserNamespace) IPCPerm64 {
	p.UID, p.CUID = ns.MungedUID(p.UID), ns.MungedUID(p.CUID)
	p.GID, p.CGID = ns.MungedGID(p.GID), ns.MungedGID(p.CGID)
	return p
}

// kernelIDs converts IPC_SET's new owner, given as ns sees it, to kernel
// IDs; one ns has no mapping for is EINVAL (ipc_update_perm).
func (p IPCPerm64) kernelIDs(ns *UserNamespace) (IPCPerm64, error) {
	uid, okU := ns.KUID(p.UID)
	gid, okG := ns.KGID(p.GID)
	if !okU || !okG {
		return p, unix.EINVAL
	}
	p.UID, p.GID = uid, gid
	return p, nil
}

// put writes p in the amd64 layout of struct ipc64_perm (48 bytes).
func (p *IPCPerm64) put(b []byte) {
	ipcLE.PutUint32(b[0:], uint32(p.Key))
	ipcLE.PutUint32(b[4:], p.UID)
	ipcLE.PutUint32(b[8:], p.GID)
	ipcLE.PutUint32(b[12:], p.CUID)
	ipcLE.PutUint32(b[16:], p.CGID)
	ipcLE.PutUint32(b[20:], p.Mode)
	ipcLE.PutUint16(b[24:], p.Seq)
}

// getIPC64Perm reads the fields of struct ipc64_perm IPC_SET uses.
func getIPC64Perm(b []byte) IPCPerm64 {
	return IPCPerm64{UID: ipcLE.Uint32(b[4:]), GID: ipcLE.Uint32(b[8:]), Mode: ipcLE.Uint32(b[20:])}
}

// update is ipc_update_perm: IPC_SET's new owner and mode bits. An
// invalid (unmapped) ID is EINVAL; the sandbox's user namespace maps
// every ID but -1.
func (p *ipcPerm) update(in IPCPerm64) error {
	if in.UID == ^uint32(0) || in.GID == ^uint32(0) {
		return unix.EINVAL
	}
	p.uid, p.gid = in.UID, in.GID
	p.mode = p.mode&^0o777 | in.Mode&0o777
	return nil
}
