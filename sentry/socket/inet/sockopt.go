package inet

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"time"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/cocoonrt/cocoon/sentry/socket/netfilter"
	"github.com/cocoonrt/cocoon/sentry/socket/sockopt"
)

// Linux's limits on the options below.
const (
	// maxTCPKeepIdle, maxTCPKeepIntvl and maxTCPKeepCnt bound
	// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
	maxTCPKeepIdle  = 32767
	maxTCPKeepIntvl = 32767
	maxTCPKeepCnt   = 127
	// sizeofTCPInfo is sizeof(struct tcp_info) of Linux 6.x.
	sizeofTCPInfo = 248
	// maxTCPSynCnt is MAX_TCP_SYNCNT.
	maxTCPSynCnt = 127
)

var le = binary.LittleEndian

func i32(v int) []byte { return le.AppendUint32(nil, uint32(int32(v))) }

func b32(v bool) []byte {
	if v {
		return i32(1)
	}
	return i32(0)
}

// GetSockOpt returns the value of an option at SOL_SOCKET, SOL_IP,
// SOL_IPV6 or SOL_TCP, encoded as Linux returns it (the caller truncates
// it to the user's length). SO_RCVTIMEO and SO_SNDTIMEO are the
// caller's, like for unix sockets. Unknown options are ENOPROTOOPT.
func (s *Socket) GetSockOpt(level, name int) ([]byte, error) {
	switch level {
	case linux.SOL_SOCKET:
		return s.getSocketOpt(name)
	case linux.SOL_TCP:
		if !s.isStream() {
			return nil, s.badLevel()
		}
		return s.getTCPOpt(name)
	case linux.SOL_IP:
		return s.getIPOpt(name)
	case linux.SOL_IPV6:
		if s.family == linux.AF_INET6 {
			return s.getIPv6Opt(name)
		}
	case linux.SOL_UDP, solUDPLite:
		if s.isUDP() {
			return s.getUDPOpt(name)
		}
	}
	return nil, s.badLevel()
}

// badLevel is the error for an option level the socket has no handler
// for: IPv4 sockets end in ip_getsockopt's EOPNOTSUPP, IPv6 ones in
// ipv6_getsockopt's ENOPROTOOPT.
func (s *Socket) badLevel() error {
	if s.family == linux.AF_INET {
		return linux.EOPNOTSUPP
	}
	return linux.ENOPROTOOPT
}

func (s *Socket) getSocketOpt(name int) ([]byte, error) {
	ops := s.ep.SocketOptions()
	switch name {
	case linux.SO_TYPE:
		return i32(s.typ), nil
	case linux.SO_DOMAIN:
		return i32(s.family), nil
	case linux.SO_PROTOCOL:
		return i32(s.protocol), nil
	case linux.SO_ERROR:
		return i32(int(s.TakeError())), nil
	case linux.SO_ACCEPTCONN:
		return b32(s.Listening()), nil
	case linux.SO_REUSEADDR:
		return b32(ops.GetReuseAddress()), nil
	case linux.SO_REUSEPORT:
		return b32(ops.GetReusePort()), nil
	case linux.SO_KEEPALIVE:
		return b32(ops.GetKeepAlive()), nil
	case linux.SO_BROADCAST:
		return b32(ops.GetBroadcast()), nil
	case linux.SO_OOBINLINE:
		// netstack has no urgent data: every byte is in line.
		return b32(true), nil
	case linux.SO_SNDBUF:
		return i32(int(ops.GetSendBufferSize())), nil
	case linux.SO_RCVBUF:
		return i32(int(ops.GetReceiveBufferSize())), nil
	case linux.SO_RCVLOWAT:
		return i32(s.RcvLowat()), nil
	case linux.SO_SNDLOWAT:
		return i32(1), nil
	case linux.SO_PRIORITY:
		return i32(int(s.priority.Load())), nil
	case soTimestampOld, soTimestampNSOld, soTimestampNew, soTimestampNSNew:
		return b32(s.timestampOpt(name)), nil
	case linux.SO_RXQ_OVFL:
		return b32(s.recvFlag(cmsgRxqOvfl)), nil
	case linux.SO_LINGER:
		l := ops.GetLinger()
		b := b32(l.Enabled)
		return le.AppendUint32(b, uint32(l.Timeout/time.Second)), nil
	case linux.SO_PASSCRED:
		return b32(ops.GetPassCred()), nil
	case linux.SO_MARK:
		return i32(int(int32(ops.GetMark()))), nil
	case linux.SO_BINDTODEVICE:
		return s.boundDevice()
	case linux.SO_BINDTOIFINDEX:
		return i32(int(ops.GetBindToDevice())), nil
	case linux.SO_ZEROCOPY:
		return b32(s.zerocopy.Load()), nil
	case linux.SO_COOKIE:
		// The socket's inode number, which sock_diag reports as its
		// cookie too: unique while the socket lives and never 0, as
		// sock_gen_cookie's are.
		a, err := s.Stat()
		if err != nil {
			return nil, err
		}
		return le.AppendUint64(nil, a.Ino), nil
	case linux.SO_PEERCRED:
		// An inet socket has no peer credentials: cred_to_ucred
		// reports pid 0 and uid and gid -1.
		return append(i32(0), append(i32(-1), i32(-1)...)...), nil
	case linux.SO_DEBUG:
		return b32(s.debug.Load()), nil
	case linux.SO_BSDCOMPAT:
		return i32(0), nil
	case linux.SO_NO_CHECK:
		return b32(ops.GetNoChecksum()), nil
	case linux.SO_INCOMING_CPU:
		return i32(int(s.incomingCPU.Load() - 1)), nil
	case linux.SO_BUSY_POLL, linux.SO_PREFER_BUSY_POLL, linux.SO_BUSY_POLL_BUDGET:
		return sockopt.GetBusyPoll(name, s.busyPollOpt(name).Load())
	case linux.SO_INCOMING_NAPI_ID:
		return i32(0), nil
	case linux.SO_TXREHASH:
		if !s.isStream() {
			return nil, linux.EOPNOTSUPP // TCP's alone
		}
		return b32(!s.txRehashOff.Load()), nil
	case linux.SO_SELECT_ERR_QUEUE:
		return b32(s.selectErrQueue.Load()), nil
	}
	return nil, linux.ENOPROTOOPT
}

