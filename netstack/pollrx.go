package netstack

// The receive side of a host link on Go's network poller, the default
// (LinkOptions.FdbasedRX turns it off).
//
// fdbased's dispatchers wait for frames in a blocking ppoll(2) on a
// goroutine of their own (three system calls a wake-up: recvmmsg's
// EAGAIN, ppoll, recvmmsg) and, with more than one processor, hand each
// batch to another goroutine. A blocking system call pins an OS thread
// and its P: sysmon takes the P back after 20 µs or more and wakes
// another thread to run it, and the woken ppoll must find a P again.
//
// pollLink keeps fdbased for sending (GSO through the virtio-net header,
// sendmmsg batching) and receives itself: a goroutine parks in the
// network poller on a duplicate of the packet socket, drains it with
// recvmmsg(2) when it is readable, and delivers each frame to the stack
// on that same goroutine. Waiting costs no thread of its own and a frame
// reaches TCP without a hand-off; the price is that the runtime polls
// the network only when a P looks for work (or from sysmon, every
// 10 ms), so a frame can wait longer than it would for fdbased's woken
// thread. On the sentry, whose task threads give up their P at every
// wait for the platform, the poller is checked often enough: link.go's
// LinkOptions says what each measured. The exception is the link's own
// sender writing batch after batch, which never waits: it takes in the
// waiting frames itself between batches (pollReceive).

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/rawfile"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro"
)

const (
	// rxBatch is how many frames one recvmmsg takes at most.
	rxBatch = 16
	// virtioNetHdrSize is sizeof(struct virtio_net_hdr), which the
	// kernel puts before every frame on a PACKET_VNET_HDR socket.
	virtioNetHdrSize = 10
)

// rxSizes are the sizes of the views one frame is read into: a small
// frame (an ACK) takes only the first, an MTU-sized one the first two,
// and only those taken are replaced after the read; together they hold
// the largest frame a veth hands a GSO socket (a 64 KiB IP packet and
// its Ethernet header). Few views per frame keep every later walk over
// a segment's data (TCP's reads, clones) short; fdbased's ten-view
// layout measured no faster (link_test.go).
var rxSizes = []int{256, 2048, 63488}

// linkEndpoint is what fdbased.New returns.
type linkEndpoint interface {
	stack.LinkEndpoint
	stack.GSOEndpoint
}

// pollLink is a host link endpoint that sends through fdbased and
// receives on the network poller (see the top of this file).
type pollLink struct {
	linkEndpoint

	// file is a duplicate of the packet socket, registered with the
	// network poller; closing it stops the receiver. Set at creation.
	file *os.File
	// vnetHdr tells whether frames come with a virtio-net header.
	vnetHdr bool
	// gro merges received TCP segments (LinkOptions.GRO).
	groOn bool

	// mu protects attached and released.
	mu       sync.Mutex
	attached bool
	// released is set once the inner endpoint's receive resources are
	// freed, after which the link cannot be attached again.
	released bool
	// wg counts the receiver goroutine.
	wg sync.WaitGroup

	// rxMu protects rx and rxConn, and serializes reads of the packet
	// socket: the receiving goroutine's, and pollReceive's. rx and
	// rxConn are set while the receiving goroutine runs.
	rxMu   sync.Mutex
	rx     *receiver
	rxConn syscall.RawConn
}

// newPollLink wraps ep, fdbased's endpoint on the packet socket fd
// (which fdbased.New made non-blocking).
func newPollLink(ep stack.LinkEndpoint, fd int, vnetHdr, groOn bool) (*pollLink, error) {
	inner, ok := ep.(linkEndpoint)
	if !ok {
		return nil, fmt.Errorf("netstack: %T is not a GSO endpoint", ep)
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netstack: duplicating the packet socket: %w", err)
	}
	// os.NewFile registers a non-blocking descriptor with the poller.
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return nil, fmt.Errorf("netstack: packet socket: %w", err)
	}
	f := os.NewFile(uintptr(dup), "packet")
	return &pollLink{linkEndpoint: inner, file: f, vnetHdr: vnetHdr, groOn: groOn}, nil
}

