package pipe

import "sync"

// A pipe's contents live in page-sized chunks taken from a pool as the pipe
// fills and given back as it drains, as Linux's pipe_buffers hold pages:
// an empty pipe holds no data memory, and a busy one allocates nothing
// per write. (A growing byte slice, consumed from its head and appended
// at its tail, reallocated on most writes of a stream: a dd | cat
// pipeline spent 15% of the sentry's time in the garbage collector.)

// chunkSize is one chunk of a pipe's contents: a page, the unit of
// PIPE_BUF and of F_SETPIPE_SZ.
const chunkSize = atomicSize

type chunk [chunkSize]byte

var chunkPool = sync.Pool{New: func() any { return new(chunk) }}

// ring is a FIFO of bytes in chunks. The chunk in slots[first] holds the
// oldest byte at offset off; the n bytes held run on through the slots
// that follow, circularly. Slots holding none of them are nil.
type ring struct {
	slots []*chunk
	first int
	off   int
	n     int
}

// fit sizes the slot table for a capacity of capacity bytes. Bytes that
// start anywhere in their first chunk span at most capacity/chunkSize+1
// chunks, so the tail never reaches the head. r must hold no more than
// capacity bytes.
func (r *ring) fit(capacity int) {
	want := (capacity+chunkSize-1)/chunkSize + 1
	if len(r.slots) == want {
		return
	}
	slots := make([]*chunk, want)
	for i := range r.chunks() {
		slots[i] = r.slots[(r.first+i)%len(r.slots)]
	}
	r.slots, r.first = slots, 0
}

// chunks returns how many chunks hold r's bytes.
func (r *ring) chunks() int {
	if r.n == 0 {
		return 0
	}
	return (r.off + r.n + chunkSize - 1) / chunkSize
}

// write appends src, which must fit in the capacity r was fitted for.
func (r *ring) write(src []byte) {
	for len(src) > 0 {
		pos := r.off + r.n
		i := (r.first + pos/chunkSize) % len(r.slots)
		if r.slots[i] == nil {
			r.slots[i] = chunkPool.Get().(*chunk)
		}
		c := copy(r.slots[i][pos%chunkSize:], src)
		r.n += c
		src = src[c:]
	}
}

// head returns the oldest bytes held in one piece: the rest of the first
// chunk, at most limit bytes.
func (r *ring) head(limit int) []byte {
	return r.slots[r.first][r.off:min(chunkSize, r.off+r.n, r.off+limit)]
}

// consume drops k bytes from the head, k no more than head returned;
// chunks emptied go back to the pool.
func (r *ring) consume(k int) {
	r.off += k
	r.n -= k
	if r.n == 0 || r.off == chunkSize {
		chunkPool.Put(r.slots[r.first])
		r.slots[r.first] = nil
		r.first = (r.first + 1) % len(r.slots)
		r.off = 0
	}
}

// read moves up to len(dst) bytes from the head into dst.
func (r *ring) read(dst []byte) int {
	done := 0
	for done < len(dst) && r.n > 0 {
		k := copy(dst[done:], r.head(len(dst)-done))
		r.consume(k)
		done += k
	}
	return done
}

// peek copies up to len(dst) bytes from the head into dst, keeping them.
func (r *ring) peek(dst []byte) int {
	done, off := 0, r.off
	for i := 0; done < len(dst) && done < r.n; i++ {
		c := r.slots[(r.first+i)%len(r.slots)]
		done += copy(dst[done:], c[off:min(chunkSize, off+r.n-done)])
		off = 0
	}
	return done
}

// discard drops k bytes from the head.
func (r *ring) discard(k int) {
	for k > 0 {
		c := len(r.head(k))
		r.consume(c)
		k -= c
	}
}

// reset drops everything r holds.
func (r *ring) reset() { r.discard(r.n) }
