package netlink

import (
	"encoding/binary"
	"net/netip"

	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink/nlmsg"
	unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"
)

// NETLINK_SOCK_DIAG (sock_diag(7)) over a network namespace's sockets:
// SOCK_DIAG_BY_FAMILY dumps and lookups of its TCP and UDP sockets
// (inet_diag.c, tcp_diag.c, udp_diag.c) and of its unix sockets
// (unix_diag.c), what ss(8) lists them with.
//
// Not served: the requests of the old format (TCPDIAG_GETSOCK,
// DCCPDIAG_GETSOCK) and SOCK_DESTROY (EOPNOTSUPP, as on a kernel without
// CONFIG_INET_DIAG_DESTROY), the other families' handlers (netlink,
// packet: ENOENT, as when their modules are not loaded), and the
// bytecode filters of inet requests, which are accepted unchecked and not
// applied (ss applies its filters itself as well).

// Sizes and numbers of <linux/sock_diag.h>, <linux/inet_diag.h> and
// <linux/unix_diag.h>.
const (
	sizeofSockDiagReq  = 2
	sizeofInetDiagReq  = 56
	sizeofInetDiagMsg  = 72
	sizeofUnixDiagReq  = 24
	sizeofUnixDiagMsg  = 16
	inetDiagNoCookie   = ^uint32(0)
	tcpDiagGetSock     = 18
	dccpDiagGetSock    = 19
	sockDestroy        = 21
	sockDiagGroups     = 4 // SKNLGRP_MAX
	inetDiagInfo       = 2
	inetDiagCong       = 4
	inetDiagShutdown   = 8
	inetDiagSkV6Only   = 11
	unixDiagName       = 0
	unixDiagPeer       = 2
	unixDiagIcons      = 3
	unixDiagRQLen      = 4
	unixDiagMemInfo    = 5
	unixDiagShutdown   = 6
	unixDiagUID        = 7
	udiagShowName      = 0x01
	udiagShowPeer      = 0x04
	udiagShowIcons     = 0x08
	udiagShowRQLen     = 0x10
	udiagShowMemInfo   = 0x20
	udiagShowUID       = 0x40
	skMemInfoVars      = 9
	skMemInfoRcvBuf    = 1
	skMemInfoSndBuf    = 3
	skMemInfoRmemAlloc = 0
	skMemInfoWmemAlloc = 2
)

// SockDiag is the kernel side of NETLINK_SOCK_DIAG.
type SockDiag struct {
	// inet lists the namespace's TCP and UDP sockets, unix its unix
	// sockets.
	inet func() []netif.InetSocket
	unix func() []*unixsock.Socket
}

var _ Protocol = (*SockDiag)(nil)

// NewSockDiag returns sock_diag over the sockets inet and unix list.
func NewSockDiag(inet func() []netif.InetSocket, unix func() []*unixsock.Socket) *SockDiag {
	return &SockDiag{inet: inet, unix: unix}
}

// Groups implements Protocol.Groups.
func (*SockDiag) Groups() int { return sockDiagGroups }

// NonrootRecv implements Protocol.NonrootRecv: the destroy
// announcements are for CAP_NET_ADMIN.
func (*SockDiag) NonrootRecv() bool { return false }

// Serve implements Protocol.Serve, as sock_diag_rcv_msg and
// __sock_diag_cmd dispatch.
func (d *SockDiag) Serve(m nlmsg.Message, c *Caller) ([]nlmsg.Message, bool, linux.Errno) {
	switch m.Type {
	case linux.SOCK_DIAG_BY_FAMILY:
	case tcpDiagGetSock, dccpDiagGetSock, sockDestroy:
		return nil, false, linux.EOPNOTSUPP
	default:
		return nil, false, linux.EINVAL
	}
	if len(m.Payload) < sizeofSockDiagReq || m.Payload[0] >= linux.AF_MAX {
		return nil, false, linux.EINVAL
	}
	switch m.Payload[0] {
	case linux.AF_INET, linux.AF_INET6:
		return d.serveInet(m)
	case linux.AF_UNIX:
		return d.serveUnix(m)
	}
	return nil, false, linux.ENOENT
}

