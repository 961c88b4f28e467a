package hostinet

import (
	"golang.org/x/sys/unix"
)

// Socket options pass through to the host only when listed here: each
// one only affects this socket and needs no privilege on the host. The
// options that ask for ancillary data are cmsg.go's.
// Left out on purpose, among others: SO_BINDTODEVICE, SO_MARK,
// SO_RCVBUFFORCE/SO_SNDBUFFORCE, SO_PRIORITY above 6 and SO_BUSY_POLL
// (privileged), SO_ATTACH_FILTER/SO_ATTACH_BPF (programs run by the host
// kernel), IP_TRANSPARENT, IP_FREEBIND, IP_HDRINCL, IP_OPTIONS,
// TCP_REPAIR
// (privileged), TCP_MD5SIG and TCP_ULP (kernel
// state the sandbox does not own). An option not listed is ENOPROTOOPT,
// as a kernel without it answers.

// optRW says whether an option may be read (get) and written (set).
type optRW struct{ get, set bool }

var (
	rw = optRW{true, true}
	ro = optRW{true, false}
)

// allowed lists the options passed through, by level and name.
var allowed = map[int]map[int]optRW{
	unix.SOL_SOCKET: {
		unix.SO_TYPE:         ro,
		unix.SO_DOMAIN:       ro,
		unix.SO_PROTOCOL:     ro,
		unix.SO_ACCEPTCONN:   ro,
		unix.SO_REUSEADDR:    rw,
		unix.SO_REUSEPORT:    rw,
		unix.SO_KEEPALIVE:    rw,
		unix.SO_LINGER:       rw,
		unix.SO_RCVBUF:       rw,
		unix.SO_SNDBUF:       rw,
		unix.SO_RCVLOWAT:     rw,
		unix.SO_SNDLOWAT:     ro,
		unix.SO_BROADCAST:    rw,
		unix.SO_OOBINLINE:    rw,
		unix.SO_DONTROUTE:    rw,
		unix.SO_PRIORITY:     rw, // 0-6 without CAP_NET_ADMIN, which the host enforces
		unix.SO_INCOMING_CPU: ro,
	},
	unix.SOL_TCP: {
		unix.TCP_NODELAY:          rw,
		unix.TCP_CORK:             rw,
		unix.TCP_MAXSEG:           rw,
		unix.TCP_KEEPIDLE:         rw,
		unix.TCP_KEEPINTVL:        rw,
		unix.TCP_KEEPCNT:          rw,
		unix.TCP_SYNCNT:           rw,
		unix.TCP_LINGER2:          rw,
		unix.TCP_DEFER_ACCEPT:     rw,
		unix.TCP_WINDOW_CLAMP:     rw,
		unix.TCP_INFO:             ro,
		unix.TCP_QUICKACK:         rw,
		unix.TCP_USER_TIMEOUT:     rw,
		unix.TCP_CONGESTION:       rw, // the host allows only net.ipv4.tcp_allowed_congestion_control
		unix.TCP_NOTSENT_LOWAT:    rw,
		unix.TCP_FASTOPEN:         rw,
		unix.TCP_FASTOPEN_CONNECT: rw,
	},
	unix.SOL_IP: {
		unix.IP_TOS:                  rw,
		unix.IP_TTL:                  rw,
		unix.IP_MTU:                  ro,
		unix.IP_MTU_DISCOVER:         rw,
		unix.IP_MULTICAST_TTL:        rw,
		unix.IP_MULTICAST_LOOP:       rw,
		unix.IP_MULTICAST_IF:         rw,
		unix.IP_ADD_MEMBERSHIP:       {false, true},
		unix.IP_DROP_MEMBERSHIP:      {false, true},
		unix.IP_BIND_ADDRESS_NO_PORT: rw,
		unix.IP_RECVERR:              rw, // errqueue.go
	},
	unix.SOL_IPV6: {
		unix.IPV6_V6ONLY:          rw,
		unix.IPV6_UNICAST_HOPS:    rw,
		unix.IPV6_MULTICAST_HOPS:  rw,
		unix.IPV6_MULTICAST_LOOP:  rw,
		unix.IPV6_MULTICAST_IF:    rw,
		unix.IPV6_ADD_MEMBERSHIP:  {false, true},
		unix.IPV6_DROP_MEMBERSHIP: {false, true},
		unix.IPV6_TCLASS:          rw,
		unix.IPV6_MTU_DISCOVER:    rw,
		unix.IPV6_MTU:             ro,
		unix.IPV6_RECVERR:         rw,
	},
	// UDP segmentation offload: the host splits a send into datagrams
	// (QUIC stacks send with it); corking makes one of several sends.
	unix.SOL_UDP: {
		unix.UDP_SEGMENT: rw,
		unix.UDP_CORK:    rw,
	},
}

// maxOptLen bounds an option value read from the host (TCP_INFO is the
// largest listed, 232 bytes on current kernels).
const maxOptLen = 512

// levelOK reports whether level is one an inet socket of s's family
// has, and gives the error Linux gives otherwise.
func (s *Socket) levelOK(level int) error {
	switch level {
	case unix.SOL_SOCKET, unix.SOL_IP:
		return nil
	case unix.SOL_TCP:
		if s.typ == unix.SOCK_STREAM {
			return nil
		}
	case unix.SOL_IPV6:
		if s.family == unix.AF_INET6 {
			return nil
		}
	case unix.SOL_UDP:
		if s.typ == unix.SOCK_DGRAM && s.protocol == unix.IPPROTO_UDP {
			return nil
		}
	}
	return unix.ENOPROTOOPT
}

// GetSockOpt implements getsockopt(2) for the allowed options (SO_ERROR
// reads and clears the pending error). SO_RCVTIMEO and SO_SNDTIMEO are
// the syscall layer's (Timeout).
func (s *Socket) GetSockOpt(level, name int) ([]byte, error) {
	if err := s.levelOK(level); err != nil {
		return nil, err
	}
	if level == unix.SOL_SOCKET && name == unix.SO_ERROR {
		e := int32(s.TakeError())
		return []byte{byte(e), byte(e >> 8), byte(e >> 16), byte(e >> 24)}, nil
	}
	if o := allowed[level][name]; !o.get && !cmsgOptions[level][name] {
		return nil, unix.ENOPROTOOPT
	}
	return getsockopt(s.fd, level, name, maxOptLen)
}

// SetSockOpt implements setsockopt(2) for the allowed options. netAdmin
// (the caller's CAP_NET_ADMIN in the sandbox) grants nothing on the
// host: privileged options are not listed at all.
func (s *Socket) SetSockOpt(level, name int, b []byte, netAdmin bool) error {
	if err := s.levelOK(level); err != nil {
		return err
	}
	if cmsgOptions[level][name] {
		if err := setsockopt(s.fd, level, name, b); err != nil {
			return err
		}
		s.cmsgOn.Store(true)
		return nil
	}
	if o := allowed[level][name]; !o.set {
		return unix.ENOPROTOOPT
	}
	return setsockopt(s.fd, level, name, b)
}