// GetLenError is what getsockopt fails with when the caller's buffer,
// optLen bytes, is too short for an option whose value (v, from
// GetSockOpt) Linux will not truncate.
func GetLenError(level, name, optLen int, v []byte) error {
	if level != linux.SOL_SOCKET {
		return nil
	}
	switch {
	case name == linux.SO_BINDTODEVICE && len(v) > 0 && optLen < ifNameSize:
		return linux.EINVAL
	case name == linux.SO_COOKIE && optLen < 8:
		return linux.EINVAL
	}
	return nil
}

func (s *Socket) getTCPOpt(name int) ([]byte, error) {
	ops := s.ep.SocketOptions()
	switch name {
	case linux.TCP_NODELAY:
		return b32(!ops.GetDelayOption()), nil
	case linux.TCP_CORK:
		return b32(ops.GetCorkOption()), nil
	case linux.TCP_QUICKACK:
		return b32(ops.GetQuickAck()), nil
	case linux.TCP_MAXSEG:
		return s.intOpt(tcpip.MaxSegOption)
	case linux.TCP_KEEPCNT:
		return s.intOpt(tcpip.KeepaliveCountOption)
	case linux.TCP_SYNCNT:
		return s.intOpt(tcpip.TCPSynCountOption)
	case linux.TCP_WINDOW_CLAMP:
		return s.intOpt(tcpip.TCPWindowClampOption)
	case linux.TCP_FASTOPEN:
		return i32(int(s.fastOpenQueue.Load())), nil
	case linux.TCP_FASTOPEN_CONNECT:
		return b32(s.fastOpenConnect.Load()), nil
	case linux.TCP_FASTOPEN_NO_COOKIE:
		return b32(s.fastOpenNoCookie.Load()), nil
	case linux.TCP_INQ:
		return b32(s.inq.Load()), nil
	case linux.TCP_KEEPIDLE:
		var v tcpip.KeepaliveIdleOption
		if terr := s.ep.GetSockOpt(&v); terr != nil {
			return nil, errno(terr)
		}
		return i32(int(time.Duration(v) / time.Second)), nil
	case linux.TCP_KEEPINTVL:
		var v tcpip.KeepaliveIntervalOption
		if terr := s.ep.GetSockOpt(&v); terr != nil {
			return nil, errno(terr)
		}
		return i32(int(time.Duration(v) / time.Second)), nil
	case linux.TCP_USER_TIMEOUT:
		var v tcpip.TCPUserTimeoutOption
		if terr := s.ep.GetSockOpt(&v); terr != nil {
			return nil, errno(terr)
		}
		return i32(int(time.Duration(v) / time.Millisecond)), nil
	case linux.TCP_LINGER2:
		var v tcpip.TCPLingerTimeoutOption
		if terr := s.ep.GetSockOpt(&v); terr != nil {
			return nil, errno(terr)
		}
		// A negative timeout is "no FIN_WAIT2 linger": Linux says -1.
		if v < 0 {
			return i32(-1), nil
		}
		return i32(int(time.Duration(v) / time.Second)), nil
	case linux.TCP_DEFER_ACCEPT:
		var v tcpip.TCPDeferAcceptOption
		if terr := s.ep.GetSockOpt(&v); terr != nil {
			return nil, errno(terr)
		}
		return i32(int(time.Duration(v) / time.Second)), nil
	case linux.TCP_CONGESTION:
		var v tcpip.CongestionControlOption
		if terr := s.ep.GetSockOpt(&v); terr != nil {
			return nil, errno(terr)
		}
		// TCP_CA_NAME_MAX bytes, NUL-padded.
		b := make([]byte, 16)
		copy(b, v)
		return b, nil
	case linux.TCP_INFO:
		b, err := TCPInfo(s.ep)
		if err == nil && s.listenStopped.Load() {
			b[0] = uint8(tcp.StateClose)
		}
		return b, err
	case linux.TCP_THIN_DUPACK:
		// A no-op since Linux 4.13, which always reports 0.
		return i32(0), nil
	case linux.TCP_ULP:
		// No upper-layer protocol is attached: an empty name.
		return nil, nil
	}
	return nil, linux.ENOPROTOOPT
}

