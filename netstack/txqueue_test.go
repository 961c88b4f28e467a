package netstack

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// recordingWriter is the link under a txQueue in these tests: it records
// the first payload byte of every packet written, in order, and holds
// writes while gate is closed.
type recordingWriter struct {
	mu      sync.Mutex
	written []byte
	// gate, when not nil, is waited on before each write; entered gets
	// a value (when it has room) as a write starts waiting.
	gate    chan struct{}
	entered chan struct{}
	jitter  bool
}

func (w *recordingWriter) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	if w.gate != nil {
		select {
		case w.entered <- struct{}{}:
		default:
		}
		<-w.gate
	}
	if w.jitter && rand.IntN(4) == 0 {
		time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, pkt := range pkts.AsSlice() {
		w.written = append(w.written, pkt.Data().AsRange().ToSlice()[0])
	}
	return pkts.Len(), nil
}

func (w *recordingWriter) seen() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.written)
}

// waitSeen waits until w has recorded n packets.
func (w *recordingWriter) waitSeen(t *testing.T, n int) []byte {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if got := w.seen(); len(got) >= n {
			return got
		}
	}
	t.Fatalf("the link saw %d packets, want %d", len(w.seen()), n)
	return nil
}

// testPacket makes a packet whose payload starts with id. Every packet of
// a TCP connection on a GSO link carries GSO options; bulk ones also carry
// more data than one segment (an MSS of 2 bytes here).
func testPacket(id byte, bulk bool) *stack.PacketBuffer {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData([]byte{id, 0, 0, 0})})
	pkt.GSOOptions = stack.GSO{Type: stack.GSOTCPv4, MSS: 4}
	if bulk {
		pkt.GSOOptions.MSS = 2
	}
	return pkt
}

// within fails t unless f returns within a generous bound: a deadlock
// check, not a measure of speed.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

// writeWithin writes pkt to q, failing t if WritePacket fails or does
// not return: a write the link holds must not hold its caller.
func writeWithin(t *testing.T, q *txQueue, pkt *stack.PacketBuffer) {
	t.Helper()
	within(t, "WritePacket", func() {
		if err := q.WritePacket(pkt); err != nil {
			t.Error(err)
		}
	})
}

func TestTxQueueWritesSmallPacketsInline(t *testing.T) {
	w := &recordingWriter{}
	q := newTxQueue(w)
	defer q.Close()
	for id := range byte(5) {
		pkt := testPacket(id, false)
		if err := q.WritePacket(pkt); err != nil {
			t.Fatal(err)
		}
		// Written before WritePacket returned, by the caller.
		if got := w.seen(); len(got) != int(id)+1 {
			t.Fatalf("after packet %d returned the link had seen %v", id, got)
		}
		if refs := pkt.ReadRefs(); refs != 1 {
			t.Errorf("packet %d holds %d references after the write, want the caller's 1", id, refs)
		}
		pkt.DecRef()
	}
}

