package pipe

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/cocoonrt/cocoon/internal/race"
)

// TestRingMatchesAByteQueue drives a ring and a plain byte slice with the
// same random writes, reads, peeks, discards and resizes, across many
// wraparounds, and checks they always hold the same bytes and that the
// ring keeps chunks only for bytes it holds.
func TestRingMatchesAByteQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var r ring
	capacity := 16 * chunkSize
	r.fit(capacity)
	var want []byte
	next := byte(0)
	for step := range 20000 {
		switch op := rng.IntN(10); {
		case op < 4: // write what fits
			n := min(rng.IntN(3*chunkSize), capacity-len(want))
			src := make([]byte, n)
			for i := range src {
				src[i] = next
				next++
			}
			r.write(src)
			want = append(want, src...)
		case op < 7: // read
			dst := make([]byte, rng.IntN(3*chunkSize))
			n := r.read(dst)
			if n != min(len(dst), len(want)) || !bytes.Equal(dst[:n], want[:n]) {
				t.Fatalf("step %d: read %d bytes, want %d of the queue's", step, n, min(len(dst), len(want)))
			}
			want = want[n:]
		case op < 8: // peek
			dst := make([]byte, rng.IntN(3*chunkSize))
			n := r.peek(dst)
			if n != min(len(dst), len(want)) || !bytes.Equal(dst[:n], want[:n]) {
				t.Fatalf("step %d: peeked %d bytes, want %d of the queue's", step, n, min(len(dst), len(want)))
			}
		case op < 9: // discard
			k := rng.IntN(len(want) + 1)
			r.discard(k)
			want = want[k:]
		default: // resize, never below what is held
			capacity = max(len(want)+rng.IntN(4*chunkSize), chunkSize)
			r.fit(capacity)
		}
		if r.n != len(want) {
			t.Fatalf("step %d: ring holds %d bytes, queue %d", step, r.n, len(want))
		}
		held := 0
		for _, c := range r.slots {
			if c != nil {
				held++
			}
		}
		if held != r.chunks() {
			t.Fatalf("step %d: %d chunks held for %d bytes at offset %d, want %d", step, held, r.n, r.off, r.chunks())
		}
	}
	r.reset()
	for i, c := range r.slots {
		if c != nil {
			t.Fatalf("slot %d still holds a chunk after reset", i)
		}
	}
}

// TestPipeStreamAllocatesNothing: writing to a pipe and reading it back
// allocates nothing once warm (the chunks come back through the pool).
func TestPipeStreamAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	r, w := New()
	src := make([]byte, 8192)
	dst := make([]byte, 128<<10)
	allocs := testing.AllocsPerRun(200, func() {
		for range 3 {
			if _, err := w.WriteAt(src, -1); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := r.ReadAt(dst, -1); err != nil || n != 3*len(src) {
			t.Fatalf("read %d, %v", n, err)
		}
	})
	if allocs >= 1 {
		t.Fatalf("a write and read round allocated %.1f times", allocs)
	}
}
