package netstack

import "sync"

// TUNDevice is what TUNSETIFF made of a TUN or TAP interface
// (sentry/fs/tun), which gVisor's device keeps without saying: rtnetlink
// describes the interface by it (tun_fill_info) and TUNGETIFF reports
// IFF_PERSIST.
type TUNDevice struct {
	// TAP is set for a TAP (Ethernet) device, clear for a TUN (IP) one.
	TAP bool
	// PacketInfo and VnetHdr are the last TUNSETIFF's IFF_NO_PI (clear)
	// and IFF_VNET_HDR, which Linux keeps on the device.
	PacketInfo, VnetHdr bool
	// Persistent is TUNSETPERSIST's.
	Persistent bool
	// Owner and Group are TUNSETOWNER's and TUNSETGROUP's kernel IDs,
	// set when HasOwner and HasGroup are: a program that is not the
	// owner, or not in the group, needs CAP_NET_ADMIN to attach to the
	// device (tun_not_capable).
	Owner, Group       uint32
	HasOwner, HasGroup bool
	// Files is how many files are attached: a device without one has
	// no carrier (tun_detach's netif_carrier_off).
	Files int
	// linkLocalIID is the interface ID of a TUN's IPv6 link-local
	// address (linklocal.go), drawn when it first comes up.
	linkLocalIID [8]byte
}

// tunDevices are the stack's TUN and TAP interfaces by name.
type tunDevices struct {
	// mu protects byName.
	mu     sync.Mutex
	byName map[string]TUNDevice
}

// AttachTUNDevice records a file's TUNSETIFF on interface name: what it
// made of the device, which keeps whether it is persistent.
func (s *Stack) AttachTUNDevice(name string, d TUNDevice) {
	t := &s.tunDevices
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byName == nil {
		t.byName = make(map[string]TUNDevice)
	}
	old := t.byName[name]
	d.Persistent, d.Files, d.linkLocalIID = old.Persistent, old.Files+1, old.linkLocalIID
	d.Owner, d.Group, d.HasOwner, d.HasGroup = old.Owner, old.Group, old.HasOwner, old.HasGroup
	t.byName[name] = d
}

// DetachTUNDevice records that a file attached to interface name closed;
// gone says the interface went with it.
func (s *Stack) DetachTUNDevice(name string, gone bool) {
	t := &s.tunDevices
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.byName[name]
	switch {
	case gone:
		delete(t.byName, name)
	case ok:
		d.Files = max(d.Files-1, 0)
		t.byName[name] = d
	}
}

// TUNDevice returns the TUN or TAP interface name, false for another or
// none.
func (s *Stack) TUNDevice(name string) (TUNDevice, bool) {
	t := &s.tunDevices
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.byName[name]
	return d, ok
}

// SetTUNPersistent records whether the TUN or TAP interface name is
// persistent.
func (s *Stack) SetTUNPersistent(name string, on bool) {
	t := &s.tunDevices
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, ok := t.byName[name]; ok {
		d.Persistent = on
		t.byName[name] = d
	}
}

// SetTUNOwner records TUNSETOWNER (group false) or TUNSETGROUP (group
// true) of the TUN or TAP interface name: id is a kernel ID.
func (s *Stack) SetTUNOwner(name string, group bool, id uint32) {
	t := &s.tunDevices
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, ok := t.byName[name]; ok {
		if group {
			d.Group, d.HasGroup = id, true
		} else {
			d.Owner, d.HasOwner = id, true
		}
		t.byName[name] = d
	}
}
