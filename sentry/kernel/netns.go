package kernel

import (
	"slices"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/socket/nfnetlink"
)

// Network namespaces. The sandbox's own network (the pod's, or a
// hostNetwork pod's view of the node) is the initial namespace, kept in
// the Kernel's fields (netstack.go, network.go). unshare or clone with
// CLONE_NEWNET gives a task a NetNamespace of its own: a separate
// netstack whose only interface is a loopback that is down, with its own
// rtnetlink, so that its sockets reach nothing of the initial namespace's
// and its interfaces are its own. AF_UNIX sockets stay in one stack
// (Kernel.UnixSockets), reachable through the file system from every
// namespace, but each socket's abstract names are its namespace's own.
//
// A NetNamespace lives while tasks are in it or an open /proc/[pid]/ns/net
// file names it (vfs.NamespaceHolder): each holds a reference, and the
// last one to go stops its stack. Sockets that outlive the namespace's
// tasks and files (passed to a process elsewhere) then fail as on an
// interface that went away; Linux would keep the namespace for them.

// NetNamespace is a network namespace other than the initial one.
type NetNamespace struct {
	// ino is the namespace's inode number (/proc/[pid]/ns/net);
	// immutable.
	ino uint64
	// stack, view and netlink are the namespace's TCP/IP stack, its
	// configuration as rtnetlink and the interface ioctls see it, and
	// its netlink sockets; immutable.
	stack   *netstack.Stack
	view    *netif.Stack
	netlink *netlink.Namespace
	// nfnetlink is its NETLINK_NETFILTER, closed with the stack;
	// immutable.
	nfnetlink *nfnetlink.Protocol

	// mu protects users, the number of tasks in the namespace and of
	// open namespace files naming it, and closed, set once the last of
	// them went and the stack stopped.
	mu     sync.Mutex
	users  int
	closed bool
}

// initialNetNamespaceID and initialIPCNamespaceID are the inode numbers
// of Linux's initial network and IPC namespaces.
const (
	initialNetNamespaceID = 0xF0000000
	initialIPCNamespaceID = 0xEFFFFFFF
)

// newNSID returns a fresh namespace inode number.
func newNSID() uint64 {
	nsIDsInit.Do(func() { nextNSID.Store(firstDynamicNSID) })
	return nextNSID.Add(1)
}

// newNetNamespace returns a namespace with a loopback that is down, and
// one user.
func newNetNamespace(k *Kernel) (*NetNamespace, error) {
	st, err := netstack.NewDown()
	if err != nil {
		return nil, err
	}
	n := &NetNamespace{ino: newNSID(), stack: st, view: netif.NewStack(st), users: 1}
	route := netlink.NewRoute(func() (netif.Network, error) { return n.view, nil })
	n.nfnetlink = nfnetlink.New(func() (*stack.Stack, error) { return st.Stack, nil })
	n.netlink = netlink.NewNamespace(map[int]netlink.Protocol{
		unix.NETLINK_ROUTE:     route,
		unix.NETLINK_SOCK_DIAG: netlink.NewSockDiag(func() []netif.InetSocket { return k.InetSocketsOf(n.view, nil) }, k.unixSocketsOf(n)),
		unix.NETLINK_NETFILTER: n.nfnetlink,
	})
	return n, nil
}

// Ino returns the namespace's inode number.
func (n *NetNamespace) Ino() uint64 { return n.ino }

// incUsers adds a task or a namespace file to the namespace; it fails
// once the namespace is gone.
func (n *NetNamespace) incUsers() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.users++
	return true
}

// decUsers drops what incUsers added, stopping the stack with the last
// reference.
func (n *NetNamespace) decUsers() {
	n.mu.Lock()
	n.users--
	last := n.users == 0
	if last {
		n.closed = true
	}
	n.mu.Unlock()
	if last {
		n.nfnetlink.Close()
		n.stack.Close()
	}
}

// HoldNamespace implements vfs.NamespaceHolder: an open namespace file
// keeps the namespace's stack running. The initial namespace (no stack
// of its own here) lives as long as the sandbox.
func (n *NetNamespace) HoldNamespace() bool {
	return n.stack != nil && n.incUsers()
}

// ReleaseNamespace implements vfs.NamespaceHolder.
func (n *NetNamespace) ReleaseNamespace() { n.decUsers() }

// capNetAdmin is CAP_NET_ADMIN.
const capNetAdmin = 12

// NetAdmin implements netif.NetAdminer: the interface ioctls that change
// the network ask for CAP_NET_ADMIN (in the namespace's user namespace,
// the sandbox's only one).
func (t *Task) NetAdmin() bool { return t.creds.HasCap(capNetAdmin) }

// EffectiveUID implements tun.Caller.
func (t *Task) EffectiveUID() uint32 { return t.creds.EUID }