// inetDiagReq is struct inet_diag_req_v2.
type inetDiagReq struct {
	family, protocol, ext uint8
	states                uint32
	sport, dport          uint16
	src, dst              netip.Addr
	cookie                [2]uint32
}

func decodeInetDiagReq(b []byte) inetDiagReq {
	r := inetDiagReq{family: b[0], protocol: b[1], ext: b[2], states: le.Uint32(b[4:])}
	r.sport, r.dport = binary.BigEndian.Uint16(b[8:]), binary.BigEndian.Uint16(b[10:])
	if r.family == linux.AF_INET {
		r.src, r.dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[28:32]))
	} else {
		r.src, r.dst = netip.AddrFrom16([16]byte(b[12:28])), netip.AddrFrom16([16]byte(b[28:44]))
	}
	r.cookie = [2]uint32{le.Uint32(b[48:]), le.Uint32(b[52:])}
	return r
}

// serveInet is inet_diag_handler_cmd: a dump of the family's sockets of
// the protocol in the requested states, or one socket by its addresses.
func (d *SockDiag) serveInet(m nlmsg.Message) ([]nlmsg.Message, bool, linux.Errno) {
	if len(m.Payload) < sizeofInetDiagReq {
		return nil, false, linux.EINVAL
	}
	r := decodeInetDiagReq(m.Payload)
	if r.protocol != linux.IPPROTO_TCP && r.protocol != linux.IPPROTO_UDP {
		// No handler: a dump's NLMSG_DONE or the lookup's error
		// says so.
		return nil, isDump(m), linux.ENOENT
	}
	v6 := r.family == linux.AF_INET6
	var mine []netif.InetSocket
	for _, s := range d.inet() {
		if s.V6 == v6 && s.Protocol == int(r.protocol) {
			mine = append(mine, s)
		}
	}
	if isDump(m) {
		var msgs []nlmsg.Message
		for i := range mine {
			s := &mine[i]
			if r.states&(1<<s.State) == 0 ||
				(r.sport != 0 && r.sport != s.Local.Port()) || (r.dport != 0 && r.dport != s.Remote.Port()) {
				continue
			}
			msgs = append(msgs, inetDiagMessage(s, r.family, r.ext))
		}
		return msgs, true, 0
	}
	s := findInetSocket(mine, &r)
	if s == nil {
		return nil, false, linux.ENOENT
	}
	if r.cookie != [2]uint32{inetDiagNoCookie, inetDiagNoCookie} && r.cookie != inetCookie(s) {
		return nil, false, linux.ESTALE
	}
	return []nlmsg.Message{inetDiagMessage(s, r.family, r.ext)}, false, 0
}

// findInetSocket is inet_lookup's answer for a request's addresses: the
// connection with that local and remote address and port, or else the
// listener (or, for UDP, the unconnected socket) of the local one.
func findInetSocket(socks []netif.InetSocket, r *inetDiagReq) *netif.InetSocket {
	local, remote := netip.AddrPortFrom(r.src, r.sport), netip.AddrPortFrom(r.dst, r.dport)
	for i := range socks {
		if s := &socks[i]; s.Local == local && s.Remote == remote {
			return s
		}
	}
	for i := range socks {
		s := &socks[i]
		bound := s.State == netif.TCPListen || (s.Protocol == linux.IPPROTO_UDP && s.State == netif.TCPClose)
		if bound && s.Local.Port() == r.sport && (s.Local.Addr().IsUnspecified() || s.Local.Addr() == r.src) {
			return s
		}
	}
	return nil
}

