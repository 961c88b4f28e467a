package inet

import (
	"sync"
	"sync/atomic"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// IP_BIND_ADDRESS_NO_PORT: a bind to an address with port 0 takes the
// address only, and the port is picked when the socket connects (or
// listens, or sends). A proxy that binds each upstream connection to a
// source address sets it (Envoy does for upstream_bind_config, and
// Istio's sidecars bind inbound connections to 127.0.0.6), and treats its
// failure as the connection's.
//
// gVisor binds address and port together, so the socket keeps the
// address and makes that bind itself at the first operation that needs
// a port. The port is then picked as by a plain bind to port 0: it is
// the socket's alone, where Linux lets connections to different peers
// share it, so a source address runs out of ports as it would without
// the option.

// deferredBind is a socket's IP_BIND_ADDRESS_NO_PORT state.
type deferredBind struct {
	// mu protects on, addr and have.
	mu sync.Mutex
	// on is the option.
	on bool
	// addr is the address a bind took without a port, while have.
	addr tcpip.FullAddress
	have bool
	// pending mirrors have for the connect and send paths, which then
	// skip mu.
	pending atomic.Bool
}

// setBindNoPort sets IP_BIND_ADDRESS_NO_PORT.
func (s *Socket) setBindNoPort(on bool) {
	s.noPort.mu.Lock()
	s.noPort.on = on
	s.noPort.mu.Unlock()
}

// bindNoPort reads IP_BIND_ADDRESS_NO_PORT.
func (s *Socket) bindNoPort() bool {
	s.noPort.mu.Lock()
	defer s.noPort.mu.Unlock()
	return s.noPort.on
}

// deferBind takes a bind to a with port 0 under the option: the address
// must be the sandbox's (EADDRNOTAVAIL, as inet_bind checks), and the
// socket unbound (EINVAL). It reports whether it took the bind.
func (s *Socket) deferBind(a tcpip.FullAddress) (bool, error) {
	if _, ok := s.portTransport(); !ok || a.Port != 0 {
		return false, nil
	}
	s.noPort.mu.Lock()
	defer s.noPort.mu.Unlock()
	if !s.noPort.on {
		return false, nil
	}
	if local, terr := s.ep.GetLocalAddress(); terr == nil && local.Port != 0 {
		return true, linux.EINVAL
	}
	if a.Addr.Len() != 0 && !a.Addr.Unspecified() {
		addr, proto := a.Addr, header.IPv6ProtocolNumber
		if addr.Len() == 4 {
			proto = header.IPv4ProtocolNumber
		} else if isV4Mapped(addr) {
			b := addr.As16()
			addr, proto = tcpip.AddrFrom4([4]byte(b[12:])), header.IPv4ProtocolNumber
		}
		if s.stack.CheckLocalAddress(a.NIC, proto, addr) == 0 {
			return true, linux.EADDRNOTAVAIL
		}
	}
	s.noPort.addr, s.noPort.have = a, true
	s.noPort.pending.Store(true)
	return true, nil
}

// bindDeferred makes the bind a deferred one waits for, before an
// operation that needs the socket's port.
func (s *Socket) bindDeferred() error {
	if !s.noPort.pending.Load() {
		return nil
	}
	s.noPort.mu.Lock()
	defer s.noPort.mu.Unlock()
	if !s.noPort.have {
		return nil
	}
	s.stack.RestoreReservedPorts()
	terr := s.ep.Bind(s.noPort.addr)
	if terr != nil {
		if _, ok := terr.(*tcpip.ErrNoPortAvailable); ok {
			return linux.EADDRNOTAVAIL
		}
		return errno(terr)
	}
	s.noPort.have = false
	s.noPort.pending.Store(false)
	return nil
}

// deferredName returns the address a deferred bind keeps, for
// getsockname.
func (s *Socket) deferredName() (tcpip.FullAddress, bool) {
	if !s.noPort.pending.Load() {
		return tcpip.FullAddress{}, false
	}
	s.noPort.mu.Lock()
	defer s.noPort.mu.Unlock()
	return s.noPort.addr, s.noPort.have
}
