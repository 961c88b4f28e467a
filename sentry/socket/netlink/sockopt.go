package netlink

import (
	"encoding/binary"
	"math/bits"

	linux "golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/socket/sockopt"
)

var le = binary.LittleEndian

func i32(v int) []byte { return le.AppendUint32(nil, uint32(int32(v))) }

// flagOpts are the SOL_NETLINK options that are one flag each, readable
// and writable (netlink_setsockopt and netlink_getsockopt).
var flagOpts = map[int]bool{
	linux.NETLINK_PKTINFO:         true,
	linux.NETLINK_BROADCAST_ERROR: true,
	linux.NETLINK_NO_ENOBUFS:      true,
	linux.NETLINK_CAP_ACK:         true,
	linux.NETLINK_EXT_ACK:         true,
	linux.NETLINK_GET_STRICT_CHK:  true,
}

// boolOpts are the generic SOL_SOCKET flags, which only round-trip on a
// netlink socket.
var boolOpts = map[int]bool{
	linux.SO_REUSEADDR: true, linux.SO_REUSEPORT: true, linux.SO_KEEPALIVE: true,
	linux.SO_BROADCAST: true, linux.SO_OOBINLINE: true, linux.SO_DONTROUTE: true,
	linux.SO_SELECT_ERR_QUEUE: true,
}

// GetSockOpt returns an option at SOL_SOCKET or SOL_NETLINK, encoded as
// Linux returns it (the caller truncates it to the user's length). Other
// levels are ENOPROTOOPT, as netlink_getsockopt says.
func (s *Socket) GetSockOpt(level, name int) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch level {
	case linux.SOL_SOCKET:
		return s.getSocketOptLocked(name)
	case linux.SOL_NETLINK:
		if flagOpts[name] {
			return i32(int(s.flags>>name) & 1), nil
		}
		if name == linux.NETLINK_LIST_MEMBERSHIPS {
			// The group bitmap in 32-bit words.
			n := (s.ngroups() + 31) / 32
			var b []byte
			for i := range n {
				b = le.AppendUint32(b, uint32(s.groups>>(32*i)))
			}
			return b, nil
		}
	}
	return nil, linux.ENOPROTOOPT
}

func (s *Socket) getSocketOptLocked(name int) ([]byte, error) {
	switch name {
	case linux.SO_TYPE:
		return i32(s.typ), nil
	case linux.SO_DOMAIN:
		return i32(linux.AF_NETLINK), nil
	case linux.SO_PROTOCOL:
		return i32(s.protocol), nil
	case linux.SO_ERROR:
		e := s.err
		s.err = 0
		return i32(int(e)), nil
	case linux.SO_ACCEPTCONN:
		return i32(0), nil
	case linux.SO_RCVBUF:
		return i32(s.rcvBuf), nil
	case linux.SO_SNDBUF:
		return i32(s.sndBuf), nil
	case linux.SO_PASSCRED:
		if s.passCred {
			return i32(1), nil
		}
		return i32(0), nil
	case linux.SO_RCVLOWAT, linux.SO_SNDLOWAT:
		return i32(1), nil
	case linux.SO_ZEROCOPY:
		return i32(0), nil // never set: only TCP and UDP take it
	case linux.SO_PRIORITY:
		if v, ok := s.opts[name]; ok {
			return v, nil
		}
		return i32(0), nil
	case linux.SO_LINGER:
		if v, ok := s.opts[name]; ok {
			return v, nil
		}
		return make([]byte, 8), nil
	case linux.SO_BUSY_POLL, linux.SO_PREFER_BUSY_POLL, linux.SO_BUSY_POLL_BUDGET:
		return sockopt.GetBusyPoll(name, s.optLocked(name))
	case linux.SO_INCOMING_NAPI_ID:
		return i32(0), nil
	case linux.SO_TXREHASH:
		return nil, linux.EOPNOTSUPP // TCP sockets only
	case linux.SO_PEERCRED:
		// A netlink socket has no peer credentials: pid 0 and the
		// overflow IDs, as cred_to_ucred gives for none.
		b := le.AppendUint32(nil, 0)
		b = le.AppendUint32(b, 65534)
		return le.AppendUint32(b, 65534), nil
	}
	if boolOpts[name] {
		if v, ok := s.opts[name]; ok {
			return v, nil
		}
		return i32(0), nil
	}
	return nil, linux.ENOPROTOOPT
}

// bufSize is sock_setsockopt's rule for SO_SNDBUF and SO_RCVBUF: the
// value capped at the sysctl maximum (unless forced), doubled for
// bookkeeping, at least the minimum.
func bufSize(v int, force bool, least int) int {
	v = max(v, 0)
	if !force {
		v = min(v, maxBuf)
	}
	return max(min(v, 1<<30)*2, least)
}

