package syscalls

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/socket/netfilter"
)

// ip_tables' and ip6_tables' socket options (sentry/socket/netfilter)
// on the sandbox stack's sockets, at SOL_IP on IPv4 sockets and SOL_IPV6
// on IPv6 ones: what iptables-legacy, ip6tables-legacy and their -save
// and -restore use. A host-network pod's sockets are the host's, whose
// tables the sandbox does not program.

// maxNetfilterBytes bounds a table a caller passes or asks for: a
// larger one is ENOMEM, as xt_alloc_table_info answers a table larger
// than memory. Real rule sets are kilobytes to a few megabytes.
const maxNetfilterBytes = 64 << 20

// netfilterSocket returns s as a sandbox socket whose option is one of
// the tables' (get: a getsockopt's), and whether it is ip6_tables'.
func netfilterSocket(s inetSocket, level, name int32, get bool) (_ *inet.Socket, v6, ok bool) {
	ns, isInet := s.(*inet.Socket)
	if !isInet {
		return nil, false, false
	}
	switch {
	case level == unix.SOL_IP && ns.Family() == unix.AF_INET:
	case level == unix.SOL_IPV6 && ns.Family() == unix.AF_INET6:
		v6 = true
	default:
		return nil, false, false
	}
	if (get && !netfilter.IsGetOption(v6, int(name))) || (!get && !netfilter.IsSetOption(int(name))) {
		return nil, false, false
	}
	return ns, v6, true
}

// netfilterGetsockopt answers an ip_tables getsockopt, whose argument is
// in the caller's buffer of length l.
func netfilterGetsockopt(t *kernel.Task, s *inet.Socket, v6 bool, name int32, optval uint64, l int32) (uint64, error) {
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
		out, err = s.Netfilter().Info(v6, in)
	case netfilter.GetEntries:
		out, err = s.Netfilter().Entries(v6, in)
	default:
		err = netfilter.Revision(v6, in, netfilter.IsRevisionTarget(int(name)))
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
func netfilterSetsockopt(t *kernel.Task, s *inet.Socket, v6 bool, name int32, optval uint64, optlen int32) (uint64, error) {
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
		return 0, netfilterError(t, s.Netfilter().AddCounters(v6, in))
	}
	old, addr, err := s.Netfilter().Replace(v6, in)
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
