package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// User namespaces (Linux's kernel/user_namespace.c and the ns_capable
// rules of security/commoncap.c).
//
// Credentials hold kernel IDs: the user and group IDs of the sandbox's
// initial user namespace, whose maps are the identity. A user namespace
// maps the IDs its processes see onto kernel IDs through its uid_map and
// gid_map, each written once (/proc/PID/uid_map); every ID a system call
// takes is translated into a kernel ID through the caller's namespace
// (EINVAL when it has no mapping) and every ID it returns is translated
// back (the overflow ID 65534 when it has none), so the checks that
// compare IDs compare kernel IDs, as Linux's kuid_t comparisons do.
//
// Capabilities are relative to a namespace: the creator of a namespace
// holds every capability in it, and a capability held in a namespace
// grants power over that namespace and the namespaces below it only
// (Credentials.HasCapIn). Credentials.HasCap asks for a capability in
// the initial namespace: what the sandbox protects that is not owned by
// a user namespace (its file systems, devices, the network stack, other
// users' processes) stays out of reach of a process whose only
// privilege comes from a namespace of its own.

// InitialUserNamespaceID is the inode number of Linux's initial user
// namespace (PROC_USER_INIT_INO), the sandbox's initial one.
const InitialUserNamespaceID = 0xEFFFFFFD

// OverflowID is the user and group ID that an ID without a mapping in
// the reader's namespace reads as (Linux's default overflowuid and
// overflowgid).
const OverflowID = 65534

const (
	// maxUserNSLevel is the deepest nesting Linux allows: a namespace
	// is created only below one of level 32 or less.
	maxUserNSLevel = 32
	// maxIDMapExtents is UID_GID_MAP_MAX_EXTENTS, the most lines a map
	// may have.
	maxIDMapExtents = 340
	// DefaultMaxUserNamespaces is the initial value of
	// /proc/sys/user/max_user_namespaces. Linux's default is half its
	// thread limit, which depends on the host's memory; the sandbox
	// takes half of its own thread-ID space (PIDMax).
	DefaultMaxUserNamespaces = PIDMax / 2
)

// IDExtent is one line of a uid_map or gid_map: Count IDs from First in
// the namespace are the kernel IDs from Lower.
type IDExtent struct {
	First, Lower, Count uint32
}

// UserNamespace is a user namespace. It lives as long as anything points
// at it: credentials, a child namespace, an open /proc/PID/ns/user.
type UserNamespace struct {
	// parent is the namespace it was created in, nil for the initial
	// one; level is its depth (0 for the initial one); immutable.
	parent *UserNamespace
	level  int
	// owner and group are the creator's effective kernel user and
	// group IDs; immutable.
	owner, group uint32
	// ino is the namespace's inode number; immutable.
	ino uint64

	// mu serializes the writes of the maps and of setgroups
	// (userns_state_mutex): each map is written once, and setgroups
	// "deny" only while gid_map is unset.
	mu sync.Mutex
	// uidMap and gidMap are the maps, nil until written; a written map
	// is never changed, so readers load it without mu.
	uidMap, gidMap atomic.Pointer[[]IDExtent]
	// setgroupsDenied is set by writing "deny" to setgroups (or
	// inherited from the parent at creation); written under mu.
	setgroupsDenied atomic.Bool
}

// identityMap is the initial namespace's map for both kinds: every ID
// but (uid_t)-1, which is never a valid ID.
var identityMap = []IDExtent{{First: 0, Lower: 0, Count: ^uint32(0)}}

// initialUserNS is the namespace the sandbox's processes start in.
var initialUserNS = func() *UserNamespace {
	ns := &UserNamespace{ino: InitialUserNamespaceID}
	ns.uidMap.Store(&identityMap)
	ns.gidMap.Store(&identityMap)
	return ns
}()

// InitialUserNamespace returns the sandbox's initial user namespace.
func InitialUserNamespace() *UserNamespace { return initialUserNS }

var (
	// userNamespaces counts the live namespaces below the initial one,
	// which maxUserNamespaces bounds (Linux's UCOUNT_USER_NAMESPACES of
	// the initial namespace).
	userNamespaces    atomic.Int64
	maxUserNamespaces atomic.Int64
)

func init() { maxUserNamespaces.Store(DefaultMaxUserNamespaces) }

// MaxUserNamespaces returns /proc/sys/user/max_user_namespaces.
func MaxUserNamespaces() int64 { return maxUserNamespaces.Load() }

