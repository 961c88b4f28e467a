package netstack

import (
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/nested"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// gate is a link endpoint that passes packets to and from its child
// while open and drops them while closed. It is how lo goes down once it
// has been up: Linux keeps lo's IPv4 addresses and local routes then, so
// a socket still finds its route to 127.0.0.1 and sends, and the device,
// not up, drops the packet (a connect waits in SYN retries, a datagram
// send succeeds). Disabling the NIC instead would drop its routes'
// usability and fail such sends with ENETUNREACH.
type gate struct {
	nested.Endpoint

	// closed is whether packets are dropped; atomic, as the stack's
	// goroutines write and deliver without any lock of ours.
	closed atomic.Bool

	// dropped counts the packets dropped while closed, either way.
	dropped atomic.Uint64
}

var _ stack.LinkEndpoint = (*gate)(nil)
var _ stack.NetworkDispatcher = (*gate)(nil)

func newGate(child stack.LinkEndpoint) *gate {
	g := &gate{}
	g.Endpoint.Init(child, g)
	return g
}

// WritePackets implements stack.LinkEndpoint. The caller keeps the
// packets' references, dropped or not.
func (g *gate) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	if g.closed.Load() {
		g.dropped.Add(uint64(pkts.Len()))
		return pkts.Len(), nil
	}
	return g.Endpoint.WritePackets(pkts)
}

// DeliverNetworkPacket implements stack.NetworkDispatcher.
func (g *gate) DeliverNetworkPacket(protocol tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	if g.closed.Load() {
		g.dropped.Add(1)
		return
	}
	g.Endpoint.DeliverNetworkPacket(protocol, pkt)
}

// DeliverLinkPacket implements stack.NetworkDispatcher.
func (g *gate) DeliverLinkPacket(protocol tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	if g.closed.Load() {
		return
	}
	g.Endpoint.DeliverLinkPacket(protocol, pkt)
}

// SetLoopbackDown closes (down) or opens lo's gate; see gate. The NIC
// stays enabled either way: the caller disables it only for a lo that
// has never been up, and updates addresses and routes as Linux does.
func (s *Stack) SetLoopbackDown(down bool) {
	if s.lo != nil {
		s.lo.closed.Store(down)
	}
}

// LoopbackDown reports whether lo's gate is closed: lo is down though
// its NIC is enabled.
func (s *Stack) LoopbackDown() bool {
	return s.lo != nil && s.lo.closed.Load()
}
