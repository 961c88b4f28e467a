package netstack

import (
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// recordingDispatcher counts the frames delivered to it.
type recordingDispatcher struct {
	mu     sync.Mutex
	frames int
}

func (d *recordingDispatcher) DeliverNetworkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.frames++
}
func (d *recordingDispatcher) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}

func (d *recordingDispatcher) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frames
}

// addressedLink is the inner endpoint of a pollLink in these tests: only
// its address is asked for.
type addressedLink struct {
	linkEndpoint
	addr tcpip.LinkAddress
}

func (l addressedLink) LinkAddress() tcpip.LinkAddress { return l.addr }

// TestPollReceiveTakesInWaitingFrames: a sender's pollReceive delivers
// the frames waiting on the socket (here a datagram socketpair standing
// for the packet socket), through the receiving state the receiving
// goroutine set up; once that goroutine has ended it does nothing.
func TestPollReceiveTakesInWaitingFrames(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer := os.NewFile(uintptr(fds[1]), "peer")
	defer peer.Close()
	file := os.NewFile(uintptr(fds[0]), "packet")
	defer file.Close()
	addr := tcpip.LinkAddress("\x02\x00\x00\x00\x00\x01")
	l := &pollLink{linkEndpoint: addressedLink{addr: addr}, file: file}
	rc, err := file.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	d := &recordingDispatcher{}
	r := l.newReceiver(d)
	defer r.release()
	l.rx, l.rxConn = r, rc // as the receiving goroutine sets them

	frame := make([]byte, header.EthernetMinimumSize+20)
	header.Ethernet(frame).Encode(&header.EthernetFields{DstAddr: addr, Type: header.IPv4ProtocolNumber})
	for range 3 {
		if _, err := peer.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	l.pollReceive()
	if n := d.count(); n != 3 {
		t.Fatalf("pollReceive delivered %d frames, want the 3 waiting", n)
	}

	l.rx, l.rxConn = nil, nil // the receiving goroutine ended
	if _, err := peer.Write(frame); err != nil {
		t.Fatal(err)
	}
	l.pollReceive()
	if n := d.count(); n != 3 {
		t.Fatalf("pollReceive without a receiver delivered %d frames, want still 3", n)
	}
}

// TestDrainTakesInEveryWaitingFrame: one drain delivers all the frames
// queued when it starts, more than a batch included, and stops after the
// short batch that empties the socket.
func TestDrainTakesInEveryWaitingFrame(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	addr := tcpip.LinkAddress("\x02\x00\x00\x00\x00\x01")
	l := &pollLink{linkEndpoint: addressedLink{addr: addr}}
	d := &recordingDispatcher{}
	r := l.newReceiver(d)
	defer r.release()

	frame := make([]byte, header.EthernetMinimumSize+20)
	header.Ethernet(frame).Encode(&header.EthernetFields{DstAddr: addr, Type: header.IPv4ProtocolNumber})
	want := 0
	for _, burst := range []int{3, rxBatch, rxBatch + 5, 3 * rxBatch, 1} {
		for range burst {
			if _, err := unix.Write(fds[1], frame); err != nil {
				t.Fatal(err)
			}
		}
		want += burst
		if failed := r.drain(uintptr(fds[0])); failed {
			t.Fatal("drain reports a failed socket")
		}
		if n := d.count(); n != want {
			t.Fatalf("after a burst of %d, %d frames delivered, want %d", burst, n, want)
		}
	}
}