// SetMaxUserNamespaces sets /proc/sys/user/max_user_namespaces for the
// calling task: a value in [0, INT_MAX] (EINVAL otherwise), by a task
// with CAP_SYS_RESOURCE in the initial namespace (EPERM), as the
// sysctl's permissions allow there.
func SetMaxUserNamespaces(v int64) error {
	t := callerTask()
	if t == nil || !t.creds.HasCap(CapSysResource) {
		return unix.EPERM
	}
	if v < 0 || v > 1<<31-1 {
		return unix.EINVAL
	}
	maxUserNamespaces.Store(v)
	return nil
}

// Ino returns the namespace's inode number.
func (ns *UserNamespace) Ino() uint64 { return ns.ino }

// Parent returns the namespace's parent, nil for the initial one.
func (ns *UserNamespace) Parent() *UserNamespace { return ns.parent }

// Owner returns the kernel user ID of the namespace's creator.
func (ns *UserNamespace) Owner() uint32 { return ns.owner }

// isAncestorOf reports whether ns is other or one of its ancestors.
func (ns *UserNamespace) isAncestorOf(other *UserNamespace) bool {
	for o := other; o != nil; o = o.parent {
		if o == ns {
			return true
		}
	}
	return false
}

// mapping returns the uid (gid false) or gid map, nil while unset.
func (ns *UserNamespace) mapping(gid bool) []IDExtent {
	p := ns.uidMap.Load()
	if gid {
		p = ns.gidMap.Load()
	}
	if p == nil {
		return nil
	}
	return *p
}

// toKernel maps the IDs [id, id+count) of the namespace onto kernel IDs:
// the first of them, and false when they are not all in one extent
// (map_id_range_down).
func toKernel(m []IDExtent, id, count uint32) (uint32, bool) {
	last := id + count - 1
	for _, e := range m {
		if id >= e.First && last >= e.First && id-e.First < e.Count && last-e.First < e.Count {
			return e.Lower + (id - e.First), true
		}
	}
	return 0, false
}

// fromKernel maps a kernel ID into the namespace (map_id_up).
func fromKernel(m []IDExtent, kid uint32) (uint32, bool) {
	for _, e := range m {
		if kid >= e.Lower && kid-e.Lower < e.Count {
			return e.First + (kid - e.Lower), true
		}
	}
	return 0, false
}

// KUID returns the kernel ID of uid in the namespace; false when it has
// none (make_kuid).
func (ns *UserNamespace) KUID(uid uint32) (uint32, bool) { return toKernel(ns.mapping(false), uid, 1) }

// KGID is KUID for group IDs.
func (ns *UserNamespace) KGID(gid uint32) (uint32, bool) { return toKernel(ns.mapping(true), gid, 1) }

// UID returns the namespace's ID for kernel user ID kuid; false when it
// has none (from_kuid).
func (ns *UserNamespace) UID(kuid uint32) (uint32, bool) { return fromKernel(ns.mapping(false), kuid) }

// GID is UID for group IDs.
func (ns *UserNamespace) GID(kgid uint32) (uint32, bool) { return fromKernel(ns.mapping(true), kgid) }

// MungedUID returns the namespace's ID for kuid, OverflowID when it has
// none (from_kuid_munged).
func (ns *UserNamespace) MungedUID(kuid uint32) uint32 {
	if id, ok := ns.UID(kuid); ok {
		return id
	}
	return OverflowID
}

// MungedGID is MungedUID for group IDs.
func (ns *UserNamespace) MungedGID(kgid uint32) uint32 {
	if id, ok := ns.GID(kgid); ok {
		return id
	}
	return OverflowID
}

// HasUIDMapping reports whether kernel user ID kuid has an ID in the
// namespace (kuid_has_mapping).
func (ns *UserNamespace) HasUIDMapping(kuid uint32) bool {
	_, ok := ns.UID(kuid)
	return ok
}

// HasGIDMapping is HasUIDMapping for group IDs.
func (ns *UserNamespace) HasGIDMapping(kgid uint32) bool {
	_, ok := ns.GID(kgid)
	return ok
}

// IsRoot reports whether kernel user ID kuid is the namespace's user 0,
// the user that counts as root for the capability rules of setuid and
// execve.
func (ns *UserNamespace) IsRoot(kuid uint32) bool {
	r, ok := ns.KUID(0)
	return ok && r == kuid
}