// Attach implements stack.LinkEndpoint.Attach: a dispatcher starts the
// receiver, nil (the NIC going away) stops it for good.
func (l *pollLink) Attach(d stack.NetworkDispatcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d == nil {
		if l.released {
			return
		}
		l.released = true
		l.attached = false
		// Close wakes the parked receiver and waits for a delivery
		// in progress to end.
		l.file.Close()
		l.wg.Wait()
		l.releaseInner()
		return
	}
	if l.attached || l.released {
		return
	}
	rc, err := l.file.SyscallConn()
	if err != nil {
		return
	}
	l.attached = true
	l.wg.Add(1)
	go l.receive(rc, d)
}

// releaseInner frees what fdbased set up for a receive loop that never
// runs (the stop eventfd of its dispatcher): only its own loop's end
// does, so run one and stop it at once. Frames it happens to read on
// the way are dropped, the link being on its way out anyway.
func (l *pollLink) releaseInner() {
	l.linkEndpoint.Attach(discard{})
	l.linkEndpoint.Attach(nil)
}

// IsAttached implements stack.LinkEndpoint.IsAttached.
func (l *pollLink) IsAttached() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.attached
}

// Wait implements stack.LinkEndpoint.Wait: it returns once the receiver
// has stopped.
func (l *pollLink) Wait() {
	l.wg.Wait()
	l.linkEndpoint.Wait()
}

// rxSlot is one frame's buffers for recvmmsg.
type rxSlot struct {
	views  []*buffer.View
	iovecs []unix.Iovec
	vnet   [virtioNetHdrSize]byte
}

// refill replaces the views a previous frame took and returns the
// iovecs.
func (s *rxSlot) refill(vnetHdr bool) []unix.Iovec {
	off := 0
	if vnetHdr {
		s.iovecs[0] = unix.Iovec{Base: &s.vnet[0]}
		s.iovecs[0].SetLen(virtioNetHdrSize)
		off = 1
	}
	for i := range s.views {
		if s.views[i] != nil {
			break // the ones after it are still unused
		}
		v := buffer.NewViewSize(rxSizes[i])
		s.views[i] = v
		s.iovecs[i+off] = unix.Iovec{Base: v.BasePtr()}
		s.iovecs[i+off].SetLen(v.Size())
	}
	return s.iovecs
}

// take removes the views holding the n bytes of frame data read (past
// the virtio-net header) and returns them as a buffer.
func (s *rxSlot) take(n int) buffer.Buffer {
	var b buffer.Buffer
	for i, v := range s.views {
		if n <= 0 {
			break
		}
		if v.Size() > n {
			v.CapLength(n)
		}
		n -= v.Size()
		b.Append(v)
		s.views[i] = nil
	}
	return b
}

func (s *rxSlot) release() {
	for i, v := range s.views {
		if v != nil {
			v.Release()
			s.views[i] = nil
		}
	}
}

// receiver is the state of a link's receiving: the buffers frames are
// read into and the GRO that merges them before delivery.
type receiver struct {
	addr    tcpip.LinkAddress
	vnetHdr bool
	slots   []rxSlot
	hdrs    []rawfile.MMsgHdr
	gro     gro.GRO
	// failed is set when the socket fails for good: the link stops
	// receiving, as fdbased's does.
	failed bool
}

func (l *pollLink) newReceiver(d stack.NetworkDispatcher) *receiver {
	r := &receiver{addr: l.LinkAddress(), vnetHdr: l.vnetHdr, slots: make([]rxSlot, rxBatch), hdrs: make([]rawfile.MMsgHdr, rxBatch)}
	niov := len(rxSizes)
	if l.vnetHdr {
		niov++
	}
	for i := range r.slots {
		r.slots[i].views = make([]*buffer.View, len(rxSizes))
		r.slots[i].iovecs = make([]unix.Iovec, niov)
	}
	r.gro.Init(l.groOn)
	r.gro.Dispatcher = d
	return r
}