// TCPInfo encodes a TCP endpoint's struct tcp_info (TCP_INFO,
// INET_DIAG_INFO) with what netstack tracks; the counters it does not
// keep are 0.
func TCPInfo(ep tcpip.Endpoint) ([]byte, error) {
	var v tcpip.TCPInfoOption
	if terr := ep.GetSockOpt(&v); terr != nil {
		return nil, errno(terr)
	}
	b := make([]byte, sizeofTCPInfo)
	b[0] = uint8(v.State)
	switch v.CcState {
	case tcpip.RTORecovery:
		b[1] = 4 // TCP_CA_Loss
	case tcpip.FastRecovery, tcpip.SACKRecovery:
		b[1] = 3 // TCP_CA_Recovery
	case tcpip.Disorder:
		b[1] = 1 // TCP_CA_Disorder
	}
	le.PutUint32(b[8:], uint32(v.RTO/time.Microsecond))
	if mss, terr := ep.GetSockOptInt(tcpip.MaxSegOption); terr == nil {
		le.PutUint32(b[16:], uint32(mss))
		le.PutUint32(b[20:], uint32(mss))
		le.PutUint32(b[84:], uint32(mss))
	}
	le.PutUint32(b[68:], uint32(v.RTT/time.Microsecond))
	le.PutUint32(b[72:], uint32(v.RTTVar/time.Microsecond))
	le.PutUint32(b[76:], v.SndSsthresh)
	le.PutUint32(b[80:], v.SndCwnd)
	if v.ReorderSeen {
		le.PutUint32(b[88:], 1)
	}
	return b, nil
}

func (s *Socket) intOpt(opt tcpip.SockOptInt) ([]byte, error) {
	v, terr := s.ep.GetSockOptInt(opt)
	if terr != nil {
		return nil, errno(terr)
	}
	return i32(v), nil
}

// originalDst is SO_ORIGINAL_DST: where a connection the packet filter
// redirected was going (getorigdst, ipv6_getorigdst): TCP only, ENOENT
// when it was not redirected.
func (s *Socket) originalDst() ([]byte, error) {
	if !s.isStream() {
		return nil, linux.ENOPROTOOPT
	}
	var v tcpip.OriginalDestinationOption
	if terr := s.ep.GetSockOpt(&v); terr != nil {
		return nil, linux.ENOENT
	}
	return sockaddr(s.family, tcpip.FullAddress(v)), nil
}

func (s *Socket) getIPOpt(name int) ([]byte, error) {
	ops := s.ep.SocketOptions()
	switch name {
	case netfilter.OriginalDst:
		return s.originalDst()
	case linux.IP_TTL:
		v, terr := s.ep.GetSockOptInt(tcpip.IPv4TTLOption)
		if terr != nil {
			return nil, errno(terr)
		}
		if v == 0 {
			// "Use the default", which Linux reports as its value:
			// the namespace's net.ipv4.ip_default_ttl.
			v = s.stack.DefaultTTL()
		}
		return i32(v), nil
	case linux.IP_TOS:
		return s.intOpt(tcpip.IPv4TOSOption)
	case linux.IP_MULTICAST_TTL:
		return s.intOpt(tcpip.MulticastTTLOption)
	case linux.IP_MULTICAST_LOOP:
		return b32(ops.GetMulticastLoop()), nil
	case linux.IP_MTU_DISCOVER:
		return i32(s.pmtuDiscover(false)), nil
	case linux.IP_BIND_ADDRESS_NO_PORT:
		return b32(s.bindNoPort()), nil
	case linux.IP_RECVTOS, linux.IP_RECVTTL, linux.IP_PKTINFO, linux.IP_RECVORIGDSTADDR:
		flag, _ := recvFlagOf(linux.SOL_IP, name)
		return b32(s.recvFlag(flag)), nil
	case linux.IP_RECVERR:
		return b32(ops.GetIPv4RecvError()), nil
	case linux.IP_HDRINCL:
		return b32(ops.GetHeaderIncluded()), nil
	case linux.IP_MTU:
		return s.pathMTU()
	case linux.IP_MULTICAST_IF:
		if s.isStream() {
			// TCP keeps no multicast interface: INADDR_ANY.
			return make([]byte, 4), nil
		}
		var v tcpip.MulticastInterfaceOption
		if terr := s.ep.GetSockOpt(&v); terr != nil {
			return nil, errno(terr)
		}
		b := make([]byte, 4)
		if v.InterfaceAddr.Len() == 4 {
			a := v.InterfaceAddr.As4()
			copy(b, a[:])
		}
		return b, nil
	}
	return nil, linux.ENOPROTOOPT
}