// InEffectiveGroup implements tun.Caller: in_egroup_p.
func (t *Task) InEffectiveGroup(kgid uint32) bool {
	return t.creds.EGID == kgid || slices.Contains(t.creds.Groups, kgid)
}

// KernelUID implements tun.Caller.
func (t *Task) KernelUID(uid uint32) (uint32, bool) { return t.creds.UserNamespace().KUID(uid) }

// KernelGID implements tun.Caller.
func (t *Task) KernelGID(gid uint32) (uint32, bool) { return t.creds.UserNamespace().KGID(gid) }

// LinkChanged implements netif.Announcer: a change an interface ioctl
// made to the task's network is announced to the rtnetlink listeners of
// its namespace.
func (t *Task) LinkChanged(n netif.Network, index int32) { t.Netlink().LinkChanged(n, index) }

// AddressesChanged implements netif.Announcer likewise.
func (t *Task) AddressesChanged(n netif.Network, index int32, before []netif.Address) {
	t.Netlink().AddressesChanged(n, index, before)
}

// NetNamespace returns the task's network namespace, nil for the
// sandbox's initial one.
func (t *Task) NetNamespace() *NetNamespace { return t.netns.Load() }

// HostNetwork reports whether the task's AF_INET and AF_INET6 sockets are
// host sockets: a hostNetwork pod's task in the initial namespace.
func (t *Task) HostNetwork() bool { return t.k.HostNetwork && t.netns.Load() == nil }

// NetStack returns the TCP/IP stack of the task's network namespace.
func (t *Task) NetStack() (*netstack.Stack, error) {
	if n := t.netns.Load(); n != nil {
		return n.stack, nil
	}
	return t.k.NetStack()
}

// Network returns the network configuration of the task's namespace
// (Kernel.Network for the initial one).
func (t *Task) Network() (netif.Network, error) {
	if n := t.netns.Load(); n != nil {
		return n.view, nil
	}
	return t.k.Network()
}

// Netlink returns the netlink namespace of the task's network namespace.
func (t *Task) Netlink() *netlink.Namespace {
	if n := t.netns.Load(); n != nil {
		return n.netlink
	}
	return t.k.Netlink()
}

// setNetNS moves the task to n (nil: the initial namespace), whose
// reference the caller gave it, and drops the old one's.
func (t *Task) setNetNS(n *NetNamespace) {
	if old := t.netns.Swap(n); old != nil {
		old.decUsers()
	}
}

// unshareNet implements unshare(CLONE_NEWNET).
func (t *Task) unshareNet() error {
	n, err := newNetNamespace(t.k)
	if err != nil {
		t.k.Log.Warn("network namespace", "err", err)
		return unix.ENOMEM
	}
	t.setNetNS(n)
	return nil
}

// callerNetNS returns the network namespace of the task whose system call
// runs on the calling thread, nil for the initial one (or no task).
func (k *Kernel) callerNetNS() *NetNamespace {
	k.mu.Lock()
	t := k.callerLocked()
	k.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.netns.Load()
}

// CallerNetNamespace returns the network namespace of the task whose
// system call runs on the calling thread, the InitialNetNamespace object
// for the initial one (or no task): what unix sockets record as theirs
// (unixsock.Socket.Namespace).
func (k *Kernel) CallerNetNamespace() *NetNamespace {
	if n := k.callerNetNS(); n != nil {
		return n
	}
	return InitialNetNamespace()
}

// CallerNetStack is NetStack for the calling task's network namespace.
func (k *Kernel) CallerNetStack() (*netstack.Stack, error) {
	if n := k.callerNetNS(); n != nil {
		return n.stack, nil
	}
	return k.NetStack()
}

// CallerNetlink is Netlink for the calling task's network namespace.
func (k *Kernel) CallerNetlink() *netlink.Namespace {
	if n := k.callerNetNS(); n != nil {
		return n.netlink
	}
	return k.Netlink()
}

// CallerNetwork is Network for the calling task's network namespace
// (/proc/net shows the reader's).
func (k *Kernel) CallerNetwork() (netif.Network, error) {
	if n := k.callerNetNS(); n != nil {
		return n.view, nil
	}
	return k.Network()
}

// CallerHostNet is HostNet for the calling task: nil outside the initial
// network namespace.
func (k *Kernel) CallerHostNet() *netif.Host {
	if k.callerNetNS() != nil {
		return nil
	}
	return k.HostNet()
}

// LogRefusal implements tun.Logger: what a device refuses goes to the
// sandbox's kernel log (rate limited, as Linux's printk_ratelimit) and
// the sentry's debug log.
func (t *Task) LogRefusal(msg string) {
	t.k.LogRatelimited(msg)
	t.k.Log.Debug(msg)
}
