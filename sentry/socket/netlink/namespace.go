package netlink

import (
	"math/rand/v2"
	"sync"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
)

// Protocol is the kernel side of a netlink protocol: what answers the
// messages user sockets send to port 0.
type Protocol interface {
	// Groups is the number of multicast groups of the protocol.
	Groups() int
	// NonrootRecv reports whether sockets without CAP_NET_ADMIN may
	// join groups (NL_CFG_F_NONROOT_RECV).
	NonrootRecv() bool
	// Serve handles one request m (its type at least NLMSG_MIN_TYPE and
	// NLM_F_REQUEST set) from c. It returns the replies: a dump's
	// messages (dump true; the socket adds NLMSG_DONE) or another
	// request's, and the errno to acknowledge (0: success). A dump
	// that fails once started (its request checked in the dump
	// callback, as Linux's are) returns dump true and its errno, which
	// its NLMSG_DONE carries; an error with dump false is an
	// NLMSG_ERROR. Replies get
	// the request's sequence number and c's port ID from the caller.
	Serve(m nlmsg.Message, c *Caller) (replies []nlmsg.Message, dump bool, err linux.Errno)
}

// A Batcher is a Protocol that serves some sends whole, as one
// transaction (nfnetlink's batches), rather than message by message.
type Batcher interface {
	// Batch serves data, one send from c, if it is such a send: it
	// returns the messages the caller gets first (echoes of what it
	// changed, their sequence numbers and port set), then the requests
	// to acknowledge, in order, each with its errno (0: an
	// acknowledgement), and true. False leaves the send to Serve,
	// message by message.
	Batch(data []byte, c *Caller) (echo []nlmsg.Message, acks []Ack, ok bool)
}

// Ack is a request to acknowledge and with what errno.
type Ack struct {
	Request nlmsg.Message
	Errno   linux.Errno
}

// Caller is who sent a request.
type Caller struct {
	// PortID is the sending socket's.
	PortID uint32
	// NetAdmin reports CAP_NET_ADMIN.
	NetAdmin bool
	// Strict reports NETLINK_GET_STRICT_CHK on the sending socket.
	Strict bool
	// PID and Comm are the sending process's ID and name.
	PID  int32
	Comm string
	// Notify multicasts m to the protocol's group (1-based), as the
	// kernel announces a change it made, skipping no socket.
	Notify func(group uint32, m nlmsg.Message)
}

// Namespace is one sandbox's netlink: its sockets by protocol and port
// ID, and the kernel side of each protocol it has. Every container of a
// pod shares it, as they share a network namespace.
//
// Lock order: Namespace.mu, then Socket.mu.
type Namespace struct {
	// protocols maps NETLINK_* numbers to their kernel side; immutable.
	protocols map[int]Protocol

	// mu protects ports and sockets.
	mu sync.Mutex
	// ports maps bound sockets' (protocol, port ID) to them.
	ports map[portKey]*Socket
	// sockets are the open sockets, which may be in multicast groups
	// whether bound or not.
	sockets map[*Socket]struct{}
	// kernelInodes are the inode numbers of the protocols' kernel
	// sockets (listing.go).
	kernelInodes kernelInodes
}

type portKey struct {
	protocol int
	port     uint32
}

// NewNamespace returns a namespace with the given protocols.
func NewNamespace(protocols map[int]Protocol) *Namespace {
	return &Namespace{protocols: protocols, ports: make(map[portKey]*Socket), sockets: make(map[*Socket]struct{})}
}

// add records a new socket.
func (ns *Namespace) add(s *Socket) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.sockets[s] = struct{}{}
}

// bindLocked gives s port ID port: EADDRINUSE if another socket of the
// protocol has it.
//
// Preconditions: ns.mu and s.mu are held; s is not bound.
func (ns *Namespace) bindLocked(s *Socket, port uint32) error {
	k := portKey{s.protocol, port}
	if _, ok := ns.ports[k]; ok {
		return linux.EADDRINUSE
	}
	ns.ports[k] = s
	s.portID = port
	s.bound = true
	return nil
}

// autobindLocked binds s as netlink_autobind does: to the caller's
// process ID first, else to a random negative number below -4096.
//
// Preconditions: ns.mu and s.mu are held; s is not bound.
func (ns *Namespace) autobindLocked(s *Socket, tgid int32) error {
	if tgid > 0 && ns.bindLocked(s, uint32(tgid)) == nil {
		return nil
	}
	for range 1 << 16 {
		// [S32_MIN, -4097]
		port := int32(-4097 - rand.Int32N(1<<31-4097))
		if ns.bindLocked(s, uint32(port)) == nil {
			return nil
		}
	}
	return linux.EADDRINUSE
}

// remove forgets a closed socket and its port.
func (ns *Namespace) remove(s *Socket) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	delete(ns.sockets, s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound && ns.ports[portKey{s.protocol, s.portID}] == s {
		delete(ns.ports, portKey{s.protocol, s.portID})
	}
	s.bound = false
}

// lookup returns the socket bound to port of protocol.
func (ns *Namespace) lookup(protocol int, port uint32) (*Socket, bool) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s, ok := ns.ports[portKey{protocol, port}]
	return s, ok
}

// broadcast delivers one datagram to every socket of protocol in group
// (1-based) but skip, as netlink_broadcast does: a socket whose queue is
// full loses it and gets ENOBUFS (unless NETLINK_NO_ENOBUFS).
func (ns *Namespace) broadcast(protocol int, group uint32, from uint32, data []byte, skip *Socket) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for s := range ns.sockets {
		if s.protocol != protocol || s == skip {
			continue
		}
		s.mu.Lock()
		if s.inGroupLocked(group) {
			s.enqueueLocked(datagram{data: data, from: from, group: group})
		}
		s.mu.Unlock()
	}
}
