package unix

import (
	"bytes"
	"testing"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/buffer"

	"github.com/cocoonrt/cocoon/internal/race"
)

// TestQueueWrapsAndGrows pushes and pops across the ring's end while it
// grows and checks the order holds.
func TestQueueWrapsAndGrows(t *testing.T) {
	var q queue
	var want []*message
	for round := range 200 {
		for range round % 7 {
			m := &message{}
			q.push(m)
			want = append(want, m)
		}
		for range round % 5 {
			if len(want) == 0 {
				break
			}
			if got := q.pop(); got != want[0] {
				t.Fatalf("round %d: popped a message out of order", round)
			}
			want = want[1:]
		}
		if q.len() != len(want) {
			t.Fatalf("round %d: queue holds %d, want %d", round, q.len(), len(want))
		}
		for i, m := range want {
			if q.at(i) != m {
				t.Fatalf("round %d: at(%d) is out of order", round, i)
			}
		}
	}
}

// TestStreamWriteCutIntoChunks: a stream write larger than a pooled chunk
// arrives whole and in order, and its rights come with the first piece
// only, so a read stops after it as Linux's does after the skb that
// carried them.
func TestStreamWriteCutIntoChunks(t *testing.T) {
	st := NewStack()
	a, b := st.NewPair(nil, linux.SOCK_STREAM, Cred{PID: 1}, 0, 0)
	src := make([]byte, 2*buffer.MaxChunkSize+100)
	for i := range src {
		src[i] = byte(i * 7)
	}
	if n, err := a.Send(src, Control{}, nil, false); n != len(src) || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
	if b.rcv.len() != 3 {
		t.Fatalf("a %d-byte write made %d messages, want 3", len(src), b.rcv.len())
	}
	got := make([]byte, len(src)+10)
	res, err := b.Recv(got, false)
	if err != nil || res.N != len(src) || !bytes.Equal(got[:res.N], src) {
		t.Fatalf("Recv = %d, %v; bytes equal: %v", res.N, err, bytes.Equal(got[:res.N], src))
	}
	if a.wmem != 0 || b.rcv.len() != 0 {
		t.Fatalf("after the read: sender wmem %d, %d messages queued", a.wmem, b.rcv.len())
	}
}

// TestStreamPairAllocatesNothing: once warm, a write and its read through
// a socket pair allocate nothing (pooled messages and chunks).
func TestStreamPairAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	st := NewStack()
	a, b := st.NewPair(nil, linux.SOCK_STREAM, Cred{PID: 1}, 0, 0)
	src := make([]byte, 8192)
	dst := make([]byte, 128<<10)
	allocs := testing.AllocsPerRun(200, func() {
		for range 3 {
			if _, err := a.Send(src, Control{}, nil, false); err != nil {
				t.Fatal(err)
			}
		}
		if res, err := b.Recv(dst, false); err != nil || res.N != 3*len(src) {
			t.Fatalf("Recv = %d, %v", res.N, err)
		}
	})
	if allocs >= 1 {
		t.Fatalf("a write and read round allocated %.1f times", allocs)
	}
}
