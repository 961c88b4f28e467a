package waiter

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestQueueChannel(t *testing.T) {
	var q Queue
	ch := NewChannel()
	q.EventRegister(ch, EventIn)
	q.Notify(EventOut)
	select {
	case <-ch:
		t.Fatal("notified for an event it did not ask for")
	default:
	}
	q.Notify(EventIn)
	q.Notify(EventIn) // kept as one token, without blocking
	select {
	case <-ch:
	default:
		t.Fatal("not notified")
	}
	q.EventUnregister(ch)
	q.Notify(EventIn)
	select {
	case <-ch:
		t.Fatal("notified after EventUnregister")
	default:
	}
}

// A Queue calls a Callback's function instead of sending on its channel,
// in the notifier's goroutine, for the events registered.
func TestQueueCallback(t *testing.T) {
	var q Queue
	var calls atomic.Int32
	cb := NewCallback(func() { calls.Add(1) })
	defer cb.Release()
	q.EventRegister(cb.Channel(), EventIn)
	if !cb.Adopted() {
		t.Fatal("a Queue did not adopt the callback")
	}
	q.Notify(EventOut)
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d calls for an event not registered", n)
	}
	q.Notify(EventIn | EventOut)
	q.Notify(EventIn)
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
	select {
	case <-cb.Channel():
		t.Fatal("a token was sent on the callback's channel")
	default:
	}
	// A second registration of the same channel widens its mask.
	q.EventRegister(cb.Channel(), EventOut)
	q.Notify(EventOut)
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
	q.EventUnregister(cb.Channel())
	q.Notify(EventIn | EventOut)
	if n := calls.Load(); n != 3 {
		t.Fatalf("called after EventUnregister (%d calls)", n)
	}
}

// A Waitable that does not keep a Queue sends on the channel; Relay
// turns the sends into calls until Release, and a send after Release
// does not panic.
func TestCallbackRelay(t *testing.T) {
	called := make(chan struct{}, 10)
	cb := NewCallback(func() { called <- struct{}{} })
	if cb.Adopted() {
		t.Fatal("adopted before any Queue registered it")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cb.Relay()
	}()
	cb.Channel() <- struct{}{}
	select {
	case <-called:
	case <-time.After(10 * time.Second):
		t.Fatal("Relay did not call the function")
	}
	cb.Release()
	wg.Wait()
	select {
	case cb.Channel() <- struct{}{}:
	default:
	}
	if v := lookupCallback(cb.Channel()); v != nil {
		t.Fatal("a released callback is still known")
	}
}

// Notifications racing registrations and each other are all seen: the
// last notify after a state change always leads to a call.
func TestCallbackConcurrent(t *testing.T) {
	var q Queue
	var calls atomic.Int64
	cb := NewCallback(func() { calls.Add(1) })
	defer cb.Release()
	q.EventRegister(cb.Channel(), EventIn)
	var wg sync.WaitGroup
	const notifiers, each = 4, 1000
	for range notifiers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				q.Notify(EventIn)
			}
		}()
	}
	// Unrelated channels coming and going meanwhile.
	for range 100 {
		ch := NewChannel()
		q.EventRegister(ch, EventIn)
		q.EventUnregister(ch)
	}
	wg.Wait()
	if n := calls.Load(); n != notifiers*each {
		t.Fatalf("%d calls, want %d", n, notifiers*each)
	}
}

func BenchmarkNotifyCallback(b *testing.B) {
	var q Queue
	cb := NewCallback(func() {})
	defer cb.Release()
	q.EventRegister(cb.Channel(), EventIn)
	for b.Loop() {
		q.Notify(EventIn)
	}
}