func (s *Socket) getIPv6Opt(name int) ([]byte, error) {
	ops := s.ep.SocketOptions()
	switch name {
	case netfilter.OriginalDst:
		// IP6T_SO_ORIGINAL_DST: as SO_ORIGINAL_DST.
		return s.originalDst()
	case linux.IPV6_V6ONLY:
		return b32(ops.GetV6Only()), nil
	case linux.IPV6_UNICAST_HOPS:
		v, terr := s.ep.GetSockOptInt(tcpip.IPv6HopLimitOption)
		if terr != nil {
			return nil, errno(terr)
		}
		if v < 0 {
			v = 64
		}
		return i32(v), nil
	case linux.IPV6_TCLASS:
		return s.intOpt(tcpip.IPv6TrafficClassOption)
	case linux.IPV6_MULTICAST_HOPS:
		return s.intOpt(tcpip.MulticastTTLOption)
	case linux.IPV6_MULTICAST_LOOP:
		return b32(ops.GetMulticastLoop()), nil
	case linux.IPV6_MTU_DISCOVER:
		return i32(s.pmtuDiscover(true)), nil
	case linux.IPV6_DONTFRAG:
		return b32(s.dontFrag.Load()), nil
	case linux.IPV6_RECVERR:
		return b32(ops.GetIPv6RecvError()), nil
	case linux.IPV6_RECVTCLASS, linux.IPV6_RECVPKTINFO, linux.IPV6_RECVHOPLIMIT, linux.IPV6_RECVORIGDSTADDR:
		flag, _ := recvFlagOf(linux.SOL_IPV6, name)
		return b32(s.recvFlag(flag)), nil
	case linux.IPV6_MTU:
		return s.pathMTU()
	case linux.IPV6_MULTICAST_IF:
		if s.isStream() {
			return i32(0), nil
		}
		var v tcpip.MulticastInterfaceOption
		if terr := s.ep.GetSockOpt(&v); terr != nil {
			return nil, errno(terr)
		}
		return i32(int(v.NIC)), nil
	}
	return nil, linux.ENOPROTOOPT
}

// SetSockOpt sets an option at SOL_SOCKET, SOL_IP, SOL_IPV6 or SOL_TCP
// from b, the bytes the caller passed (at most 64). netAdmin reports
// CAP_NET_ADMIN (SO_SNDBUFFORCE, SO_RCVBUFFORCE); SO_MARK's privilege
// (CAP_NET_RAW or CAP_NET_ADMIN) is the caller's to check. The options that ask
// for ancillary data on receive (IP_PKTINFO, IP_RECVTOS, ...) are
// ENOPROTOOPT until recvmsg delivers it.
func (s *Socket) SetSockOpt(level, name int, b []byte, netAdmin bool) error {
	switch level {
	case linux.SOL_SOCKET:
		return s.setSocketOpt(name, b, netAdmin)
	case linux.SOL_TCP:
		if !s.isStream() {
			return linux.ENOPROTOOPT
		}
		return s.setTCPOpt(name, b)
	case linux.SOL_IP:
		return s.setIPOpt(name, b)
	case linux.SOL_IPV6:
		if s.family != linux.AF_INET6 {
			return linux.ENOPROTOOPT
		}
		return s.setIPv6Opt(name, b)
	case linux.SOL_UDP, solUDPLite:
		if s.isUDP() {
			return s.setUDPOpt(name, b)
		}
	}
	return linux.ENOPROTOOPT
}

// intArg decodes an int option value: EINVAL when shorter than an int.
func intArg(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, linux.EINVAL
	}
	return int(int32(le.Uint32(b))), nil
}

// bufSize is sock_setsockopt's rule for SO_SNDBUF and SO_RCVBUF: the
// value capped at the sysctl maximum (unless forced), doubled for
// bookkeeping overhead.
func bufSize(v, maxv int, force bool) int64 {
	if v < 0 {
		v = 0
	}
	if !force {
		v = min(v, maxv)
	}
	return int64(min(v, 1<<30) * 2)
}

