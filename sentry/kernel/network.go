package kernel

import (
	"errors"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	"github.com/cocoonrt/cocoon/sentry/socket/nfnetlink"
)

// Network returns the network configuration the sandbox's programs see
// (rtnetlink, the interface ioctls, /proc/net, /sys/class/net): the
// node's for a hostNetwork pod, else that of the sandbox's stack, which
// is made now if it was not.
func (k *Kernel) Network() (netif.Network, error) {
	if k.HostNetwork {
		if k.hostNet == nil {
			return nil, errors.New("kernel: the host network was not attached at boot")
		}
		return k.hostNet, nil
	}
	st, err := k.NetStack()
	if err != nil {
		return nil, err
	}
	k.netViewOnce.Do(func() { k.netView = netif.NewStack(st) })
	return k.netView, nil
}

// HostNet returns the node's network of a hostNetwork pod (nil for
// other sandboxes).
func (k *Kernel) HostNet() *netif.Host {
	if !k.HostNetwork {
		return nil
	}
	return k.hostNet
}

// AttachHostNetwork opens, at boot, what a hostNetwork pod's sandbox
// needs of the node's network namespace, which the sentry runs in: a
// host rtnetlink socket, an ioctl socket and the /proc/net files
// (netif.OpenHost). Call it once, with HostNetwork set, before any
// program runs.
func (k *Kernel) AttachHostNetwork() error {
	h, err := netif.OpenHost()
	if err != nil {
		return err
	}
	k.hostNet = h
	return nil
}

// Netlink returns the sandbox's netlink namespace, made on first use:
// NETLINK_ROUTE on the sandbox's network and NETLINK_SOCK_DIAG on its
// sockets, or NETLINK_ROUTE forwarded to the host's for a hostNetwork
// pod.
func (k *Kernel) Netlink() *netlink.Namespace {
	k.netlinkOnce.Do(func() {
		if h := k.HostNet(); h != nil {
			// The sockets are the host's: no sock_diag.
			k.netlink = netlink.NewNamespace(map[int]netlink.Protocol{unix.NETLINK_ROUTE: netlink.NewHostRoute(h)})
			return
		}
		inet := func() []netif.InetSocket { return k.InetSocketsOf(k.Network()) }
		k.netlink = netlink.NewNamespace(map[int]netlink.Protocol{
			unix.NETLINK_ROUTE:     netlink.NewRoute(k.Network),
			unix.NETLINK_SOCK_DIAG: netlink.NewSockDiag(inet, k.unixSocketsOf(InitialNetNamespace())),
			unix.NETLINK_NETFILTER: nfnetlink.New(func() (*stack.Stack, error) {
				st, err := k.NetStack()
				if err != nil {
					return nil, err
				}
				return st.Stack, nil
			}),
		})
	})
	return k.netlink
}
