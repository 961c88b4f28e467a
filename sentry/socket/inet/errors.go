package inet

import (
	linux "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// errno translates a netstack error to the errno Linux returns in its
// place (as gVisor's syserr.TranslateNetstackError does). nil stays nil;
// ErrClosedForReceive is not an error to the application (end of file)
// and is handled by the callers before this.
func errno(err tcpip.Error) error {
	switch err.(type) {
	case nil:
		return nil
	case *tcpip.ErrWouldBlock:
		return linux.EAGAIN
	case *tcpip.ErrConnectStarted:
		return linux.EINPROGRESS
	case *tcpip.ErrAlreadyConnecting:
		return linux.EALREADY
	case *tcpip.ErrAlreadyConnected:
		return linux.EISCONN
	case *tcpip.ErrNotConnected:
		return linux.ENOTCONN
	case *tcpip.ErrConnectionRefused:
		return linux.ECONNREFUSED
	case *tcpip.ErrConnectionReset:
		return linux.ECONNRESET
	case *tcpip.ErrConnectionAborted:
		return linux.ECONNABORTED
	case *tcpip.ErrClosedForSend, *tcpip.ErrAborted:
		return linux.EPIPE
	case *tcpip.ErrTimeout:
		return linux.ETIMEDOUT
	case *tcpip.ErrPortInUse:
		return linux.EADDRINUSE
	case *tcpip.ErrNoPortAvailable:
		return linux.EAGAIN
	case *tcpip.ErrBadLocalAddress:
		return linux.EADDRNOTAVAIL
	case *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState, *tcpip.ErrUnknownProtocol,
		*tcpip.ErrInvalidOptionValue, *tcpip.ErrMalformedHeader, *tcpip.ErrInvalidPortRange,
		*tcpip.ErrMulticastInputCannotBeOutput, *tcpip.ErrMissingRequiredFields:
		return linux.EINVAL
	case *tcpip.ErrUnknownNICID, *tcpip.ErrUnknownDevice:
		return linux.ENODEV
	case *tcpip.ErrUnknownProtocolOption:
		return linux.ENOPROTOOPT
	case *tcpip.ErrDuplicateNICID, *tcpip.ErrDuplicateAddress:
		return linux.EEXIST
	case *tcpip.ErrHostUnreachable:
		return linux.EHOSTUNREACH
	case *tcpip.ErrHostDown:
		return linux.EHOSTDOWN
	case *tcpip.ErrNoNet:
		return linux.ENONET
	case *tcpip.ErrNetworkUnreachable:
		return linux.ENETUNREACH
	case *tcpip.ErrDestinationRequired:
		return linux.EDESTADDRREQ
	case *tcpip.ErrNotSupported:
		return linux.EOPNOTSUPP
	case *tcpip.ErrQueueSizeNotSupported:
		return linux.ENOTTY
	case *tcpip.ErrNoSuchFile:
		return linux.ENOENT
	case *tcpip.ErrBadAddress, *tcpip.ErrBadBuffer:
		return linux.EFAULT
	case *tcpip.ErrMessageTooLong:
		return linux.EMSGSIZE
	case *tcpip.ErrNoBufferSpace:
		return linux.ENOBUFS
	case *tcpip.ErrBroadcastDisabled:
		return linux.EACCES
	case *tcpip.ErrNotPermitted:
		return linux.EPERM
	case *tcpip.ErrAddressFamilyNotSupported:
		return linux.EAFNOSUPPORT
	case *tcpip.ErrEndpointBusy:
		return linux.EBUSY
	case *tcpip.ErrClosedForReceive:
		return nil
	}
	// A netstack error this table does not know yet: EINVAL is what an
	// application can handle, and never a fake success.
	return linux.EINVAL
}
