// Package netstack wires gVisor's user-space TCP/IP stack
// (gvisor.dev/gvisor/pkg/tcpip) for one sandbox: the protocols, the
// options that make it behave like a Linux host, and the network
// interfaces. Every sandbox kernel owns one Stack; sentry/socket/inet maps
// Linux socket system calls onto its endpoints.
//
// A Stack starts with a loopback interface (127.0.0.1/8 and ::1) that
// exists only inside the sandbox. AttachHostLinks (link.go) adds the
// pod's interfaces: the links CNI configured in the network namespace
// the sentry runs in, each behind an AF_PACKET fdbased endpoint, taken
// over from the host kernel. The stack keeps NIC 1 for lo and gives the
// others the host's interface indexes.
//
// Lock order: none of this package's own; gVisor's stack locks
// internally and never calls back into the sentry with a lock held,
// except for waiter notifications (see sentry/socket/inet).
package netstack

import (
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/raw"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// Linux's defaults, which applications see through getsockopt and
// /proc/sys/net.
const (
	// DefaultTTL is net.ipv4.ip_default_ttl (and IPv6's hop limit).
	DefaultTTL = 64
	// LoopbackNIC is the loopback interface's index, 1 as on Linux
	// (LOOPBACK_IFINDEX).
	LoopbackNIC tcpip.NICID = 1
	// LoopbackMTU is the loopback interface's MTU on Linux.
	LoopbackMTU = 65536
)

// Stack is one sandbox's TCP/IP stack.
type Stack struct {
	// Stack is the gVisor stack; its methods are safe for concurrent
	// use.
	*stack.Stack

	// mu protects links, the host links the stack took over (link.go),
	// whose packet sockets Close closes.
	mu    sync.Mutex
	links []*Link

	// sysctls are the namespace's net.* sysctls (sysctl.go).
	sysctls netSysctls

	// lo is the loopback's gate (gate.go), set once by addLoopback.
	lo *gate

	// timeWait bounds the connections kept in TIME-WAIT (timewait.go).
	timeWait timeWaitLimit

	// reserved keeps ephemeral picks off net.ipv4.ip_local_reserved_ports
	// (reservedports.go).
	reserved reservedPorts

	// netfilter is the state of the packet filter's socket interface
	// (sentry/socket/netfilter), made by the first Netfilter call.
	netfilterOnce sync.Once
	netfilter     any

	// tunDevices are the TUN and TAP interfaces (tundevices.go).
	tunDevices tunDevices

	// linkUp are told when an interface comes up (linkup.go).
	linkUp linkUpWatchers
}

// Netfilter returns the state of the stack's packet filter interface,
// which make creates on the first call.
func (s *Stack) Netfilter(make func(*stack.Stack) any) any {
	s.netfilterOnce.Do(func() { s.netfilter = make(s.Stack) })
	return s.netfilter
}

// Close stops the stack and closes the packet sockets of its links once
// the stack no longer uses them.
func (s *Stack) Close() {
	s.Stack.Close()
	s.Stack.Wait()
	s.mu.Lock()
	links := s.links
	s.links = nil
	s.mu.Unlock()
	for _, l := range links {
		if l.fd >= 0 {
			unix.Close(l.fd)
			l.fd = -1
		}
	}
}

// NICByName returns the NIC of interface name, or false.
func (s *Stack) NICByName(name string) (tcpip.NICID, bool) {
	for id, ni := range s.NICInfo() {
		if ni.Name == name {
			return id, true
		}
	}
	return 0, false
}

// Links returns the host links the stack took over.
func (s *Stack) Links() []*Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.links)
}

// New returns a stack with IPv4, IPv6 (with ARP for Ethernet links),
// TCP, UDP and ICMP, and the loopback interface.
func New() (*Stack, error) {
	// Packets to the stack's own addresses loop back inside it,
	// whichever interface holds the address, as Linux routes them
	// through lo.
	s := &Stack{Stack: stack.New(options(true))}
	if err := s.configure(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.initSysctls(true); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.addLoopback(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// options are the stack options of a sandbox's stacks; handleLocal is
// stack.Options.HandleLocal.
func options(handleLocal bool) stack.Options {
	return stack.Options{
		Clock:              coarseClock{tcpip.NewStdClock()},
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		HandleLocal:        handleLocal,
		// Raw sockets (ping's and iptables' SOCK_RAW, for callers
		// with CAP_NET_RAW).
		RawFactory: raw.EndpointFactory{},
	}
}

// configure sets the protocol options that differ from gVisor's defaults
// and no sysctl controls (initSysctls sets the others: SACK, the buffer
// sizes, the port range...). Window scaling and timestamps are always on
// in gVisor's TCP.
func (s *Stack) configure() error {
	// Nagle's algorithm is on by default on Linux (TCP_NODELAY 0).
	delay := tcpip.TCPDelayEnabled(true)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	for _, opt := range []tcpip.SettableTransportProtocolOption{&delay, &moderate} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			return fmt.Errorf("netstack: TCP option %T: %s", opt, err)
		}
	}
	ttl := tcpip.DefaultTTLOption(DefaultTTL)
	for _, p := range []tcpip.NetworkProtocolNumber{ipv4.ProtocolNumber, ipv6.ProtocolNumber} {
		if err := s.SetNetworkProtocolOption(p, &ttl); err != nil {
			return fmt.Errorf("netstack: default TTL of protocol %d: %s", p, err)
		}
	}
	return nil
}

// LoopbackAddresses returns the addresses Linux gives lo when it comes
// up: 127.0.0.1/8 and ::1/128.
func LoopbackAddresses() []tcpip.ProtocolAddress {
	return []tcpip.ProtocolAddress{
		{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8}},
		{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16([16]byte{15: 1}), PrefixLen: 128}},
	}
}

// addLoopback creates "lo" with 127.0.0.1/8 and ::1/128 and routes to
// both. Between lo's Ethernet framing and the loopback endpoint sits a
// gate that drops packets while lo is down (gate.go).
func (s *Stack) addLoopback() error {
	if id := s.NextNICID(); id != LoopbackNIC {
		return fmt.Errorf("netstack: loopback would get NIC %d, not %d", id, LoopbackNIC)
	}
	// lo carries Ethernet framing, as Linux's does; the wrapper takes
	// its header off the inner endpoint's MTU, so the inner one is
	// larger by that much and lo's is Linux's 65536.
	inner := loopback.New()
	inner.SetMTU(LoopbackMTU + header.EthernetMinimumSize)
	s.lo = newGate(inner)
	ep := ethernet.New(s.lo)
	if err := s.CreateNICWithOptions(LoopbackNIC, ep, stack.NICOptions{Name: "lo"}); err != nil {
		return fmt.Errorf("netstack: creating lo: %s", err)
	}
	for _, a := range LoopbackAddresses() {
		if err := s.AddProtocolAddress(LoopbackNIC, a, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("netstack: adding %s to lo: %s", a.AddressWithPrefix, err)
		}
		s.AddRoute(tcpip.Route{Destination: a.AddressWithPrefix.Subnet(), NIC: LoopbackNIC})
	}
	return nil
}