func TestTxQueueHandsBulkToItsGoroutine(t *testing.T) {
	w := &recordingWriter{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	q := newTxQueue(w)
	bulk := testPacket(1, true)
	// The link holds the write: WritePacket returns all the same.
	writeWithin(t, q, bulk)
	<-w.entered
	// A small packet behind bulk data in flight waits its turn: written
	// inline it would overtake it.
	small := testPacket(2, false)
	writeWithin(t, q, small)
	if got := w.seen(); len(got) != 0 {
		t.Fatalf("the link saw %v while its first write was held", got)
	}
	close(w.gate)
	if got := w.waitSeen(t, 2); !slices.Equal(got, []byte{1, 2}) {
		t.Fatalf("the link saw %v, want [1 2]", got)
	}
	q.Close()
	for _, pkt := range []*stack.PacketBuffer{bulk, small} {
		if refs := pkt.ReadRefs(); refs != 1 {
			t.Errorf("packet %d holds %d references after the queue sent it, want the caller's 1", pkt.Data().AsRange().ToSlice()[0], refs)
		}
		pkt.DecRef()
	}
}

func TestTxQueueKeepsOrder(t *testing.T) {
	w := &recordingWriter{jitter: true}
	q := newTxQueue(w)
	defer q.Close()
	const n = 250
	var want []byte
	for i := range n {
		id := byte(i)
		pkt := testPacket(id, rand.IntN(3) == 0)
		if err := q.WritePacket(pkt); err != nil {
			t.Fatal(err)
		}
		pkt.DecRef()
		want = append(want, id)
	}
	if got := w.waitSeen(t, n); !slices.Equal(got, want) {
		t.Fatalf("the link saw the packets in another order:\n got %v\nwant %v", got, want)
	}
}

func TestTxQueueDropsWhenFull(t *testing.T) {
	w := &recordingWriter{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	q := newTxQueue(w)
	first := testPacket(0, true)
	writeWithin(t, q, first)
	first.DecRef()
	<-w.entered // the sender took it off the queue and holds it
	for i := range txQueueLen {
		pkt := testPacket(byte(i), true)
		if err := q.WritePacket(pkt); err != nil {
			t.Fatalf("packet %d of a queue of %d: %v", i, txQueueLen, err)
		}
		pkt.DecRef()
	}
	over := testPacket(0xff, false)
	if err := q.WritePacket(over); err == nil {
		t.Fatal("a packet past a full queue was taken")
	} else if _, ok := err.(*tcpip.ErrNoBufferSpace); !ok {
		t.Fatalf("a packet past a full queue: %v, want ErrNoBufferSpace", err)
	}
	if refs := over.ReadRefs(); refs != 1 {
		t.Errorf("the dropped packet holds %d references, want the caller's 1", refs)
	}
	over.DecRef()
	close(w.gate)
	w.waitSeen(t, 1+txQueueLen)
	q.Close()
}

func TestTxQueueClose(t *testing.T) {
	w := &recordingWriter{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	q := newTxQueue(w)
	held, queued := testPacket(1, true), testPacket(2, true)
	writeWithin(t, q, held)
	<-w.entered // the sender took it off the queue and holds it
	if err := q.WritePacket(queued); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		q.Close()
		close(closed)
	}()
	// Close drops what is queued at once, then waits for the write in
	// progress.
	for deadline := time.Now().Add(10 * time.Second); queued.ReadRefs() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the queued packet still holds %d references after Close", queued.ReadRefs())
		}
	}
	close(w.gate)
	within(t, "Close", func() { <-closed })
	if got := w.seen(); !slices.Equal(got, []byte{1}) {
		t.Fatalf("the link saw %v, want only the packet being written as Close came: [1]", got)
	}
	late := testPacket(3, false)
	if err := q.WritePacket(late); err == nil {
		t.Fatal("a closed queue took a packet")
	} else if _, ok := err.(*tcpip.ErrClosedForSend); !ok {
		t.Fatalf("a closed queue: %v, want ErrClosedForSend", err)
	}
	for _, pkt := range []*stack.PacketBuffer{held, queued, late} {
		pkt.DecRef()
	}
	q.Close() // a second Close does nothing
}

// pollingWriter is a recordingWriter under a link that can take in
// received frames: it notes how many packets had been written at each
// poll.
type pollingWriter struct {
	recordingWriter
	polls []int
}

func (w *pollingWriter) pollReceive() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.polls = append(w.polls, len(w.written))
}

// TestTxQueuePollsReceiveBetweenBatches: the sender takes in received
// frames after each batch it writes, so that a long run of sends does
// not leave ACKs waiting.
func TestTxQueuePollsReceiveBetweenBatches(t *testing.T) {
	w := &pollingWriter{recordingWriter: recordingWriter{gate: make(chan struct{}), entered: make(chan struct{}, 1)}}
	q := newTxQueue(w)
	defer q.Close()
	// The first packet's write is held while the rest queue up behind
	// it, two batches' worth.
	writeWithin(t, q, testPacket(0, true))
	<-w.entered
	for i := 1; i <= 2*txBatch; i++ {
		writeWithin(t, q, testPacket(byte(i), true))
	}
	close(w.gate)
	w.waitSeen(t, 2*txBatch+1)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		w.mu.Lock()
		polls := slices.Clone(w.polls)
		w.mu.Unlock()
		if want := []int{1, 1 + txBatch, 1 + 2*txBatch}; slices.Equal(polls, want) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("polled after %v packets, want after each batch: %v", polls, want)
		}
	}
}
