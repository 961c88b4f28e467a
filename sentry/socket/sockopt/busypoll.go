// Package sockopt holds the rules of SOL_SOCKET options that every kind
// of socket takes alike (sk_setsockopt's generic ones) and that are more
// than a round trip, so that inet, unix and netlink sockets apply them
// the same way.
package sockopt

import (
	"encoding/binary"

	linux "golang.org/x/sys/unix"
)

// Busy polling (SO_BUSY_POLL, SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET)
// asks the kernel to poll a device's NAPI queue from recvmsg and epoll
// instead of sleeping. A socket keeps the values as Linux does, but the
// sandbox's stack has no NAPI queues, so they change nothing, which is
// what they do on Linux for a socket whose packets come from a device
// without one (lo, a veth without GRO); SO_INCOMING_NAPI_ID reads 0
// there too.

// IsBusyPoll reports whether name is one of the busy-polling options a
// socket keeps.
func IsBusyPoll(name int) bool {
	switch name {
	case linux.SO_BUSY_POLL, linux.SO_PREFER_BUSY_POLL, linux.SO_BUSY_POLL_BUDGET:
		return true
	}
	return false
}

// SetBusyPoll checks v, a new value of the busy-polling option name,
// against cur, the socket's, as sk_setsockopt does, and returns the
// value to keep. Anyone may choose a busy-poll time; preferring busy
// polling, or raising the budget, takes CAP_NET_ADMIN.
func SetBusyPoll(name int, v, cur int32, netAdmin bool) (int32, error) {
	switch name {
	case linux.SO_BUSY_POLL:
		if v < 0 {
			return 0, linux.EINVAL
		}
		return v, nil
	case linux.SO_PREFER_BUSY_POLL:
		if v == 0 {
			return 0, nil
		}
		if !netAdmin {
			return 0, linux.EPERM
		}
		return 1, nil
	case linux.SO_BUSY_POLL_BUDGET:
		if v > cur && !netAdmin {
			return 0, linux.EPERM
		}
		if v < 0 || v > 0xffff {
			return 0, linux.EINVAL
		}
		return v, nil
	}
	return 0, linux.ENOPROTOOPT
}

// GetBusyPoll returns what getsockopt reports for the busy-polling
// option name whose kept value is v, as an int in the caller's byte
// order: SO_BUSY_POLL_BUDGET cannot be read (sk_getsockopt has no case
// for it).
func GetBusyPoll(name int, v int32) ([]byte, error) {
	if name == linux.SO_BUSY_POLL_BUDGET {
		return nil, linux.ENOPROTOOPT
	}
	return binary.LittleEndian.AppendUint32(nil, uint32(v)), nil
}
