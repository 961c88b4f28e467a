package netstack

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// A Stack is one network namespace, so it holds that namespace's net.*
// sysctls (sentry/sysctl lists them): /proc/sys/net reads and writes them
// here, and each takes effect where Linux's does. Those netstack applies
// itself (the ephemeral port range and its reserved ports, SACK, the TCP
// buffer sizes, SYN retries, FIN-WAIT-2's timeout, forwarding, the
// congestion control of new TCP sockets, TIME-WAIT reuse, retransmission
// limits and bounds, loss recovery, receive buffer tuning, the default
// TTL) are set on the gVisor stack when written; the others are read
// where they apply: listen's backlog (somaxconn), bind's privileged
// ports, the keepalive defaults of a new TCP socket, a new AF_INET6
// socket's IPV6_V6ONLY, a new unix datagram socket's queue limit,
// SO_SNDBUF and SO_RCVBUF's caps, who may open ping sockets, the
// TIME-WAIT limit (timewait.go).

// netSysctls are a stack's values.
type netSysctls struct {
	// mu protects values and serializes writes with what they apply to
	// the gVisor stack, so that the two never disagree.
	mu sync.Mutex
	// values maps each name of sysctl.NetSysctls to its value.
	values map[string][]int64
	// initial is set for the sandbox's initial namespace, whose
	// InitialOnly sysctls are writable; immutable.
	initial bool

	// bindV6Only and maxDgramQlen copy net.ipv6.bindv6only and
	// net.unix.max_dgram_qlen, which every new socket reads, without
	// mu; written under it.
	bindV6Only   atomic.Bool
	maxDgramQlen atomic.Uint32

	// conf holds net.ipv4.conf.* and net.ipv6.conf.*, which are per
	// interface (ifaceconf.go).
	conf map[confKey]*ifaceConf
}

// initSysctls gives the stack a new namespace's sysctls and applies them.
func (s *Stack) initSysctls(initial bool) error {
	s.sysctls.initial = initial
	s.sysctls.values = make(map[string][]int64, len(sysctl.NetSysctls))
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	for name, spec := range sysctl.NetSysctls {
		v := append([]int64(nil), spec.Default...)
		s.sysctls.values[name] = v
		if err := s.applySysctlLocked(name, v); err != nil {
			return fmt.Errorf("netstack: sysctl %s: %w", name, err)
		}
	}
	return nil
}

// Sysctl returns a net sysctl's value as /proc/sys shows it; false for a
// name the stack does not implement.
func (s *Stack) Sysctl(name string) (string, bool) {
	v := s.sysctlValue(name)
	if family, iface, key, ok := sysctl.SplitConf(name); ok {
		v = s.confValue(family, iface, key)
	}
	if v == nil {
		return "", false
	}
	return sysctl.FormatNet(name, v), true
}

// SysctlWritable reports whether name may be written in this namespace:
// a child namespace shows the InitialOnly ones read-only, and every one
// the ReadOnly ones.
func (s *Stack) SysctlWritable(name string) bool {
	if family, iface, key, ok := sysctl.SplitConf(name); ok {
		return s.confValue(family, iface, key) != nil
	}
	spec, ok := sysctl.NetSysctls[name]
	return ok && !spec.ReadOnly && (s.sysctls.initial || !spec.InitialOnly)
}

