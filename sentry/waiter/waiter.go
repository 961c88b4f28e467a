// Package waiter lets sentry objects tell blocked tasks that something they
// wait for may have happened. A Queue holds channels with event masks;
// Notify does a non-blocking send on every channel whose mask matches, so
// notifiers never block and a waiter never misses a wake-up that happens
// between registering and blocking.
package waiter

import "sync"

// Events, with Linux's poll values so files can report them directly.
const (
	EventIn  uint32 = 0x1
	EventPri uint32 = 0x2
	EventOut uint32 = 0x4
	EventErr uint32 = 0x8
	EventHUp uint32 = 0x10
	// EventRdHUp is POLLRDHUP.
	EventRdHUp uint32 = 0x2000
)

// Queue is a set of waiters.
type Queue struct {
	// mu protects waiters.
	mu      sync.Mutex
	waiters map[chan struct{}]uint32
}

// NewChannel returns a channel suited to EventRegister: buffered, so one
// pending notification is kept.
func NewChannel() chan struct{} { return make(chan struct{}, 1) }

// EventRegister adds ch to the queue for the events in mask.
func (q *Queue) EventRegister(ch chan struct{}, mask uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiters == nil {
		q.waiters = make(map[chan struct{}]uint32)
	}
	q.waiters[ch] |= mask
}

// EventUnregister removes ch.
func (q *Queue) EventUnregister(ch chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.waiters, ch)
}

// Notify wakes the waiters interested in any event of mask.
func (q *Queue) Notify(mask uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for ch, m := range q.waiters {
		if m&mask != 0 {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// Waitable is an object whose readiness can be polled and waited for.
type Waitable interface {
	// Readiness returns the events of mask that are ready now.
	Readiness(mask uint32) uint32
	EventRegister(ch chan struct{}, mask uint32)
	EventUnregister(ch chan struct{})
}
