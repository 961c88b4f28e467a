package hostinet

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Ancillary data of a host socket (hostNetwork pods): the options that
// ask recvmsg for it pass through (cmsgOptions), and so do the control
// messages, both ways, of the kinds listed in cmsgKinds only: each is
// plain data about the socket's own packets (addresses, TOS, TTL, hop
// limit, receive times, the segment size of a UDP send the host splits
// or of datagrams it merged on receipt, the bytes a TCP read left
// queued). A program on the node's network
// may already bind any of the node's addresses, so choosing a datagram's
// source or interface (IP_PKTINFO, IPV6_PKTINFO on send) gives it
// nothing new.
// NodeLocal DNSCache, CoreDNS on the node's network, needs both.

// cmsgOptions are the options that turn ancillary data on, by level.
var cmsgOptions = map[int]map[int]bool{
	unix.SOL_SOCKET: {unix.SO_TIMESTAMP: true, unix.SO_TIMESTAMPNS: true, unix.SO_TIMESTAMP_NEW: true, unix.SO_TIMESTAMPNS_NEW: true},
	unix.SOL_IP:     {unix.IP_PKTINFO: true, unix.IP_RECVTOS: true, unix.IP_RECVTTL: true, unix.IP_RECVORIGDSTADDR: true},
	unix.SOL_IPV6: {unix.IPV6_RECVPKTINFO: true, unix.IPV6_RECVTCLASS: true, unix.IPV6_RECVHOPLIMIT: true,
		unix.IPV6_RECVORIGDSTADDR: true},
	unix.SOL_UDP: {unix.UDP_GRO: true},
	unix.SOL_TCP: {unix.TCP_INQ: true},
}

// cmsgKind is a control message's level and type.
type cmsgKind struct{ level, typ int32 }

// cmsgKinds are the control messages passed through: received ones
// (those the options above produce) and sent ones.
var cmsgKinds = map[cmsgKind]bool{
	{unix.SOL_SOCKET, unix.SO_TIMESTAMP}: true, {unix.SOL_SOCKET, unix.SO_TIMESTAMPNS}: true,
	{unix.SOL_SOCKET, unix.SO_TIMESTAMP_NEW}: true, {unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW}: true,
	{unix.SOL_IP, unix.IP_PKTINFO}: true, {unix.SOL_IP, unix.IP_TOS}: true, {unix.SOL_IP, unix.IP_TTL}: true,
	{unix.SOL_IP, unix.IP_ORIGDSTADDR}: true,
	{unix.SOL_IPV6, unix.IPV6_PKTINFO}: true, {unix.SOL_IPV6, unix.IPV6_TCLASS}: true,
	{unix.SOL_IPV6, unix.IPV6_HOPLIMIT}: true, {unix.SOL_IPV6, unix.IPV6_ORIGDSTADDR}: true,
	{unix.SOL_UDP, unix.UDP_SEGMENT}: true, {unix.SOL_UDP, unix.UDP_GRO}: true,
	{unix.SOL_TCP, unix.TCP_CM_INQ}: true,
	// An entry of the error queue (errqueue.go).
	{unix.SOL_IP, unix.IP_RECVERR}: true, {unix.SOL_IPV6, unix.IPV6_RECVERR}: true,
}

// maxControl bounds the control data of one datagram: all the kinds
// above together take under 200 bytes.
const maxControl = 512

// filterControl returns the messages of b whose kinds are listed, or
// EINVAL for a malformed buffer. With strict, an unlisted kind is
// EOPNOTSUPP instead of dropped (what a send may not pass).
func filterControl(b []byte, strict bool) ([]byte, error) {
	le := binary.LittleEndian
	var out []byte
	for off := 0; off+16 <= len(b); {
		l := le.Uint64(b[off:])
		if l < 16 || l > uint64(len(b)-off) {
			if strict {
				return nil, unix.EINVAL
			}
			break
		}
		k := cmsgKind{int32(le.Uint32(b[off+8:])), int32(le.Uint32(b[off+12:]))}
		end := off + int((l+7)&^7)
		if end > len(b) {
			end = len(b)
		}
		switch {
		case cmsgKinds[k]:
			out = append(out, b[off:end]...)
			for len(out)%8 != 0 {
				out = append(out, 0)
			}
		case strict && k.level == unix.SOL_SOCKET && (k.typ == unix.SCM_RIGHTS || k.typ == unix.SCM_CREDENTIALS):
			// Passed over, as Linux does on an inet socket.
		case strict:
			return nil, unix.EOPNOTSUPP
		}
		off = end
	}
	return out, nil
}