// inetCookie is the socket's cookie: its inode number, unique while it
// lives, where Linux counts sockets as it meets them (sock_gen_cookie);
// a socket without a file has none (0).
func inetCookie(s *netif.InetSocket) [2]uint32 {
	return [2]uint32{uint32(s.Inode), uint32(s.Inode >> 32)}
}

// inetDiagMessage encodes a socket as inet_sk_diag_fill does: struct
// inet_diag_msg, then the shutdown state, IPV6_V6ONLY for an IPv6 socket,
// and the extensions asked for that the sandbox has (TCP's tcp_info and
// congestion control).
func inetDiagMessage(s *netif.InetSocket, family, ext uint8) nlmsg.Message {
	b := make([]byte, sizeofInetDiagMsg)
	b[0], b[1] = family, s.State
	binary.BigEndian.PutUint16(b[4:], s.Local.Port())
	binary.BigEndian.PutUint16(b[6:], s.Remote.Port())
	putDiagAddr(b[8:24], s.Local.Addr())
	putDiagAddr(b[24:40], s.Remote.Addr())
	cookie := inetCookie(s)
	le.PutUint32(b[44:], cookie[0])
	le.PutUint32(b[48:], cookie[1])
	rq, wq := s.RxQueue, s.TxQueue
	if s.State == netif.TCPListen {
		// A listener's queues are its accept queue and its limit.
		wq = uint64(s.Backlog)
	}
	le.PutUint32(b[56:], uint32(rq))
	le.PutUint32(b[60:], uint32(wq))
	le.PutUint32(b[64:], s.UID)
	le.PutUint32(b[68:], uint32(s.Inode))
	var w nlmsg.Builder
	w.Fixed(b)
	if s.State == netif.TCPTimeWait {
		// A TIME-WAIT socket is a minisock: the message alone.
		return nlmsg.Message{Header: nlmsg.Header{Type: linux.SOCK_DIAG_BY_FAMILY}, Payload: w.Bytes()}
	}
	w.U8(inetDiagShutdown, 0)
	if s.V6 {
		var v6only uint8
		if s.Endpoint.SocketOptions().GetV6Only() {
			v6only = 1
		}
		w.U8(inetDiagSkV6Only, v6only)
	}
	if s.Protocol == linux.IPPROTO_TCP {
		if ext&(1<<(inetDiagInfo-1)) != 0 {
			if info, err := inet.TCPInfo(s.Endpoint); err == nil {
				w.Attr(inetDiagInfo, info)
			}
		}
		if ext&(1<<(inetDiagCong-1)) != 0 {
			var cc tcpip.CongestionControlOption
			if terr := s.Endpoint.GetSockOpt(&cc); terr == nil {
				w.String(inetDiagCong, string(cc))
			}
		}
	}
	return nlmsg.Message{Header: nlmsg.Header{Type: linux.SOCK_DIAG_BY_FAMILY}, Payload: w.Bytes()}
}

// putDiagAddr writes an address into inet_diag_sockid's 16 bytes: an
// IPv4 one in the first four.
func putDiagAddr(b []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
		return
	}
	v := a.As16()
	copy(b, v[:])
}

// unixDiagReq is struct unix_diag_req.
type unixDiagReq struct {
	states, ino, show uint32
	cookie            [2]uint32
}

