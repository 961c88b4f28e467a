package unix

import (
	"sync"

	"gvisor.dev/gvisor/pkg/buffer"
)

// Messages and their bytes are recycled: a message's data lives in a
// pooled chunk of gVisor's buffer package (sizes up to
// buffer.MaxChunkSize; a stream write is cut into such pieces), the
// message itself comes from messagePool, and a receive queue is a ring
// that stays allocated while it is in use. A socket pair moving a stream
// then allocates nothing per write (measured before: 8 KiB writes spent
// a fifth of the sentry's time in allocation and the garbage collector).

var messagePool = sync.Pool{New: func() any { return new(message) }}

// newMessage returns a message holding a copy of data.
func newMessage(data []byte) *message {
	m := messagePool.Get().(*message)
	m.view = buffer.NewViewWithData(data)
	m.data = m.view.AsSlice()
	return m
}

// free gives m and its bytes back; m must be off every queue and its
// rights handed on or dropped.
func (m *message) free() {
	m.view.Release()
	*m = message{}
	messagePool.Put(m)
}

// queue is a FIFO of messages in a ring whose size is a power of two.
type queue struct {
	ring []*message
	head int
	n    int
}

// shrinkAbove is the ring size past which an emptied queue lets its ring
// go: a burst of small messages should not pin a large ring.
const shrinkAbove = 64

func (q *queue) len() int { return q.n }

// at returns the i'th message from the head.
func (q *queue) at(i int) *message { return q.ring[(q.head+i)&(len(q.ring)-1)] }

func (q *queue) push(m *message) {
	if q.n == len(q.ring) {
		ring := make([]*message, max(2*len(q.ring), 4))
		for i := range q.n {
			ring[i] = q.at(i)
		}
		q.ring, q.head = ring, 0
	}
	q.ring[(q.head+q.n)&(len(q.ring)-1)] = m
	q.n++
}

// pop removes and returns the head message.
func (q *queue) pop() *message {
	m := q.ring[q.head]
	q.ring[q.head] = nil
	q.head = (q.head + 1) & (len(q.ring) - 1)
	if q.n--; q.n == 0 {
		q.head = 0
		if len(q.ring) > shrinkAbove {
			q.ring = nil
		}
	}
	return m
}