func (s *Socket) setSocketOpt(name int, b []byte, netAdmin bool) error {
	ops := s.ep.SocketOptions()
	if name == linux.SO_LINGER {
		if len(b) < 8 {
			return linux.EINVAL
		}
		secs := int32(le.Uint32(b[4:]))
		ops.SetLinger(tcpip.LingerOption{Enabled: le.Uint32(b) != 0, Timeout: time.Duration(max(secs, 0)) * time.Second})
		return nil
	}
	v, err := intArg(b)
	if err != nil {
		return err
	}
	switch name {
	case linux.SO_ZEROCOPY:
		if !s.zerocopyAllowed() {
			return linux.EOPNOTSUPP
		}
		if v < 0 || v > 1 {
			return linux.EINVAL
		}
		s.zerocopy.Store(v == 1)
	case linux.SO_REUSEADDR:
		ops.SetReuseAddress(v != 0)
	case linux.SO_REUSEPORT:
		ops.SetReusePort(v != 0)
	case linux.SO_KEEPALIVE:
		ops.SetKeepAlive(v != 0)
	case linux.SO_BROADCAST:
		ops.SetBroadcast(v != 0)
	case linux.SO_PASSCRED:
		ops.SetPassCred(v != 0)
	case linux.SO_MARK:
		// The caller checked CAP_NET_RAW or CAP_NET_ADMIN. The
		// socket's packets carry the mark, which the packet filter
		// matches (-m mark).
		ops.SetMark(uint32(v))
	case linux.SO_SNDBUF:
		ops.SetSendBufferSize(bufSize(v, s.stack.BufferMax(true), false), true)
	case linux.SO_RCVBUF:
		ops.SetReceiveBufferSize(bufSize(v, s.stack.BufferMax(false), false), true)
		s.rcvbufLocked.Store(true)
	case linux.SO_SNDBUFFORCE, linux.SO_RCVBUFFORCE:
		if !netAdmin {
			return linux.EPERM
		}
		if name == linux.SO_SNDBUFFORCE {
			ops.SetSendBufferSize(bufSize(v, 0, true), true)
		} else {
			ops.SetReceiveBufferSize(bufSize(v, 0, true), true)
			s.rcvbufLocked.Store(true)
		}
	case linux.SO_RCVLOWAT:
		// gVisor keeps the value and ignores it: the socket applies
		// it itself (RcvLowat). TCP's is at most half the receive
		// buffer it may have (tcp_set_rcvlowat): the one SO_RCVBUF
		// set, else net.ipv4.tcp_rmem's maximum.
		if v < 0 {
			v = 1<<31 - 1
		}
		if s.isStream() {
			limit := s.stack.TCPReceiveBufferMax()
			if s.rcvbufLocked.Load() {
				limit = int(ops.GetReceiveBufferSize())
			}
			v = min(v, limit>>1)
		}
		s.rcvLowat.Store(int32(max(v, 1)))
	case linux.SO_DEBUG:
		// Kept for getsockopt; Linux's SOCK_DBG changes nothing
		// either, but turning it on takes CAP_NET_ADMIN.
		if v != 0 && !netAdmin {
			return linux.EACCES
		}
		s.debug.Store(v != 0)
	case linux.SO_BSDCOMPAT:
		// Ignored, as Linux has ignored it since 2.6.
	case linux.SO_NO_CHECK:
		// UDP over IPv4 then sends without a checksum; IPv6 requires
		// one, and TCP always has one.
		ops.SetNoChecksum(v != 0)
	case linux.SO_INCOMING_CPU:
		// Kept for getsockopt. Linux also steers a SO_REUSEPORT
		// group's connections to the socket whose CPU received them;
		// the sandbox's stack receives on whichever thread runs, so
		// the group's hash picks as it does for sockets without one.
		s.incomingCPU.Store(int64(v) + 1)
	case linux.SO_PRIORITY:
		// Kept for getsockopt. A packet's priority picks its band
		// in the queueing discipline of the interface it leaves by;
		// a pod's veth has none (noqueue), and the frames the sentry
		// writes to it carry none further on, where a host's
		// pfifo_fast would have banded a runc pod's packets by it.
		if (v < 0 || v > 6) && !netAdmin {
			return linux.EPERM
		}
		s.priority.Store(int32(v))
	case soTimestampOld, soTimestampNSOld, soTimestampNew, soTimestampNSNew:
		if s.isStream() {
			// TCP's receive timestamps are not kept (cmsg.go).
			return linux.ENOPROTOOPT
		}
		s.setTimestamp(name, v != 0)
	case linux.SO_RXQ_OVFL:
		s.setRxqOvfl(v != 0)
	case linux.SO_BUSY_POLL, linux.SO_PREFER_BUSY_POLL, linux.SO_BUSY_POLL_BUDGET:
		opt := s.busyPollOpt(name)
		kept, err := sockopt.SetBusyPoll(name, int32(v), opt.Load(), netAdmin)
		if err != nil {
			return err
		}
		opt.Store(kept)
	case linux.SO_TXREHASH:
		if !s.isStream() {
			return linux.EOPNOTSUPP // TCP's alone
		}
		// -1 is the default, net.core.txrehash's, which is on.
		if v < -1 || v > 1 {
			return linux.EINVAL
		}
		s.txRehashOff.Store(v == 0)
	case linux.SO_SELECT_ERR_QUEUE:
		s.selectErrQueue.Store(v != 0)
	case linux.SO_OOBINLINE:
		if v == 0 {
			// Out-of-band data kept apart is not implemented.
			return linux.ENOPROTOOPT
		}
	default:
		return linux.ENOPROTOOPT
	}
	return nil
}

