package netstack

// net.ipv4.ip_local_reserved_ports: ports the stack never picks as
// ephemeral ports (for bind to port 0, listen or connect of an unbound
// socket, an unbound UDP socket's send), which a program may still bind
// by number: Kubernetes counts it among the safe sysctls, so that a pod's
// servers find their ports free. gVisor's port manager picks from one
// range and has no set of ports to skip, so the stack does two things:
//
//   - it gives gVisor the ephemeral range trimmed of the reserved ports
//     at both ends;
//   - for each reserved port left inside that range, TCP and UDP, it
//     holds a placeholder reservation: an exclusive one of no address and
//     no peer, which every pick finds taken (a socket with SO_REUSEPORT
//     connecting is the exception: gVisor lets it share a port with any
//     reservation of no peer).
//
// A placeholder would also refuse the program's own bind to the port, so
// a bind by number takes it down first (BindPort, which holds mu across
// the bind) and it is lent until the stack can take it again: before
// every operation that may pick a port, RestoreReservedPorts retries the
// lent ones, so a port the program let go is held again before anything
// picks. While the program's socket has it, the socket's own reservation
// keeps picks off it.
//
// Each placeholder costs gVisor's maps about 3 KiB of the pod's memory,
// so at most maxPlaceholderPorts ports get one. A set with more reserved
// ports inside the range makes the stack pick from the longest run of
// free ports alone (EphemeralNarrowed), which keeps the promise at the
// price of fewer ports to pick from.

import (
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/ports"
)

// maxPlaceholderPorts bounds the reserved ports inside the picking range
// that get placeholders (two each: TCP and UDP).
const maxPlaceholderPorts = 256

// placeholderTransports are the protocols whose picks skip reserved
// ports, as Linux's TCP and UDP do.
var placeholderTransports = []tcpip.TransportProtocolNumber{header.TCPProtocolNumber, header.UDPProtocolNumber}

// placeholderNetworks is every placeholder's Networks: both families, so
// that it blocks IPv4, IPv6 and dual-stack sockets alike. Read-only.
var placeholderNetworks = []tcpip.NetworkProtocolNumber{header.IPv4ProtocolNumber, header.IPv6ProtocolNumber}

// placeholderKey names a placeholder.
type placeholderKey struct {
	transport tcpip.TransportProtocolNumber
	port      uint16
}

func (k placeholderKey) reservation() ports.Reservation {
	return ports.Reservation{Networks: placeholderNetworks, Transport: k.transport, Port: k.port}
}

// reservedPorts is a stack's state for ip_local_reserved_ports.
type reservedPorts struct {
	// mu protects held, lent and narrowed, and is held across a bind
	// that takes a placeholder down. Lock order: netSysctls.mu, then
	// mu, then gVisor's locks.
	mu sync.Mutex
	// held are the placeholders the port manager holds.
	held map[placeholderKey]struct{}
	// lent are the placeholders that should be held and are not: a
	// bind took them down, or the port was taken when they were made.
	lent map[placeholderKey]struct{}
	// narrowed is the range picks come from when it is shorter than the
	// ephemeral range trimmed of reserved ports at both ends.
	narrowed     [2]uint16
	haveNarrowed bool

	// nHeld and nLent are len(held) and len(lent), for the paths that
	// skip mu when there is nothing to do.
	nHeld, nLent atomic.Int32
}

