// Package waiter lets sentry objects tell blocked tasks that something they
// wait for may have happened. A Queue holds channels with event masks;
// Notify does a non-blocking send on every channel whose mask matches, so
// notifiers never block and a waiter never misses a wake-up that happens
// between registering and blocking.
//
// A channel made by NewCallback is notified by a function call instead:
// Notify runs the callback in the notifier's goroutine, which spares a
// goroutine that would only relay the channel's tokens (epoll's interests
// are such channels, one per watched descriptor).
package waiter

import (
	"sync"
	"sync/atomic"
)

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

// entry is one registered channel.
type entry struct {
	mask uint32
	// cb is the channel's callback (NewCallback), nil for a plain
	// channel.
	cb *Callback
}

// Queue is a set of waiters.
type Queue struct {
	// mu protects waiters. Callbacks run with it held.
	mu      sync.Mutex
	waiters map[chan struct{}]entry
}

// NewChannel returns a channel suited to EventRegister: buffered, so one
// pending notification is kept.
func NewChannel() chan struct{} { return make(chan struct{}, 1) }

// EventRegister adds ch to the queue for the events in mask.
func (q *Queue) EventRegister(ch chan struct{}, mask uint32) {
	cb := lookupCallback(ch)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiters == nil {
		q.waiters = make(map[chan struct{}]entry)
	}
	e := q.waiters[ch]
	e.mask |= mask
	e.cb = cb
	q.waiters[ch] = e
}

// EventUnregister removes ch. Once it returns, the queue no longer calls
// ch's callback.
func (q *Queue) EventUnregister(ch chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.waiters, ch)
}

// Notify wakes the waiters interested in any event of mask.
func (q *Queue) Notify(mask uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for ch, e := range q.waiters {
		if e.mask&mask == 0 {
			continue
		}
		if e.cb != nil {
			e.cb.fn()
			continue
		}
		select {
		case ch <- struct{}{}:
		default:
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

// Callback is a channel whose notifications are calls of a function.
// Every Waitable takes it as a channel; those that keep their waiters in
// a Queue call the function (Adopted reports that one did), the others
// send on the channel, which the Callback's owner must then drain
// (Relay).
type Callback struct {
	ch chan struct{}
	// fn is called by Queue.Notify with the queue's lock held: it must
	// not block, nor take a lock that is held while notifying this
	// queue or that is taken before it.
	fn func()
	// adopted is set once a Queue registered ch.
	adopted atomic.Bool
	// done is closed by Release, to end Relay. The channel itself is
	// never closed: a Waitable that sends on it may still do so.
	done chan struct{}
}

// callbacks maps the channels of live Callbacks to them.
var callbacks sync.Map // chan struct{} -> *Callback

// NewCallback returns a Callback that calls fn. Release it when no
// Waitable holds its channel any more.
func NewCallback(fn func()) *Callback {
	c := &Callback{ch: NewChannel(), fn: fn, done: make(chan struct{})}
	callbacks.Store(c.ch, c)
	return c
}

func lookupCallback(ch chan struct{}) *Callback {
	if v, ok := callbacks.Load(ch); ok {
		c := v.(*Callback)
		c.adopted.Store(true)
		return c
	}
	return nil
}

// Channel returns the channel to register.
func (c *Callback) Channel() chan struct{} { return c.ch }

// Adopted reports whether a Queue took the channel as a callback: only
// then is fn called; otherwise the Waitable sends on the channel.
func (c *Callback) Adopted() bool { return c.adopted.Load() }

// Relay calls fn for every token sent on the channel until Release; run
// it in a goroutine of its own for a Waitable that did not adopt c.
func (c *Callback) Relay() {
	for {
		select {
		case <-c.ch:
			c.fn()
		case <-c.done:
			return
		}
	}
}

// Release forgets c and ends Relay; unregister the channel from every
// Waitable first.
func (c *Callback) Release() {
	callbacks.Delete(c.ch)
	close(c.done)
}
