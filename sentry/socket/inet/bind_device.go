package inet

import (
	"bytes"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// SO_BINDTODEVICE and SO_BINDTOIFINDEX tie a socket to one interface:
// netstack then routes its packets out of that interface only and
// delivers it only what arrives there (DHCP clients, VRF-less multi-homed
// servers, curl --interface). An interface's ifindex is its NIC's ID.

// ifNameSize is IFNAMSIZ: a name's bytes and its NUL.
const ifNameSize = 16

// BindToDevice sets SO_BINDTODEVICE (b, an interface name; empty or
// length 0 unbinds) or, byIndex, SO_BINDTOIFINDEX (b, an int; 0 unbinds),
// as sock_setbindtodevice and sock_bindtoindex_locked do. netRaw reports
// CAP_NET_RAW, which moving a socket already bound takes.
func (s *Socket) BindToDevice(b []byte, byIndex, netRaw bool) error {
	var index int
	if byIndex {
		v, err := intArg(b)
		if err != nil {
			return err
		}
		index = v
	} else {
		name := b[:min(len(b), ifNameSize-1)]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if len(name) > 0 {
			id, ok := s.stack.NICByName(string(name))
			if !ok {
				return linux.ENODEV
			}
			index = int(id)
		}
	}
	ops := s.ep.SocketOptions()
	if ops.GetBindToDevice() != 0 && !netRaw {
		return linux.EPERM
	}
	if index < 0 {
		return linux.EINVAL
	}
	// Linux takes an index no device has (the socket then reaches
	// nothing); netstack refuses one, so such an index is ENODEV here.
	if terr := ops.SetBindToDevice(int32(index)); terr != nil {
		return errno(terr)
	}
	return nil
}

// boundDevice returns SO_BINDTODEVICE's value: the interface's name and
// its NUL, or nothing when the socket is not bound; ENODEV once the
// interface is gone (sock_getbindtodevice). GetLenError refuses a buffer
// too short for a name.
func (s *Socket) boundDevice() ([]byte, error) {
	id := s.ep.SocketOptions().GetBindToDevice()
	if id == 0 {
		return nil, nil
	}
	ni, ok := s.stack.NICInfo()[tcpip.NICID(id)]
	if !ok {
		return nil, linux.ENODEV
	}
	return append([]byte(ni.Name), 0), nil
}