// serveUnix is unix_diag_handler_dump: a dump of the namespace's unix
// sockets in the requested states, or one by its inode.
func (d *SockDiag) serveUnix(m nlmsg.Message) ([]nlmsg.Message, bool, linux.Errno) {
	if len(m.Payload) < sizeofUnixDiagReq {
		return nil, false, linux.EINVAL
	}
	p := m.Payload
	r := unixDiagReq{states: le.Uint32(p[4:]), ino: le.Uint32(p[8:]), show: le.Uint32(p[12:]), cookie: [2]uint32{le.Uint32(p[16:]), le.Uint32(p[20:])}}
	socks := d.unix()
	if isDump(m) {
		var msgs []nlmsg.Message
		for _, s := range socks {
			info := s.Diag()
			if r.states&(1<<info.State) == 0 {
				continue
			}
			msgs = append(msgs, unixDiagMessage(s, &info, r.show))
		}
		return msgs, true, 0
	}
	if r.ino == 0 {
		return nil, false, linux.EINVAL
	}
	for _, s := range socks {
		if uint32(socketIno(s)) != r.ino {
			continue
		}
		if r.cookie != [2]uint32{inetDiagNoCookie, inetDiagNoCookie} && r.cookie != unixCookie(s) {
			return nil, false, linux.ESTALE
		}
		info := s.Diag()
		return []nlmsg.Message{unixDiagMessage(s, &info, r.show)}, false, 0
	}
	return nil, false, linux.ENOENT
}

// socketIno returns a unix socket's inode number.
func socketIno(s *unixsock.Socket) uint64 {
	a, _ := s.Stat()
	return a.Ino
}

// unixCookie is a unix socket's cookie, its inode number (inetCookie).
func unixCookie(s *unixsock.Socket) [2]uint32 {
	ino := socketIno(s)
	return [2]uint32{uint32(ino), uint32(ino >> 32)}
}

// unixDiagMessage encodes a socket as unix_diag.c's sk_diag_fill does:
// struct unix_diag_msg, then the attributes show asks for, and the
// shutdown state.
func unixDiagMessage(s *unixsock.Socket, info *unixsock.DiagInfo, show uint32) nlmsg.Message {
	b := make([]byte, sizeofUnixDiagMsg)
	b[0], b[1], b[2] = linux.AF_UNIX, uint8(info.Type), info.State
	ino := socketIno(s)
	le.PutUint32(b[4:], uint32(ino))
	cookie := unixCookie(s)
	le.PutUint32(b[8:], cookie[0])
	le.PutUint32(b[12:], cookie[1])
	var w nlmsg.Builder
	w.Fixed(b)
	if show&udiagShowName != 0 && info.Name != nil {
		// The name as bound: a path with its NUL, an abstract name
		// after its leading NUL.
		if info.Name.Abstract {
			w.Attr(unixDiagName, append([]byte{0}, info.Name.Name...))
		} else {
			w.Attr(unixDiagName, append([]byte(info.Name.Name), 0))
		}
	}
	if show&udiagShowPeer != 0 && info.Peer != nil {
		w.U32(unixDiagPeer, uint32(socketIno(info.Peer)))
	}
	if show&udiagShowIcons != 0 && info.State == 10 {
		icons := make([]byte, 0, 4*len(info.Connectors))
		for _, c := range info.Connectors {
			var ino uint32
			if c != nil {
				ino = uint32(socketIno(c))
			}
			icons = le.AppendUint32(icons, ino)
		}
		w.Attr(unixDiagIcons, icons)
	}
	if show&udiagShowRQLen != 0 {
		w.Attr(unixDiagRQLen, le.AppendUint32(le.AppendUint32(nil, info.RQueue), info.WQueue))
	}
	if show&udiagShowMemInfo != 0 {
		mem := make([]byte, 4*skMemInfoVars)
		le.PutUint32(mem[4*skMemInfoRmemAlloc:], info.RQueue)
		le.PutUint32(mem[4*skMemInfoRcvBuf:], uint32(s.Buf(false)))
		le.PutUint32(mem[4*skMemInfoWmemAlloc:], info.WQueue)
		le.PutUint32(mem[4*skMemInfoSndBuf:], uint32(s.Buf(true)))
		w.Attr(unixDiagMemInfo, mem)
	}
	w.U8(unixDiagShutdown, info.Shutdown)
	if show&udiagShowUID != 0 {
		uid, _ := s.Owner()
		w.U32(unixDiagUID, uid)
	}
	return nlmsg.Message{Header: nlmsg.Header{Type: linux.SOCK_DIAG_BY_FAMILY}, Payload: w.Bytes()}
}
