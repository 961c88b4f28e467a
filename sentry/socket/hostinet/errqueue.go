package hostinet

import "golang.org/x/sys/unix"

// The error queue of a host socket: IP_RECVERR and IPV6_RECVERR pass
// through, and recvmsg(MSG_ERRQUEUE) takes the host's entry as it is:
// the failed datagram's payload, where it was going, and the
// sock_extended_err with its offender (a router's or the peer's address
// on the node's network, which a hostNetwork pod sees anyway), along with
// the ancillary data of cmsgKinds the socket asked for.

// RecvErr takes the oldest entry of the socket's error queue into dst:
// EAGAIN when there is none.
func (s *Socket) RecvErr(dst []byte, wantFrom bool) (RecvResult, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	var from []byte
	if wantFrom {
		from = make([]byte, maxSockaddr)
	}
	control := make([]byte, maxControl)
	n, fl, cl, mflags, err := recvmsgFlags(s.fd, dst, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT, from, control)
	if err != nil {
		return RecvResult{}, err
	}
	res := RecvResult{N: n, MsgLen: n, Flags: mflags & (unix.MSG_ERRQUEUE | unix.MSG_TRUNC)}
	if from != nil && fl > 0 {
		res.From = from[:min(fl, len(from))]
	}
	if cl > 0 {
		res.Control, _ = filterControl(control[:min(cl, len(control))], false)
	}
	return res, nil
}