// SetSockOpt sets an option at SOL_SOCKET or SOL_NETLINK from b, the
// bytes the caller passed (at most 64); netAdmin is the caller's
// CAP_NET_ADMIN.
func (s *Socket) SetSockOpt(level, name int, b []byte, netAdmin bool) error {
	switch level {
	case linux.SOL_SOCKET:
		return s.setSocketOpt(name, b, netAdmin)
	case linux.SOL_NETLINK:
		return s.setNetlinkOpt(name, b)
	}
	return linux.ENOPROTOOPT
}

func (s *Socket) setSocketOpt(name int, b []byte, netAdmin bool) error {
	if name == linux.SO_LINGER {
		if len(b) < 8 {
			return linux.EINVAL
		}
		s.mu.Lock()
		s.setOptLocked(name, b[:8])
		s.mu.Unlock()
		return nil
	}
	if len(b) < 4 {
		return linux.EINVAL
	}
	v := int(int32(le.Uint32(b)))
	s.mu.Lock()
	defer s.mu.Unlock()
	switch name {
	case linux.SO_RCVBUF:
		s.rcvBuf = bufSize(v, false, minRcvBuf)
	case linux.SO_SNDBUF:
		s.sndBuf = bufSize(v, false, minSndBuf)
	case linux.SO_RCVBUFFORCE, linux.SO_SNDBUFFORCE:
		if !netAdmin {
			return linux.EPERM
		}
		if name == linux.SO_RCVBUFFORCE {
			s.rcvBuf = bufSize(v, true, minRcvBuf)
		} else {
			s.sndBuf = bufSize(v, true, minSndBuf)
		}
	case linux.SO_PASSCRED:
		s.passCred = v != 0
	case linux.SO_PRIORITY:
		if (v < 0 || v > 6) && !netAdmin {
			return linux.EPERM
		}
		s.setOptLocked(name, i32(v))
	case linux.SO_RCVLOWAT:
		// Datagram sockets take whole datagrams whatever it says.
	case linux.SO_ZEROCOPY, linux.SO_TXREHASH:
		return linux.EOPNOTSUPP // sk_setsockopt: TCP and UDP (zerocopy), TCP (txrehash) only
	case linux.SO_BUSY_POLL, linux.SO_PREFER_BUSY_POLL, linux.SO_BUSY_POLL_BUDGET:
		kept, err := sockopt.SetBusyPoll(name, int32(v), s.optLocked(name), netAdmin)
		if err != nil {
			return err
		}
		s.setOptLocked(name, i32(int(kept)))
	default:
		if !boolOpts[name] {
			return linux.ENOPROTOOPT
		}
		if v != 0 {
			v = 1
		}
		s.setOptLocked(name, i32(v))
	}
	return nil
}

// optLocked returns an int option that only round-trips (0 if never
// set).
//
// Preconditions: s.mu is held.
func (s *Socket) optLocked(name int) int32 {
	if v, ok := s.opts[name]; ok {
		return int32(le.Uint32(v))
	}
	return 0
}

// setOptLocked records an option that only round-trips.
//
// Preconditions: s.mu is held.
func (s *Socket) setOptLocked(name int, v []byte) {
	if s.opts == nil {
		s.opts = make(map[int][]byte)
	}
	s.opts[name] = append([]byte(nil), v...)
}

// setNetlinkOpt is netlink_setsockopt: a short value reads as 0.
func (s *Socket) setNetlinkOpt(name int, b []byte) error {
	var v uint32
	if len(b) >= 4 {
		v = le.Uint32(b)
	}
	switch {
	case flagOpts[name]:
		s.mu.Lock()
		defer s.mu.Unlock()
		if v != 0 {
			s.flags |= 1 << name
		} else {
			s.flags &^= 1 << name
		}
		return nil
	case name == linux.NETLINK_ADD_MEMBERSHIP || name == linux.NETLINK_DROP_MEMBERSHIP:
		if !s.allowed(s.nonrootRecv()) {
			return linux.EPERM
		}
		if v == 0 || int(v-1) >= s.ngroups() {
			return linux.EINVAL
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if name == linux.NETLINK_ADD_MEMBERSHIP {
			s.groups |= 1 << (v - 1)
		} else {
			s.groups &^= 1 << (v - 1)
		}
		return nil
	case name == linux.NETLINK_LISTEN_ALL_NSID:
		// The sandbox has one network namespace: there is no other
		// to listen to, and it takes CAP_NET_BROADCAST.
		if !s.netAdmin {
			return linux.EPERM
		}
		return nil
	}
	return linux.ENOPROTOOPT
}

// memberships returns the number of groups joined (for tests).
func (s *Socket) memberships() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bits.OnesCount64(s.groups)
}
