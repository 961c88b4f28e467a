package kernel

import "github.com/cocoonrt/cocoon/netstack"

// NetStack returns the sandbox's TCP/IP stack. It is made at the first
// AF_INET or AF_INET6 socket rather than at boot, so that sandboxes that
// never use the network do not pay for netstack's goroutines and timers.
// Every container of the pod shares it, as they share a network
// namespace.
func (k *Kernel) NetStack() (*netstack.Stack, error) {
	k.netOnce.Do(func() { k.net, k.netErr = netstack.New() })
	return k.net, k.netErr
}
