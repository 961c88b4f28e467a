package netstack

import (
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// linkUpWatchers are told when an interface comes up: a TUN or TAP file
// (sentry/fs/tun) is writable only while its interface is up, and Linux
// wakes the writers that poll it then (tun_net_open).
type linkUpWatchers struct {
	// mu protects next and fns.
	mu   sync.Mutex
	next int
	fns  map[int]func(tcpip.NICID)
}

// WatchLinkUp calls fn with the interface's ID whenever EnableNIC brings
// one up, until stop is called. fn runs with the caller of EnableNIC's
// locks held: it must not block or take locks of the stack's users.
func (s *Stack) WatchLinkUp(fn func(tcpip.NICID)) (stop func()) {
	w := &s.linkUp
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = make(map[int]func(tcpip.NICID))
	}
	key := w.next
	w.next++
	w.fns[key] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.fns, key)
	}
}

// EnableNIC brings interface id up (gVisor's stack.EnableNIC) and tells
// the WatchLinkUp watchers when it was down.
func (s *Stack) EnableNIC(id tcpip.NICID) tcpip.Error {
	wasUp := s.CheckNIC(id)
	if err := s.Stack.EnableNIC(id); err != nil {
		return err
	}
	if wasUp {
		return nil
	}
	w := &s.linkUp
	w.mu.Lock()
	fns := make([]func(tcpip.NICID), 0, len(w.fns))
	for _, fn := range w.fns {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(id)
	}
	return nil
}
