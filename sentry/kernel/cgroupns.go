package kernel

// Cgroup namespaces.
//
// A cgroup namespace virtualizes the paths of cgroups: its root is the
// cgroup its creator was in, and /proc/[pid]/cgroup and the roots of
// cgroup mounts in mountinfo are shown relative to the reader's
// namespace root. The sandbox is one cgroup (v2), the root of its own
// hierarchy, that every process is in (/proc/[pid]/cgroup reads "0::/"),
// so every namespace is rooted there and shows the same paths: what a
// cgroup namespace changes here is its identity, which
// /proc/[pid]/ns/cgroup names and setns(2) joins. Were the sandbox to
// have cgroups below its root, a namespace would record its creator's
// cgroup as its root and /proc would show paths relative to it.

// InitialCgroupNamespaceID is the inode number of Linux's initial cgroup
// namespace (PROC_CGROUP_INIT_INO), the sandbox's initial one.
const InitialCgroupNamespaceID = 0xEFFFFFFB

// CgroupNamespace is a cgroup namespace. It lives as long as anything
// points at it.
type CgroupNamespace struct {
	// ino is the namespace's inode number; immutable.
	ino uint64
	// userns is the user namespace that owns it, its creator's;
	// immutable.
	userns *UserNamespace
}

// initialCgroupNS is the namespace every task starts in.
var initialCgroupNS = &CgroupNamespace{ino: InitialCgroupNamespaceID, userns: initialUserNS}

func newCgroupNamespace(owner *UserNamespace) *CgroupNamespace {
	return &CgroupNamespace{ino: newNSID(), userns: owner}
}

// UserNamespace returns the user namespace that owns the namespace.
func (n *CgroupNamespace) UserNamespace() *UserNamespace { return n.userns }

// Ino returns the namespace's inode number.
func (n *CgroupNamespace) Ino() uint64 { return n.ino }

// CgroupNamespace returns the task's cgroup namespace.
func (t *Task) CgroupNamespace() *CgroupNamespace { return t.nsSet().cgroup }