func (s *Socket) setTCPOpt(name int, b []byte) error {
	ops := s.ep.SocketOptions()
	switch name {
	case linux.TCP_CONGESTION:
		return s.setCongestionControl(b)
	case linux.TCP_ULP:
		// tcp_set_ulp: the sandbox's kernel has no upper-layer
		// protocol (kernel TLS, espintcp, MPTCP), so every name is
		// unknown; OpenSSL and others then do TLS themselves.
		if len(b) < 1 {
			return linux.EINVAL
		}
		return linux.ENOENT
	}
	v, err := intArg(b)
	if err != nil {
		return err
	}
	setDur := func(opt tcpip.SettableSocketOption) error { return errno(s.ep.SetSockOpt(opt)) }
	switch name {
	case linux.TCP_NODELAY:
		ops.SetDelayOption(v == 0)
	case linux.TCP_CORK:
		ops.SetCorkOption(v != 0)
	case linux.TCP_QUICKACK:
		ops.SetQuickAck(v != 0)
	case linux.TCP_MAXSEG:
		return errno(s.ep.SetSockOptInt(tcpip.MaxSegOption, v))
	case linux.TCP_KEEPIDLE:
		if v < 1 || v > maxTCPKeepIdle {
			return linux.EINVAL
		}
		o := tcpip.KeepaliveIdleOption(time.Duration(v) * time.Second)
		return setDur(&o)
	case linux.TCP_KEEPINTVL:
		if v < 1 || v > maxTCPKeepIntvl {
			return linux.EINVAL
		}
		o := tcpip.KeepaliveIntervalOption(time.Duration(v) * time.Second)
		return setDur(&o)
	case linux.TCP_KEEPCNT:
		if v < 1 || v > maxTCPKeepCnt {
			return linux.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.KeepaliveCountOption, v))
	case linux.TCP_SYNCNT:
		if v < 1 || v > maxTCPSynCnt {
			return linux.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.TCPSynCountOption, v))
	case linux.TCP_USER_TIMEOUT:
		if v < 0 {
			return linux.EINVAL
		}
		o := tcpip.TCPUserTimeoutOption(time.Duration(v) * time.Millisecond)
		return setDur(&o)
	case linux.TCP_LINGER2:
		o := tcpip.TCPLingerTimeoutOption(time.Duration(v) * time.Second)
		if v < 0 {
			o = tcpip.TCPLingerTimeoutOption(-1)
		}
		return setDur(&o)
	case linux.TCP_DEFER_ACCEPT:
		o := tcpip.TCPDeferAcceptOption(time.Duration(deferAcceptSecs(v)) * time.Second)
		return setDur(&o)
	case linux.TCP_WINDOW_CLAMP:
		return errno(s.ep.SetSockOptInt(tcpip.TCPWindowClampOption, v))
	case linux.TCP_FASTOPEN:
		// A listener's queue of connections opened with data in
		// their SYN. It is kept for getsockopt and takes none, as on
		// Linux with its default net.ipv4.tcp_fastopen (1: clients
		// only): the SYN-ACK offers no cookie, and a client sends its
		// data after the handshake.
		if v < 0 {
			return linux.EINVAL
		}
		if st := tcp.EndpointState(s.ep.State()); st != tcp.StateInitial && st != tcp.StateBound && st != tcp.StateListen && st != tcp.StateClose {
			return linux.EINVAL
		}
		s.fastOpenQueue.Store(int32(v))
	case linux.TCP_FASTOPEN_CONNECT:
		return s.setFastOpenConnect(v)
	case linux.TCP_FASTOPEN_NO_COOKIE:
		return s.setFastOpenNoCookie(v)
	case linux.TCP_INQ:
		return s.setInq(v)
	case linux.TCP_THIN_DUPACK:
		if v < 0 || v > 1 {
			return linux.EINVAL
		}
	default:
		return linux.ENOPROTOOPT
	}
	return nil
}

// setCongestionControl implements TCP_CONGESTION: a name of at most
// TCP_CA_NAME_MAX-1 bytes, up to a NUL. gVisor's TCP has reno and cubic,
// both in Linux's default net.ipv4.tcp_allowed_congestion_control, so
// anyone may pick them; another name is one the kernel does not have
// (ENOENT).
func (s *Socket) setCongestionControl(b []byte) error {
	if len(b) < 1 {
		return linux.EINVAL
	}
	name := b[:min(len(b), 15)]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	o := tcpip.CongestionControlOption(name)
	if terr := s.ep.SetSockOpt(&o); terr != nil {
		if _, ok := terr.(*tcpip.ErrNoSuchFile); ok {
			return linux.ENOENT
		}
		return errno(terr)
	}
	return nil
}

// pmtuDiscover returns IP_MTU_DISCOVER's (or, v6, IPV6_MTU_DISCOVER's)
// value: IP_PMTUDISC_WANT until set.
func (s *Socket) pmtuDiscover(v6 bool) int {
	v := s.pmtud[0].Load()
	if v6 {
		v = s.pmtud[1].Load()
	}
	if v == 0 {
		return linux.IP_PMTUDISC_WANT
	}
	return int(v - 1)
}