// CallerUserNamespace returns the user namespace of the task whose system
// call runs on the calling thread (the reader of a /proc file), the
// initial one when there is none.
func (k *Kernel) CallerUserNamespace() *UserNamespace {
	if c, ok := k.callerCreds(); ok {
		return c.UserNamespace()
	}
	return initialUserNS
}

// SetgroupsAllowed reports whether /proc/PID/setgroups reads "allow".
func (ns *UserNamespace) SetgroupsAllowed() bool { return !ns.setgroupsDenied.Load() }

// maySetgroups reports whether setgroups(2) may run in the namespace
// (userns_may_setgroups): its gid_map is written and setgroups is not
// denied.
func (ns *UserNamespace) maySetgroups() bool {
	return ns.gidMap.Load() != nil && !ns.setgroupsDenied.Load()
}

// UserNamespace returns the namespace of the credentials.
func (c *Credentials) UserNamespace() *UserNamespace {
	if c.UserNS == nil {
		return initialUserNS
	}
	return c.UserNS
}

// HasCapIn reports whether the credentials hold capability cap in ns
// (Linux's cap_capable): cap is effective and ns is the credentials'
// namespace or one below it, or ns is below a namespace whose creator
// has the credentials' effective user ID and whose parent is the
// credentials' namespace (a namespace's owner holds every capability in
// it from the parent).
func (c *Credentials) HasCapIn(ns *UserNamespace, cap int) bool {
	own := c.UserNamespace()
	if ns == nil {
		ns = initialUserNS
	}
	for {
		if ns == own {
			return c.Caps.Effective&(1<<uint(cap)) != 0
		}
		if ns.level <= own.level {
			return false
		}
		if ns.parent == own && ns.owner == c.EUID {
			return true
		}
		ns = ns.parent
	}
}

// HasCap reports whether the credentials hold capability cap in the
// initial user namespace (capable(cap)).
func (c *Credentials) HasCap(cap int) bool { return c.HasCapIn(initialUserNS, cap) }

// HasOwnCap reports whether the credentials hold capability cap in their
// own namespace (ns_capable(current_user_ns(), cap)).
func (c *Credentials) HasOwnCap(cap int) bool { return c.HasCapIn(c.UserNamespace(), cap) }

// newUserNamespace returns a namespace below the credentials' one whose
// owner is their effective IDs, and counts it (create_user_ns): ENOSPC
// past the nesting or count limit, EPERM for a chrooted caller (whose
// root would not bound what the new namespace's root can reach) or one
// whose effective IDs have no mapping in its namespace.
func (t *Task) newUserNamespace() (*UserNamespace, error) {
	c := &t.creds
	parent := c.UserNamespace()
	if parent.level > maxUserNSLevel {
		return nil, unix.ENOSPC
	}
	if r := t.fs.Root(); r != nil && r != t.SandboxRoot() {
		return nil, unix.EPERM
	}
	if _, ok := parent.UID(c.EUID); !ok {
		return nil, unix.EPERM
	}
	if _, ok := parent.GID(c.EGID); !ok {
		return nil, unix.EPERM
	}
	for {
		n := userNamespaces.Load()
		if n >= maxUserNamespaces.Load() {
			return nil, unix.ENOSPC
		}
		if userNamespaces.CompareAndSwap(n, n+1) {
			break
		}
	}
	ns := &UserNamespace{parent: parent, level: parent.level + 1, owner: c.EUID, group: c.EGID, ino: newNSID()}
	ns.setgroupsDenied.Store(parent.setgroupsDenied.Load())
	runtime.AddCleanup(ns, func(struct{}) { userNamespaces.Add(-1) }, struct{}{})
	return ns, nil
}

// inUserNamespace returns the credentials c with ns as their namespace,
// as a process entering it gets them (set_cred_user_ns): every
// capability in it, no inheritable or ambient ones. The IDs stay.
func inUserNamespace(c Credentials, ns *UserNamespace) Credentials {
	c.UserNS = ns
	c.Caps = Capabilities{Effective: AllCaps, Permitted: AllCaps, Bounding: AllCaps}
	return c
}

// namespaceOwner returns the user namespace that owns namespace object
// ns: the one its creator was in. Kinds that do not record it are owned
// by the initial namespace, so that only a capability there grants power
// over them.
func namespaceOwner(ns any) *UserNamespace {
	switch ns := ns.(type) {
	case *UserNamespace:
		return ns.parent
	case interface{ UserNamespace() *UserNamespace }:
		if o := ns.UserNamespace(); o != nil {
			return o
		}
	}
	return initialUserNS
}