// SetSysctl writes value to a net sysctl as a write to its /proc/sys file
// does (sysctl.ParseNet): ENOENT for a name the stack does not implement,
// EACCES for one this namespace may not change, a SysctlError for a value
// Linux refuses or the stack cannot honour (with the reason wrapped).
func (s *Stack) SetSysctl(name, value string) error {
	if family, iface, key, ok := sysctl.SplitConf(name); ok {
		return s.setConf(name, family, iface, key, value)
	}
	if _, ok := sysctl.NetSysctls[name]; !ok {
		return unix.ENOENT
	}
	if !s.SysctlWritable(name) {
		return unix.EACCES
	}
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	v, err := sysctl.ParseNet(name, value, s.sysctls.values[name])
	if err == nil {
		r := s.sysctls.values["net.ipv4.ip_local_port_range"]
		err = sysctl.CheckNet(name, v, [2]int64{r[0], r[1]}, s.sysctls.values["net.ipv4.ip_unprivileged_port_start"][0])
	}
	if err == nil {
		err = s.applySysctlLocked(name, v)
	}
	if err != nil {
		return &SysctlError{Name: name, Err: err}
	}
	s.sysctls.values[name] = v
	return nil
}

// SysctlError is SetSysctl's error for a refused value: it is the errno
// of the write (Errno, errors.Is), and says why.
type SysctlError struct {
	Name string
	Err  error
}

func (e *SysctlError) Error() string { return fmt.Sprintf("sysctl %s: %v", e.Name, e.Err) }

// Errno is the write's errno: ENOENT for a name that is none of the
// sysctl's choices (a congestion control the sandbox lacks), EINVAL for
// any other refused value.
func (e *SysctlError) Errno() unix.Errno {
	var nc *sysctl.ErrNoChoice
	if errors.As(e.Err, &nc) {
		return unix.ENOENT
	}
	return unix.EINVAL
}

// Is makes a SysctlError its Errno.
func (e *SysctlError) Is(target error) bool { return target == e.Errno() }

// Unwrap returns the reason.
func (e *SysctlError) Unwrap() error { return e.Err }

// applySysctlLocked sets on the gVisor stack what a sysctl controls
// there; the others are read where they apply.
//
// Preconditions: s.sysctls.mu is held.
func (s *Stack) applySysctlLocked(name string, v []int64) error {
	var terr tcpip.Error
	setTCP := func(opt tcpip.SettableTransportProtocolOption) {
		terr = s.SetTransportProtocolOption(tcp.ProtocolNumber, opt)
	}
	switch name {
	case "net.ipv4.ip_local_port_range":
		terr = s.applyEphemeralLocked(v, s.sysctls.values["net.ipv4.ip_local_reserved_ports"])
	case "net.ipv4.ip_local_reserved_ports":
		portRange := s.sysctls.values["net.ipv4.ip_local_port_range"]
		if portRange == nil {
			// initSysctls has not set it yet.
			portRange = sysctl.NetSysctls["net.ipv4.ip_local_port_range"].Default
		}
		terr = s.applyEphemeralLocked(portRange, v)
	case ipForward:
		terr = s.applyIPForwardLocked(v[0])
	case "net.ipv4.tcp_sack":
		o := tcpip.TCPSACKEnabled(v[0] != 0)
		setTCP(&o)
	case "net.ipv4.tcp_syncookies":
		// 2 sends cookies to every SYN (tcp_syn_flood_action's
		// "always"); other values only when the queue is full.
		o := tcpip.TCPAlwaysUseSynCookies(v[0] == 2)
		setTCP(&o)
	case "net.ipv4.tcp_syn_retries":
		o := tcpip.TCPSynRetriesOption(v[0])
		setTCP(&o)
	case "net.ipv4.tcp_fin_timeout":
		// A negative timeout is gVisor's 0 (and Linux's nonsense).
		o := tcpip.TCPLingerTimeoutOption(time.Duration(v[0]) * time.Second)
		setTCP(&o)
	case "net.ipv4.tcp_rmem":
		lo, def, hi := bufRange(v)
		setTCP(&tcpip.TCPReceiveBufferSizeRangeOption{Min: lo, Default: def, Max: hi})
	case "net.ipv4.tcp_wmem":
		lo, def, hi := bufRange(v)
		setTCP(&tcpip.TCPSendBufferSizeRangeOption{Min: lo, Default: def, Max: hi})
	case "net.ipv4.tcp_max_tw_buckets":
		s.timeWait.max.Store(v[0])
	case "net.ipv4.tcp_congestion_control":
		o := tcpip.CongestionControlOption(sysctl.CongestionControls[v[0]])
		setTCP(&o)
	case "net.ipv4.tcp_tw_reuse":
		// Linux's 0, 1 and 2 (loopback only) are gVisor's three
		// modes, in the same order; both reuse a TIME-WAIT port a
		// second after its last timestamp (tcp_tw_reuse_delay).
		o := tcpip.TCPTimeWaitReuseOption(v[0])
		setTCP(&o)
	case "net.ipv4.tcp_retries2":
		// Linux turns the count into a timeout, as if each
		// retransmission doubled the RTO from TCP_RTO_MIN; gVisor
		// counts the retransmissions themselves.
		o := tcpip.TCPMaxRetriesOption(v[0])
		setTCP(&o)
	case "net.ipv4.tcp_moderate_rcvbuf":
		o := tcpip.TCPModerateReceiveBufferOption(v[0] != 0)
		setTCP(&o)
	case "net.ipv4.tcp_recovery":
		// Linux's bits (RACK, a static reordering window, no
		// duplicate-ACK threshold) are gVisor's.
		o := tcpip.TCPRecovery(v[0])
		setTCP(&o)
	case "net.ipv4.tcp_rto_min_us", "net.ipv4.tcp_rto_max_ms":
		terr = s.applyRTOBoundsLocked(name, v[0])
	case "net.ipv4.ip_default_ttl":
		o := tcpip.DefaultTTLOption(v[0])
		terr = s.SetNetworkProtocolOption(ipv4.ProtocolNumber, &o)
	case "net.ipv6.bindv6only":
		s.sysctls.bindV6Only.Store(v[0] != 0)
	case "net.unix.max_dgram_qlen":
		s.sysctls.maxDgramQlen.Store(uint32(v[0]))
	}
	if terr != nil {
		return errors.New(terr.String())
	}
	return nil
}

