package syscalls

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/socket/netfilter"
)

// ip_tables' socket options (sentry/socket/netfilter) on the sandbox
// stack's IPv4 sockets: what iptables-legacy and its -save and -restore
// use. A host-network pod's sockets are the host's, whose tables the
// sandbox does not program.

// maxNetfilterBytes bounds a table a caller passes or asks for: a
// larger one is ENOMEM, as xt_alloc_table_info answers a table larger
// than memory. Real rule sets are kilobytes to a few megabytes.
const maxNetfilterBytes = 64 << 20

// netfilterSocket returns s as a sandbox IPv4 socket whose SOL_IP option
// name is one of ip_tables'.
func netfilterSocket(s inetSocket, level, name int32, get bool) (*inet.Socket, bool) {
	if level != unix.SOL_IP {
		return nil, false
	}
	if (get && !netfilter.IsGetOption(int(name))) || (!get && !netfilter.IsSetOption(int(name))) {
		return nil, false
	}
	ns, ok := s.(*inet.Socket)
	if !ok || ns.Family() != unix.AF_INET {
		return nil, false
	}
	return ns, true
}

// netfilterGetsockopt answers an ip_tables getsockopt, whose argument is
// in the caller's buffer of length l.
func netfilterGetsockopt(t *kernel.Task, s *inet.Socket, name int32, optval uint64, l int32) (uint64, error) {
	if !t.Credentials().HasCap(capNetAdmin) {
		return 0, unix.EPERM
	}
	if l > maxNetfilterBytes {
		return 0, unix.ENOMEM
	}
	in := make([]byte, l)
	if _, err := t.CopyIn(optval, in); err != nil {
		return 0, unix.EFAULT
	}
	var out []byte
	var err error
	switch name {
	case netfilter.GetInfo:
		out, err = s.Netfilter().Info(in)
	case netfilter.GetEntries:
		out, err = s.Netfilter().Entries(in)
	default:
		err = netfilter.Revision(in, name == netfilter.GetRevisionTarg)
	}
	if err != nil {
		return 0, netfilterError(t, err)
	}
	if len(out) > 0 {
		if _, err := t.CopyOut(optval, out); err != nil {
			return 0, unix.EFAULT
		}
	}
	return 0, nil
}

// netfilterSetsockopt carries out an ip_tables setsockopt.
func netfilterSetsockopt(t *kernel.Task, s *inet.Socket, name int32, optval uint64, optlen int32) (uint64, error) {
	if !t.Credentials().HasCap(capNetAdmin) {
		return 0, unix.EPERM
	}
	if optlen > maxNetfilterBytes {
		return 0, unix.ENOMEM
	}
	in := make([]byte, max(optlen, 0))
	if _, err := t.CopyIn(optval, in); err != nil {
		return 0, unix.EFAULT
	}
	if name == netfilter.SetAddCounters {
		return 0, netfilterError(t, s.Netfilter().AddCounters(in))
	}
	old, addr, err := s.Netfilter().Replace(in)
	if err != nil {
		return 0, netfilterError(t, err)
	}
	// The replaced table's counters go to the caller, which adds them
	// to the new one (IPT_SO_SET_ADD_COUNTERS).
	if _, err := t.CopyOut(addr, old); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// netfilterError logs why a table was refused, as Linux's x_tables log
// it, and returns its errno.
func netfilterError(t *kernel.Task, err error) error {
	var nf *netfilter.Error
	if !errors.As(err, &nf) {
		return err
	}
	if nf.Reason != "" {
		t.Kernel().LogRatelimited(nf.Reason)
	}
	return nf.Errno
}