func (r *receiver) release() {
	for i := range r.slots {
		r.slots[i].release()
	}
}

// drain reads and delivers the frames waiting on the packet socket fd
// until none is left (false: wait until it is readable) or the socket
// fails (true).
func (r *receiver) drain(fd uintptr) bool {
	hdrLen := 0
	if r.vnetHdr {
		hdrLen = virtioNetHdrSize
	}
	for {
		for k := range r.hdrs {
			iov := r.slots[k].refill(r.vnetHdr)
			r.hdrs[k].Len = 0
			r.hdrs[k].Msg = unix.Msghdr{Iov: &iov[0]}
			r.hdrs[k].Msg.SetIovlen(len(iov))
		}
		// Raw: with MSG_DONTWAIT it never blocks.
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
		case unix.EAGAIN:
			return false // park until readable
		case unix.EINTR, unix.ENETDOWN, unix.ENOBUFS:
			// A signal, or an error the socket reports once (the
			// link went down, the kernel lacked memory): the
			// socket still works.
			continue
		default:
			r.failed = true
			return true
		}
		for k := 0; k < int(n); k++ {
			size := int(r.hdrs[k].Len)
			if r.hdrs[k].Msg.Flags&unix.MSG_TRUNC != 0 || size <= hdrLen+header.EthernetMinimumSize {
				// Larger than any frame a link of ours sends, or
				// shorter than a header: not a frame to deliver.
				// The views stay for the next one.
				continue
			}
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: r.slots[k].take(size - hdrLen)})
			if deliverable(pkt, r.addr) {
				pkt.RXChecksumValidated = true
				r.gro.Enqueue(pkt)
			}
			pkt.DecRef()
		}
		r.gro.Flush()
		if int(n) < len(r.hdrs) {
			// A short batch emptied the socket: a frame that
			// comes later makes it readable again, so the next
			// look can wait for that instead of reading EAGAIN.
			return false
		}
	}
}

// receive reads frames until the file is closed (or the socket fails)
// and delivers them to d.
func (l *pollLink) receive(rc syscall.RawConn, d stack.NetworkDispatcher) {
	defer l.wg.Done()
	r := l.newReceiver(d)
	l.rxMu.Lock()
	l.rx, l.rxConn = r, rc
	l.rxMu.Unlock()
	defer func() {
		l.rxMu.Lock()
		l.rx, l.rxConn = nil, nil
		r.release()
		l.rxMu.Unlock()
	}()
	read := func(fd uintptr) bool {
		l.rxMu.Lock()
		defer l.rxMu.Unlock()
		return r.drain(fd)
	}
	// Read returns an error once the file is closed (Attach(nil)).
	for !r.failed && rc.Read(read) == nil {
	}
}

// pollReceive takes in the frames waiting on the packet socket, unless
// the receiving goroutine is at it already. The sender calls it between
// its batches: on a sentry with one P (a consolidated pod), a goroutine
// that keeps running keeps the runtime from polling the network for up
// to 10 ms, and an ACK left waiting that long makes TCP's tail loss
// probe resend data the peer has already acknowledged.
func (l *pollLink) pollReceive() {
	if !l.rxMu.TryLock() {
		return
	}
	defer l.rxMu.Unlock()
	if l.rx == nil || l.rx.failed {
		return
	}
	r := l.rx
	// Control holds the file open while it runs (Attach(nil) may close
	// it).
	_ = l.rxConn.Control(func(fd uintptr) { r.drain(fd) })
}

// deliverable consumes pkt's Ethernet header and tells whether the frame
// is for the link: to its address, or to a group (broadcast, multicast).
func deliverable(pkt *stack.PacketBuffer, addr tcpip.LinkAddress) bool {
	b, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	if !ok {
		return false
	}
	eth := header.Ethernet(b)
	pkt.NetworkProtocolNumber = eth.Type()
	dst := eth.DestinationAddress()
	return dst == addr || dst[0]&1 == 1
}

// discard is a dispatcher that drops every frame.
type discard struct{}

func (discard) DeliverNetworkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}
func (discard) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer)    {}