// applyRTOBoundsLocked sets the floor or the ceiling of the
// retransmission timeout, the other kept at its sysctl's value. Linux
// bounds the RTO by the ceiling last, so a floor above the ceiling yields
// to it; gVisor refuses a floor above its ceiling, so the floor it gets
// is the lower of the two.
//
// Preconditions: s.sysctls.mu is held.
func (s *Stack) applyRTOBoundsLocked(name string, v int64) tcpip.Error {
	minUs, maxMs := s.sysctls.values["net.ipv4.tcp_rto_min_us"], s.sysctls.values["net.ipv4.tcp_rto_max_ms"]
	if minUs == nil || maxMs == nil {
		// initSysctls has not set both yet.
		minUs, maxMs = sysctl.NetSysctls["net.ipv4.tcp_rto_min_us"].Default, sysctl.NetSysctls["net.ipv4.tcp_rto_max_ms"].Default
	}
	floor, ceiling := time.Duration(minUs[0])*time.Microsecond, time.Duration(maxMs[0])*time.Millisecond
	if name == "net.ipv4.tcp_rto_min_us" {
		floor = time.Duration(v) * time.Microsecond
	} else {
		ceiling = time.Duration(v) * time.Millisecond
	}
	// Lower the floor first so that any ceiling is accepted.
	zero := tcpip.TCPMinRTOOption(0)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &zero); err != nil {
		return err
	}
	c := tcpip.TCPMaxRTOOption(ceiling)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &c); err != nil {
		return err
	}
	f := tcpip.TCPMinRTOOption(min(floor, ceiling))
	return s.SetTransportProtocolOption(tcp.ProtocolNumber, &f)
}

// DefaultTTL returns net.ipv4.ip_default_ttl, the TTL of the packets of
// a socket that sets none.
func (s *Stack) DefaultTTL() int { return int(s.sysctlAt("net.ipv4.ip_default_ttl", 0)) }

