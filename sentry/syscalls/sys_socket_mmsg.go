package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// sendmmsg(2) and recvmmsg(2): a loop of sendmsg or recvmsg over an
// array of struct mmsghdr, each result stored in its msg_len, as Linux's
// __sys_sendmmsg and do_recvmmsg do.

const (
	// sizeofMmsghdr is sizeof(struct mmsghdr) on amd64: a msghdr, the
	// unsigned int msg_len and padding.
	sizeofMmsghdr = 64
	// msgWaitForOne is MSG_WAITFORONE.
	msgWaitForOne = 0x10000
)

func putMsgLen(t *kernel.Task, hdr uint64, n uint64) error {
	if _, err := t.CopyOut(hdr+sizeofMsghdr, binary.LittleEndian.AppendUint32(nil, uint32(n))); err != nil {
		return unix.EFAULT
	}
	return nil
}

// Sendmmsg implements Linux syscall sendmmsg(2).
func Sendmmsg(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	vec, vlen, flags := args[1], min(uint32(args[2]), uioMaxIov), int(int32(args[3]))
	var sent uint32
	for ; sent < vlen; sent++ {
		hdr := vec + uint64(sent)*sizeofMmsghdr
		m, err := copyInMsghdr(t, hdr)
		var n uint64
		if err == nil {
			if is != nil {
				n, err = inetSendmsgOne(t, f, is, m, flags)
			} else {
				n, err = sendmsgOne(t, f, s, m, flags)
			}
		}
		if err == nil {
			err = putMsgLen(t, hdr, n)
		}
		if err != nil {
			// The datagrams sent count; the error is lost, as in
			// Linux (it would be reported by the next call).
			if sent > 0 {
				return uint64(sent), nil
			}
			return 0, err
		}
	}
	return uint64(sent), nil
}

// Recvmmsg implements Linux syscall recvmmsg(2). The timeout is checked
// after each datagram, as Linux does (it does not bound a blocking
// receive).
func Recvmmsg(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	s, is, f, err := getAnySocket(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	vec, vlen, flags := args[1], min(uint32(args[2]), uioMaxIov), int(int32(args[3]))
	var deadline time.Time
	if args[4] != 0 {
		var ts [16]byte
		if _, err := t.CopyIn(args[4], ts[:]); err != nil {
			return 0, unix.EFAULT
		}
		sec, nsec := int64(binary.LittleEndian.Uint64(ts[:])), int64(binary.LittleEndian.Uint64(ts[8:]))
		if sec < 0 || nsec < 0 || nsec >= 1e9 {
			return 0, unix.EINVAL
		}
		deadline = time.Now().Add(time.Duration(sec)*time.Second + time.Duration(nsec))
	}
	var got uint32
	for ; got < vlen; got++ {
		hdr := vec + uint64(got)*sizeofMmsghdr
		fl := flags &^ msgWaitForOne
		if got > 0 && flags&msgWaitForOne != 0 {
			fl |= unix.MSG_DONTWAIT
		}
		var n uint64
		if is != nil {
			n, err = inetRecvmsgOne(t, f, is, hdr, fl)
		} else {
			n, err = recvmsgOne(t, f, s, hdr, fl)
		}
		if err == nil {
			err = putMsgLen(t, hdr, n)
		}
		if err != nil {
			if got > 0 {
				return uint64(got), nil
			}
			return 0, err
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			got++
			break
		}
	}
	return uint64(got), nil
}