// pmtudStrategy is gVisor's strategy for each IP_PMTUDISC_* value.
var pmtudStrategy = [...]tcpip.PMTUDStrategy{
	linux.IP_PMTUDISC_DONT:      tcpip.PMTUDiscoveryDont,
	linux.IP_PMTUDISC_WANT:      tcpip.PMTUDiscoveryWant,
	linux.IP_PMTUDISC_DO:        tcpip.PMTUDiscoveryDo,
	linux.IP_PMTUDISC_PROBE:     tcpip.PMTUDiscoveryProbe,
	linux.IP_PMTUDISC_INTERFACE: tcpip.PMTUDiscoveryProbe,
	linux.IP_PMTUDISC_OMIT:      tcpip.PMTUDiscoveryDont,
}

// setPMTUDiscover sets IP_MTU_DISCOVER (IPV6_MTU_DISCOVER when v6),
// whether a datagram's DF bit is set: the option of the socket's own
// family is gVisor's (one for both); an IPv6 socket keeps IPv4's for
// getsockopt. gVisor keeps no path MTU, so every setting that sets DF
// uses the interface's (INTERFACE's behaviour); OMIT fragments without
// DF, as DONT does.
func (s *Socket) setPMTUDiscover(v6 bool, v int) error {
	if v < linux.IP_PMTUDISC_DONT || v > linux.IP_PMTUDISC_OMIT {
		return linux.EINVAL
	}
	if v6 == (s.family == linux.AF_INET6) {
		if terr := s.ep.SetSockOptInt(tcpip.MTUDiscoverOption, int(pmtudStrategy[v])); terr != nil {
			return errno(terr)
		}
	}
	i := 0
	if v6 {
		i = 1
	}
	s.pmtud[i].Store(int32(v + 1))
	return nil
}

// deferAcceptSecs is the time TCP_DEFER_ACCEPT waits for data when set
// to secs: Linux counts it in SYN-ACK retransmissions (secs_to_retrans,
// from a 1 s timeout doubling up to TCP_RTO_MAX's 120 s) and reports and
// uses the time those take (retrans_to_secs): 5 becomes 7.
func deferAcceptSecs(secs int) int {
	const rtoInit, rtoMax = 1, 120
	if secs <= 0 {
		return 0
	}
	retrans, timeout, period := 1, rtoInit, rtoInit
	for secs > period && retrans < 255 {
		retrans++
		timeout = min(timeout<<1, rtoMax)
		period += timeout
	}
	return period
}

// byteOrIntArg decodes options Linux accepts as an int or a single byte
// (IP_TTL's relatives, IP_MULTICAST_LOOP).
func byteOrIntArg(b []byte) (int, error) {
	switch {
	case len(b) >= 4:
		return int(int32(le.Uint32(b))), nil
	case len(b) >= 1:
		return int(b[0]), nil
	}
	return 0, linux.EINVAL
}

func (s *Socket) setIPOpt(name int, b []byte) error {
	ops := s.ep.SocketOptions()
	if flag, ok := recvFlagOf(linux.SOL_IP, name); ok {
		v, err := byteOrIntArg(b)
		if err != nil {
			return err
		}
		s.setRecvFlag(flag, v != 0)
		return nil
	}
	switch name {
	case linux.IP_ADD_MEMBERSHIP, linux.IP_DROP_MEMBERSHIP:
		if s.isStream() {
			return linux.EPROTO
		}
		return s.setMembership(name == linux.IP_ADD_MEMBERSHIP, b)
	case linux.IP_MULTICAST_IF:
		if s.isStream() {
			return linux.EINVAL
		}
		return s.setMulticastIf(b)
	}
	v, err := byteOrIntArg(b)
	if err != nil {
		return err
	}
	switch name {
	case linux.IP_TTL:
		if len(b) < 4 {
			return linux.EINVAL
		}
		if v == -1 {
			v = 0
		} else if v < 1 || v > 255 {
			return linux.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv4TTLOption, v))
	case linux.IP_TOS:
		return errno(s.ep.SetSockOptInt(tcpip.IPv4TOSOption, v&0xff))
	case linux.IP_MULTICAST_TTL:
		if s.isStream() {
			return linux.EINVAL
		}
		if v == -1 {
			v = 1
		} else if v < 0 || v > 255 {
			return linux.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.MulticastTTLOption, v))
	case linux.IP_MULTICAST_LOOP:
		ops.SetMulticastLoop(v != 0)
	case linux.IP_MTU_DISCOVER:
		return s.setPMTUDiscover(false, v)
	case linux.IP_BIND_ADDRESS_NO_PORT:
		s.setBindNoPort(v != 0)
	case linux.IP_RECVERR:
		// Turning it off empties the queue (errqueue.go).
		ops.SetIPv4RecvError(v != 0)
	case linux.IP_HDRINCL:
		// The caller's IP header: raw sockets only.
		if s.typ != linux.SOCK_RAW {
			return linux.ENOPROTOOPT
		}
		ops.SetHeaderIncluded(v != 0)
	default:
		return linux.ENOPROTOOPT
	}
	return nil
}

