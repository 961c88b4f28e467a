package netstack

import "sync"

// tunPersisted names the TUN and TAP interfaces that TUNSETPERSIST keeps
// (sentry/fs/tun): gVisor's device keeps them without saying so, and
// TUNGETIFF reports IFF_PERSIST.
type tunPersisted struct {
	// mu protects names.
	mu    sync.Mutex
	names map[string]bool
}

// SetTUNPersistent records whether the TUN or TAP interface name is
// persistent.
func (s *Stack) SetTUNPersistent(name string, on bool) {
	p := &s.tunPersisted
	p.mu.Lock()
	defer p.mu.Unlock()
	if !on {
		delete(p.names, name)
		return
	}
	if p.names == nil {
		p.names = make(map[string]bool)
	}
	p.names[name] = true
}

// TUNPersistent reports whether SetTUNPersistent made name persistent.
func (s *Stack) TUNPersistent(name string) bool {
	p := &s.tunPersisted
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.names[name]
}
