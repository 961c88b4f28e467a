package kernel

import "github.com/cocoonrt/cocoon/netstack"

// NetStack returns the sandbox's TCP/IP stack. A pod with a network of
// its own gets it at boot (AttachPodNetwork), so that connections to the
// pod's IP are answered before any program opens a socket; otherwise it
// is made at the first AF_INET or AF_INET6 socket, so that sandboxes
// that never use the network do not pay for netstack's goroutines and
// timers. Every container of the pod shares it, as they share a network
// namespace.
func (k *Kernel) NetStack() (*netstack.Stack, error) {
	k.netOnce.Do(func() { k.net, k.netErr = netstack.New() })
	return k.net, k.netErr
}

// AttachPodNetwork makes the stack now and gives it the interfaces of
// the pod's network namespace: links, when the daemon prepared them
// (netstack.PrepareHostLinks, whose packet sockets this process holds),
// or else the links of the namespace the sentry runs in, which it takes
// over itself (netstack.AttachHostLinks, which needs privileges over the
// namespace that a confined sentry lacks). Call it once, at boot, before
// any program runs. A namespace with no interface up but lo leaves the
// sandbox with its loopback alone.
func (k *Kernel) AttachPodNetwork(links []netstack.HostLink) ([]*netstack.Link, error) {
	s, err := k.NetStack()
	if err != nil {
		return nil, err
	}
	if links != nil {
		return s.AttachLinks(links, netstack.LinkOptions{})
	}
	return s.AttachHostLinks(netstack.LinkOptions{})
}