// setMembership joins or leaves an IPv4 multicast group: struct ip_mreq
// or ip_mreqn (the interface by index).
func (s *Socket) setMembership(add bool, b []byte) error {
	if len(b) < 8 {
		return linux.EINVAL
	}
	m := tcpip.MembershipOption{
		MulticastAddr: tcpip.AddrFrom4([4]byte(b[0:4])),
		InterfaceAddr: tcpip.AddrFrom4([4]byte(b[4:8])),
	}
	if m.InterfaceAddr == (tcpip.AddrFrom4([4]byte{})) {
		m.InterfaceAddr = tcpip.Address{}
	}
	if len(b) >= 12 {
		m.NIC = tcpip.NICID(le.Uint32(b[8:]))
	}
	return s.setMembershipOpt(add, m)
}

func (s *Socket) setMulticastIf(b []byte) error {
	if len(b) < 4 {
		return linux.EINVAL
	}
	o := tcpip.MulticastInterfaceOption{InterfaceAddr: tcpip.AddrFrom4([4]byte(b[0:4]))}
	if len(b) >= 12 {
		// struct ip_mreqn: the address is imr_address.
		o.InterfaceAddr = tcpip.AddrFrom4([4]byte(b[4:8]))
		o.NIC = tcpip.NICID(le.Uint32(b[8:]))
	}
	if o.InterfaceAddr == (tcpip.AddrFrom4([4]byte{})) {
		o.InterfaceAddr = tcpip.Address{}
	}
	return errno(s.ep.SetSockOpt(&o))
}

// setMulticastIf6 sets IPV6_MULTICAST_IF, the interface (by index; 0:
// the route's) multicast datagrams leave by: an existing one, and the
// bound device's if the socket has one.
func (s *Socket) setMulticastIf6(index int) error {
	if index != 0 {
		if index < 0 || !s.stack.HasNIC(tcpip.NICID(index)) {
			return linux.ENODEV
		}
		if bound := int(s.ep.SocketOptions().GetBindToDevice()); bound != 0 && bound != index {
			return linux.EINVAL
		}
	}
	o := tcpip.MulticastInterfaceOption{NIC: tcpip.NICID(index)}
	return errno(s.ep.SetSockOpt(&o))
}

func (s *Socket) setIPv6Opt(name int, b []byte) error {
	ops := s.ep.SocketOptions()
	switch name {
	case linux.IPV6_JOIN_GROUP, linux.IPV6_LEAVE_GROUP:
		if len(b) < 20 {
			return linux.EINVAL
		}
		m := tcpip.MembershipOption{MulticastAddr: tcpip.AddrFrom16([16]byte(b[0:16])), NIC: tcpip.NICID(le.Uint32(b[16:]))}
		return s.setMembershipOpt(name == linux.IPV6_JOIN_GROUP, m)
	}
	v, err := intArg(b)
	if err != nil {
		return err
	}
	if flag, ok := recvFlagOf(linux.SOL_IPV6, name); ok {
		s.setRecvFlag(flag, v != 0)
		return nil
	}
	switch name {
	case linux.IPV6_V6ONLY:
		// Only before bind: the socket's port table entry depends on it.
		if a, terr := s.ep.GetLocalAddress(); terr == nil && a.Port != 0 {
			return linux.EINVAL
		}
		ops.SetV6Only(v != 0)
	case linux.IPV6_UNICAST_HOPS:
		if v < -1 || v > 255 {
			return linux.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv6HopLimitOption, v))
	case linux.IPV6_TCLASS:
		if v < -1 || v > 255 {
			return linux.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv6TrafficClassOption, max(v, 0)))
	case linux.IPV6_MULTICAST_IF:
		if s.isStream() {
			return linux.ENOPROTOOPT
		}
		return s.setMulticastIf6(v)
	case linux.IPV6_MULTICAST_HOPS:
		if s.isStream() {
			return linux.ENOPROTOOPT
		}
		if v < -1 || v > 255 {
			return linux.EINVAL
		}
		if v == -1 {
			v = 1
		}
		return errno(s.ep.SetSockOptInt(tcpip.MulticastTTLOption, v))
	case linux.IPV6_MULTICAST_LOOP:
		ops.SetMulticastLoop(v != 0)
	case linux.IPV6_MTU_DISCOVER:
		return s.setPMTUDiscover(true, v)
	case linux.IPV6_DONTFRAG:
		s.dontFrag.Store(v != 0)
	case linux.IPV6_RECVERR:
		ops.SetIPv6RecvError(v != 0)
	default:
		return linux.ENOPROTOOPT
	}
	return nil
}

// busyPollOpt is where the socket keeps the busy-polling option name.
func (s *Socket) busyPollOpt(name int) *atomic.Int32 {
	switch name {
	case linux.SO_BUSY_POLL:
		return &s.busyPoll[0]
	case linux.SO_PREFER_BUSY_POLL:
		return &s.busyPoll[1]
	}
	return &s.busyPoll[2]
}