// BindV6Only returns net.ipv6.bindv6only, a new AF_INET6 socket's
// IPV6_V6ONLY.
func (s *Stack) BindV6Only() bool { return s.sysctls.bindV6Only.Load() }

// MaxDgramQlen returns net.unix.max_dgram_qlen as a new unix datagram
// socket keeps it: unsigned, so -1 is no limit.
func (s *Stack) MaxDgramQlen() uint32 { return s.sysctls.maxDgramQlen.Load() }

// bufRange orders tcp_rmem or tcp_wmem's three values as gVisor needs
// them (Min <= Default <= Max): Linux accepts any three positive numbers
// and uses each where it applies, which the ordered ones approximate.
func bufRange(v []int64) (lo, def, hi int) {
	lo = int(v[0])
	hi = max(int(v[2]), lo)
	def = min(max(int(v[1]), lo), hi)
	return lo, def, hi
}

// sysctlValue returns a copy of a sysctl's value, nil for an unknown
// name.
// sysctlAt returns element i of a known sysctl's value, without the
// copy sysctlValue makes: for the accessors socket calls read.
func (s *Stack) sysctlAt(name string, i int) int64 {
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	return s.sysctls.values[name][i]
}

func (s *Stack) sysctlValue(name string) []int64 {
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	v, ok := s.sysctls.values[name]
	if !ok {
		return nil
	}
	return append([]int64(nil), v...)
}

// SomaxConn returns net.core.somaxconn, the cap on listen's backlog.
func (s *Stack) SomaxConn() int { return int(s.sysctlAt("net.core.somaxconn", 0)) }

// UnprivilegedPortStart returns net.ipv4.ip_unprivileged_port_start:
// binding a lower port needs CAP_NET_BIND_SERVICE.
func (s *Stack) UnprivilegedPortStart() int {
	return int(s.sysctlAt("net.ipv4.ip_unprivileged_port_start", 0))
}

// PingGroupRange returns net.ipv4.ping_group_range: the groups whose
// members may open ICMP echo sockets (low > high: none).
func (s *Stack) PingGroupRange() (low, high uint32) {
	v := s.sysctlValue("net.ipv4.ping_group_range")
	return uint32(v[0]), uint32(v[1])
}

// Keepalive returns the keepalive settings of a new TCP socket:
// net.ipv4.tcp_keepalive_time, tcp_keepalive_intvl and
// tcp_keepalive_probes.
func (s *Stack) Keepalive() (idle, interval time.Duration, probes int) {
	s.sysctls.mu.Lock()
	defer s.sysctls.mu.Unlock()
	idle = time.Duration(s.sysctls.values["net.ipv4.tcp_keepalive_time"][0]) * time.Second
	interval = time.Duration(s.sysctls.values["net.ipv4.tcp_keepalive_intvl"][0]) * time.Second
	return idle, interval, int(s.sysctls.values["net.ipv4.tcp_keepalive_probes"][0])
}

// TCPReceiveBufferMax returns net.ipv4.tcp_rmem's maximum, the largest
// receive buffer autotuning gives a TCP socket.
func (s *Stack) TCPReceiveBufferMax() int {
	return int(s.sysctlAt("net.ipv4.tcp_rmem", 2))
}

// TCPFastOpenClient reports net.ipv4.tcp_fastopen's client bit: whether
// a TCP socket may connect through sendto(MSG_FASTOPEN) and take
// TCP_FASTOPEN_CONNECT.
func (s *Stack) TCPFastOpenClient() bool {
	return s.sysctlAt("net.ipv4.tcp_fastopen", 0)&1 != 0
}

// BufferMax returns net.core.wmem_max (send) or rmem_max: the caps on
// SO_SNDBUF and SO_RCVBUF without CAP_NET_ADMIN.
func (s *Stack) BufferMax(send bool) int {
	if send {
		return int(s.sysctlAt("net.core.wmem_max", 0))
	}
	return int(s.sysctlAt("net.core.rmem_max", 0))
}