// ephemeralPlan works out how the stack honours the reserved set (pairs
// of inclusive bounds, sorted and disjoint) within the ephemeral range
// [lo, hi]: gVisor picks from [first, last], and holes are the reserved
// ports inside it that need a placeholder. narrowed is set when too many
// such ports made the plan fall back to the longest free run. A range
// with no free port is [lo, lo] with a placeholder on lo, so that every
// pick fails.
func ephemeralPlan(lo, hi int, reserved []int64, budget int) (first, last int, holes []int, narrowed bool) {
	// The free runs of [lo, hi], in order.
	var runs [][2]int
	next := lo
	for i := 0; i+1 < len(reserved) && next <= hi; i += 2 {
		rlo, rhi := int(reserved[i]), int(reserved[i+1])
		if rhi < next {
			continue
		}
		if rlo > next {
			runs = append(runs, [2]int{next, min(rlo-1, hi)})
		}
		next = rhi + 1
	}
	if next <= hi {
		runs = append(runs, [2]int{next, hi})
	}
	if len(runs) == 0 {
		return lo, lo, []int{lo}, false
	}
	first, last = runs[0][0], runs[len(runs)-1][1]
	interior := 0
	for i := 1; i < len(runs); i++ {
		interior += runs[i][0] - runs[i-1][1] - 1
	}
	if interior > budget {
		longest := runs[0]
		for _, r := range runs[1:] {
			if r[1]-r[0] > longest[1]-longest[0] {
				longest = r
			}
		}
		return longest[0], longest[1], nil, true
	}
	for i := 1; i < len(runs); i++ {
		for p := runs[i-1][1] + 1; p < runs[i][0]; p++ {
			holes = append(holes, p)
		}
	}
	return first, last, holes, false
}

// applyEphemeralLocked makes picks come from the ephemeral range
// portRange ([lo, hi]) less the reserved set.
//
// Preconditions: s.sysctls.mu is held.
func (s *Stack) applyEphemeralLocked(portRange, reserved []int64) tcpip.Error {
	r := &s.reserved
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.held {
		s.ReleasePort(k.reservation())
	}
	r.held = make(map[placeholderKey]struct{})
	r.lent = make(map[placeholderKey]struct{})
	first, last, holes, narrowed := ephemeralPlan(int(portRange[0]), int(portRange[1]), reserved, maxPlaceholderPorts)
	r.narrowed, r.haveNarrowed = [2]uint16{uint16(first), uint16(last)}, narrowed
	defer r.countLocked()
	if terr := s.SetPortRange(uint16(first), uint16(last)); terr != nil {
		return terr
	}
	for _, p := range holes {
		for _, t := range placeholderTransports {
			k := placeholderKey{transport: t, port: uint16(p)}
			if _, terr := s.ReservePort(s.SecureRNG(), k.reservation(), nil); terr != nil {
				r.lent[k] = struct{}{}
			} else {
				r.held[k] = struct{}{}
			}
		}
	}
	return nil
}

// countLocked updates nHeld and nLent.
//
// Preconditions: r.mu is held.
func (r *reservedPorts) countLocked() {
	r.nHeld.Store(int32(len(r.held)))
	r.nLent.Store(int32(len(r.lent)))
}

// BindPort runs bind, a bind of a socket of transport to port by number,
// with the port's placeholder taken down, if it has one.
func (s *Stack) BindPort(transport tcpip.TransportProtocolNumber, port uint16, bind func() tcpip.Error) tcpip.Error {
	r := &s.reserved
	if port == 0 || (r.nHeld.Load() == 0 && r.nLent.Load() == 0) {
		return bind()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := placeholderKey{transport: transport, port: port}
	if _, ok := r.held[k]; ok {
		s.ReleasePort(k.reservation())
		delete(r.held, k)
		r.lent[k] = struct{}{}
		r.countLocked()
	}
	return bind()
}

// RestoreReservedPorts takes back the placeholders of reserved ports no
// socket holds any more. Call it before anything that may pick an
// ephemeral port.
func (s *Stack) RestoreReservedPorts() {
	r := &s.reserved
	if r.nLent.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.lent {
		if _, terr := s.ReservePort(s.SecureRNG(), k.reservation(), nil); terr == nil {
			delete(r.lent, k)
			r.held[k] = struct{}{}
		}
	}
	r.countLocked()
}

// EphemeralNarrowed reports the range ephemeral ports come from when the
// reserved ports inside the ephemeral range were too many to skip one by
// one, and whether that is the case.
func (s *Stack) EphemeralNarrowed() (first, last uint16, ok bool) {
	r := &s.reserved
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.narrowed[0], r.narrowed[1], r.haveNarrowed
}
