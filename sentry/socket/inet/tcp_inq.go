package inet

import (
	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// TCP_INQ: with it set, every recvmsg(2) of a TCP socket that returns
// data or the end of the stream carries a TCP_CM_INQ control message,
// the bytes still queued for reading (tcp_inq_hint). gRPC's C core, under
// grpcio, the Ruby, PHP and C++ stacks, turns it on and reads again at
// once while the hint says more is there instead of going back to epoll.
//
// Linux counts sequence space, rcv_nxt - copied_seq, so a FIN received
// and not yet read counts one byte, and once the end has been read a
// socket whose peer is done still says 1 (SOCK_DONE): "read on, to see
// the end". netstack counts the data queued; a FIN received adds the
// one, before the end is read and after.

// setInq sets TCP_INQ: 0 or 1.
func (s *Socket) setInq(v int) error {
	if v < 0 || v > 1 {
		return linux.EINVAL
	}
	s.inq.Store(v == 1)
	return nil
}

// InqControl returns the TCP_CM_INQ control message a receive that
// returned without error carries, or nil when TCP_INQ is off.
func (s *Socket) InqControl() []byte {
	if !s.inq.Load() {
		return nil
	}
	n, terr := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
	if terr != nil {
		n = 0
	}
	if peerDone(tcp.EndpointState(s.ep.State())) {
		n++
	}
	return appendCmsg(nil, linux.SOL_TCP, linux.TCP_INQ, le.AppendUint32(nil, uint32(n)))
}

// peerDone reports whether a connection in state st has its FIN in
// (or ended without one, by a reset or a close): Linux's SOCK_DONE,
// which tcp_fin and tcp_done set. A local shutdown(SHUT_RD) is not one.
func peerDone(st tcp.EndpointState) bool {
	switch st {
	case tcp.StateCloseWait, tcp.StateLastAck, tcp.StateClosing, tcp.StateTimeWait, tcp.StateClose, tcp.StateError:
		return true
	}
	return false
}
