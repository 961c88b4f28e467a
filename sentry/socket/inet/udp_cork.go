package inet

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Corking a UDP socket (MSG_MORE on a send, or UDP_CORK): sends append to
// one datagram, which leaves with the first send that asks for neither,
// or when UDP_CORK is cleared (udp_sendmsg's pending frames). gVisor has
// no corking for UDP, so the socket holds the data itself, with the first
// send's address and control messages, which apply to the whole
// datagram; later sends' addresses are ignored, as on Linux.

// udpCork is a UDP socket's corking state.
type udpCork struct {
	// active is on || pending, for sends that do not cork to pass by
	// without taking mu.
	active atomic.Bool
	// mu serializes the socket's sends while any of them corks, and
	// protects the fields below.
	mu sync.Mutex
	// on is UDP_CORK.
	on bool
	// pending is set while data is held for the datagram: data, and the
	// first send's address (nil: the peer's) and control messages.
	pending bool
	data    []byte
	to      []byte
	control []byte
}

// corkSend is a UDP send when the socket corks: it holds the data (MSG_MORE
// or UDP_CORK), or adds it to what is held and sends the whole datagram.
// held is false when corking is not involved, and the caller sends.
func (s *Socket) corkSend(src tcpip.Payloader, to []byte, flags int, control []byte) (n int, held bool, err error) {
	c := &s.udp.cork
	if flags&linux.MSG_MORE == 0 && !c.active.Load() {
		return 0, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	more := flags&linux.MSG_MORE != 0 || c.on
	if !c.pending && !more {
		return 0, false, nil
	}
	data := make([]byte, src.Len())
	if _, err := io.ReadFull(src, data); err != nil {
		return 0, true, linux.EFAULT
	}
	if !c.pending {
		// The first send: its address (or the peer) must do now, as
		// udp_sendmsg's route lookup checks it.
		if err := s.checkCorkDestination(to); err != nil {
			return 0, true, err
		}
		c.pending = true
		c.active.Store(true)
		c.to = append([]byte(nil), to...)
		c.control = append([]byte(nil), control...)
	}
	var opts tcpip.WriteOptions
	if len(c.to) > 0 {
		opts.To, _ = s.datagramTo(c.to) // checked by the first send
	}
	_, v4 := s.destination(&opts)
	limit := maxGSODatagram6
	if v4 {
		limit = maxGSODatagram4
	}
	if len(c.data)+len(data) > limit {
		// ip_append_data's EMSGSIZE; udp_flush_pending_frames drops
		// what was held.
		c.reset()
		return 0, true, linux.EMSGSIZE
	}
	c.data = append(c.data, data...)
	if more {
		return len(data), true, nil
	}
	return len(data), true, s.pushCorkedLocked()
}

// checkCorkDestination checks the address of a send that starts a corked
// datagram: a valid one, or a connected socket.
func (s *Socket) checkCorkDestination(to []byte) error {
	if len(to) > 0 {
		_, err := s.datagramTo(to)
		return err
	}
	if _, terr := s.ep.GetRemoteAddress(); terr != nil {
		return linux.EDESTADDRREQ
	}
	return nil
}

// pushCorkedLocked sends what is held as one datagram.
//
// Preconditions: s.udp.cork.mu is held.
func (s *Socket) pushCorkedLocked() error {
	c := &s.udp.cork
	if !c.pending {
		return nil
	}
	data, to, control := c.data, c.to, c.control
	c.reset()
	_, err := s.send(bytes.NewReader(data), to, 0, control)
	return err
}

// setCork sets UDP_CORK; clearing it sends what is held (its error, as
// Linux's, goes unreported).
func (s *Socket) setCork(on bool) {
	c := &s.udp.cork
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = on
	c.active.Store(on || c.pending)
	if !on {
		_ = s.pushCorkedLocked()
	}
}

// corked reports UDP_CORK.
func (s *Socket) corked() bool {
	c := &s.udp.cork
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on
}

// reset drops what is held.
//
// Preconditions: c.mu is held.
func (c *udpCork) reset() {
	c.pending = false
	c.active.Store(c.on)
	c.data, c.to, c.control = nil, nil, nil
}
