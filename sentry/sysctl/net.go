package sysctl

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The network namespace's sysctls (net.*): integer vectors that Linux
// reads and writes with proc_dointvec_minmax and its relatives, one set
// of ports (ip_local_reserved_ports, portlist.go) and the names of TCP
// congestion control algorithms. The
// sandbox's stack (netstack.Stack) keeps one set per network namespace
// and applies them; this file knows their names, bounds and defaults, so
// that the daemon can check a pod's values without the stack.

// Net describes one network sysctl.
type Net struct {
	// Len is the number of values (ip_local_port_range has 2,
	// tcp_rmem 3).
	Len int
	// Min and Max bound each value, as proc_dointvec_minmax's extra1
	// and extra2 (or the type's range).
	Min, Max int64
	// Default is the value of a new namespace.
	Default []int64
	// InitialOnly marks the sysctls only the initial namespace may
	// change: a child namespace shows them read-only, as Linux shows
	// init_net's net.core.rmem_max and wmem_max.
	InitialOnly bool
	// PortList marks a set of ports (portlist.go) rather than a vector:
	// Len, Min, Max and Default do not apply, and a new namespace's set
	// is empty.
	PortList bool
	// Choices marks a name rather than a number: the value is one of
	// Choices, kept as its index (Len 1; Min and Max do not apply).
	Choices []string
	// ReadOnly marks a sysctl no namespace may write: it shows what the
	// sandbox offers (tcp_available_congestion_control).
	ReadOnly bool
}

// CongestionControls are the TCP congestion control algorithms the
// sandbox's TCP has (gVisor's), by net.ipv4.tcp_congestion_control's
// name for them.
var CongestionControls = []string{"reno", "cubic"}

// defaultCongestionControl is a new namespace's algorithm: gVisor's
// default, reno, which a Linux built with CONFIG_DEFAULT_RENO has too.
// Linux's usual cubic measured slower in the sandbox's sending pods: in
// six alternating pairs of e2e's TestReportNet (pod → host, one stream,
// 2-CPU VM), 0.40-0.89x runc against reno's 0.39-1.15x (medians 0.7 and
// 1.1), at 1.5-2.6x runc's CPU per GB of the machine against 0.9-1.6x.
// (A network namespace on Linux starts with its host's choice, which may
// be one the sandbox lacks: bbr.)
const defaultCongestionControl = 0 // reno

// Linux's bounds: SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF (x86-64),
// MAX_TCP_SYNCNT, and proc_dointvec_jiffies's INT_MAX / HZ for HZ=1000.
const (
	minRcvbuf    = 2304
	minSndbuf    = 4608
	maxTCPSynCnt = 127
	maxJiffySecs = math.MaxInt32 / 1000
	// gidMax is GID_T_MAX, the highest group ID ping_group_range takes
	// ((gid_t)-1 is no group).
	gidMax = math.MaxUint32 - 1
)

// The sandbox's TCP buffer sizes (net.ipv4.tcp_rmem and tcp_wmem): Linux's
// minimums and maximums with gVisor's 1 MiB default instead of Linux's
// 128 KiB and 16 KiB, because every wake-up of a blocked writer or reader
// costs a trip through the sentry: larger buffers mean fewer of them.
var (
	DefaultTCPRmem = []int64{4096, 1 << 20, 6 << 20}
	DefaultTCPWmem = []int64{4096, 1 << 20, 4 << 20}
)

// NetSysctls are the network sysctls the sandbox implements, by dotted
// name.
var NetSysctls = map[string]Net{
	"net.core.somaxconn": {Len: 1, Min: 0, Max: math.MaxInt32, Default: []int64{4096}},
	"net.core.rmem_max":  {Len: 1, Min: minRcvbuf, Max: math.MaxInt32, Default: []int64{212992}, InitialOnly: true},
	"net.core.wmem_max":  {Len: 1, Min: minSndbuf, Max: math.MaxInt32, Default: []int64{212992}, InitialOnly: true},
	// Any int: nonzero turns forwarding on.
	"net.ipv4.ip_forward":                 {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{0}},
	"net.ipv4.ip_local_port_range":        {Len: 2, Min: 1, Max: 65535, Default: []int64{32768, 60999}},
	"net.ipv4.ip_local_reserved_ports":    {PortList: true},
	"net.ipv4.ip_unprivileged_port_start": {Len: 1, Min: 0, Max: 65535, Default: []int64{1024}},
	"net.ipv4.ping_group_range":           {Len: 2, Min: 0, Max: gidMax, Default: []int64{1, 0}},
	// Seconds, through proc_dointvec_jiffies.
	"net.ipv4.tcp_keepalive_time":  {Len: 1, Min: -maxJiffySecs, Max: maxJiffySecs, Default: []int64{7200}},
	"net.ipv4.tcp_keepalive_intvl": {Len: 1, Min: -maxJiffySecs, Max: maxJiffySecs, Default: []int64{75}},
	"net.ipv4.tcp_fin_timeout":     {Len: 1, Min: -maxJiffySecs, Max: maxJiffySecs, Default: []int64{60}},
	// u8 values (proc_dou8vec_minmax).
	"net.ipv4.tcp_keepalive_probes": {Len: 1, Min: 0, Max: 255, Default: []int64{9}},
	"net.ipv4.tcp_syn_retries":      {Len: 1, Min: 1, Max: maxTCPSynCnt, Default: []int64{6}},
	"net.ipv4.tcp_sack":             {Len: 1, Min: 0, Max: 255, Default: []int64{1}},
	"net.ipv4.tcp_syncookies":       {Len: 1, Min: 0, Max: 255, Default: []int64{1}},
	"net.ipv4.tcp_timestamps":       {Len: 1, Min: 0, Max: 255, Default: []int64{1}},
	"net.ipv4.tcp_window_scaling":   {Len: 1, Min: 0, Max: 255, Default: []int64{1}},
	"net.ipv4.tcp_tw_reuse":         {Len: 1, Min: 0, Max: 2, Default: []int64{2}},
	"net.ipv4.tcp_retries2":         {Len: 1, Min: 0, Max: 255, Default: []int64{15}},
	"net.ipv4.tcp_moderate_rcvbuf":  {Len: 1, Min: 0, Max: 255, Default: []int64{1}},
	"net.ipv4.tcp_recovery":         {Len: 1, Min: 0, Max: 255, Default: []int64{1}},
	// A u8 (proc_dou8vec_minmax, no bounds), nonzero: whether a
	// connection that sent nothing for an RTO starts again from the
	// initial window. gVisor's TCP always does (RFC 5681's restart
	// window), Linux's default; CheckNet refuses 0.
	"net.ipv4.tcp_slow_start_after_idle": {Len: 1, Min: 0, Max: 255, Default: []int64{1}},
	"net.ipv4.ip_default_ttl":            {Len: 1, Min: 1, Max: 255, Default: []int64{64}},
	"net.ipv6.bindv6only":                {Len: 1, Min: 0, Max: 255, Default: []int64{0}},
	// The retransmission timeout's floor, in microseconds, and its
	// ceiling, in milliseconds (TCP_RTO_MIN and TCP_RTO_MAX).
	"net.ipv4.tcp_rto_min_us": {Len: 1, Min: 1, Max: math.MaxInt32, Default: []int64{200000}},
	"net.ipv4.tcp_rto_max_ms": {Len: 1, Min: 1000, Max: 120000, Default: []int64{120000}},
	"net.ipv4.tcp_rmem":       {Len: 3, Min: 1, Max: math.MaxInt32, Default: DefaultTCPRmem},
	"net.ipv4.tcp_wmem":       {Len: 3, Min: 1, Max: math.MaxInt32, Default: DefaultTCPWmem},
	// proc_dointvec: any int, bits of TFO_* (1: clients may use TCP
	// Fast Open).
	"net.ipv4.tcp_fastopen": {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{1}},
	// proc_dointvec: any int, which a new datagram socket keeps as an
	// unsigned limit on its receive queue (-1: none).
	"net.unix.max_dgram_qlen": {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{10}},
	// proc_dointvec: any int; 0 or less keeps no TIME-WAIT socket.
	"net.ipv4.tcp_max_tw_buckets": {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{MaxTimeWaitFor(defaultNetMemory)}},
	// proc_dointvec: any int. Linux reads it only with tcp_syncookies
	// 0, to drop SYNs of unproven peers once a listener's queue of
	// half-open connections fills three quarters of it; with cookies
	// on (the default) it changes nothing. The sandbox's stack always
	// falls back to cookies (tcp_syncookies 0 is taken as 1), so it
	// changes nothing there either; it is kept for programs that read
	// it and pods that set it.
	"net.ipv4.tcp_max_syn_backlog": {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{MaxSynBacklogFor(defaultNetMemory)}},
	// The algorithm of a new TCP socket; an algorithm the sandbox lacks
	// is ENOENT, as on a Linux without its module.
	"net.ipv4.tcp_congestion_control": {Len: 1, Choices: CongestionControls, Default: []int64{defaultCongestionControl}},
	// Each algorithm may be the namespace's and any socket's: Linux's
	// lists, which the sandbox cannot change.
	"net.ipv4.tcp_available_congestion_control": {Len: 1, Choices: []string{strings.Join(CongestionControls, " ")}, Default: []int64{0}, ReadOnly: true},
	"net.ipv4.tcp_allowed_congestion_control":   {Len: 1, Choices: []string{strings.Join(CongestionControls, " ")}, Default: []int64{0}, ReadOnly: true},
}

// ConfSysctls are the sysctls each interface has under net.ipv4.conf.IF
// and net.ipv6.conf.IF (and all and default, which Linux keeps beside the
// interfaces), by family and last name.
var ConfSysctls = map[string]map[string]Net{
	"ipv4": {
		// proc_dointvec: any int; nonzero lets the interface forward
		// what it receives. all is net.ipv4.ip_forward.
		"forwarding": {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{0}},
		// proc_dointvec: any int; nonzero (all's or the interface's)
		// makes deleting a primary address promote its oldest
		// secondary instead of deleting them all.
		"promote_secondaries": {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{0}},
	},
	"ipv6": {
		// proc_dointvec: any int; nonzero turns IPv6 off on the
		// interface.
		"disable_ipv6": {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{0}},
		// proc_dointvec: any int; nonzero makes the interface a router.
		"forwarding": {Len: 1, Min: math.MinInt32, Max: math.MaxInt32, Default: []int64{0}},
	},
}

// SplitConf splits the dotted name of a per-interface sysctl,
// net.FAMILY.conf.IF.KEY, into FAMILY (ipv4 or ipv6), IF (an interface,
// all or default) and KEY (a name of ConfSysctls[FAMILY]). An interface
// whose name has a dot cannot be named this way (sysctl(8) writes it with
// a slash).
func SplitConf(name string) (family, iface, key string, ok bool) {
	rest, ok := strings.CutPrefix(name, "net.")
	if !ok {
		return "", "", "", false
	}
	family, rest, ok = strings.Cut(rest, ".conf.")
	keys, known := ConfSysctls[family]
	if !ok || !known {
		return "", "", "", false
	}
	iface, key, ok = strings.Cut(rest, ".")
	if !ok || iface == "" {
		return "", "", "", false
	}
	if _, known := keys[key]; !known {
		return "", "", "", false
	}
	return family, iface, key, true
}

// ConfName returns the dotted name of interface iface's sysctl key of
// family.
func ConfName(family, iface, key string) string {
	return "net." + family + ".conf." + iface + "." + key
}

// LookupNet returns the description of net sysctl name: one of
// NetSysctls, or a per-interface one (SplitConf).
func LookupNet(name string) (Net, bool) {
	if spec, ok := NetSysctls[name]; ok {
		return spec, true
	}
	if family, _, key, ok := SplitConf(name); ok {
		return ConfSysctls[family][key], true
	}
	return Net{}, false
}

// Linux sizes its established-connection hash with one slot per 128 KiB
// of the machine's memory (at most 512 Ki slots) and allows half as many
// sockets in TIME-WAIT as it has slots (tcp_max_tw_buckets). The sandbox
// applies the rule to its own memory: a TIME-WAIT connection costs the
// sentry ~7 KiB of the pod's memory (gVisor keeps the whole endpoint),
// where Linux keeps ~200 bytes outside the pod's.
const (
	timeWaitMemoryPerSlot = 256 << 10
	maxTimeWaitSlots      = 256 << 10
	// defaultNetMemory is the memory the default assumes until
	// ScaleNetDefaults is told the sandbox's.
	defaultNetMemory = 1 << 30
)

// MaxTimeWaitFor returns Linux's tcp_max_tw_buckets for a machine with
// memory bytes.
func MaxTimeWaitFor(memory uint64) int64 {
	return int64(min(max(memory/timeWaitMemoryPerSlot, 1), maxTimeWaitSlots))
}

// MaxSynBacklogFor returns Linux's tcp_max_syn_backlog for a machine
// with memory bytes: one per 128 slots of the connection hash, at least
// 128.
func MaxSynBacklogFor(memory uint64) int64 {
	return max(2*MaxTimeWaitFor(memory)/128, 128)
}

// ScaleNetDefaults gives the sysctls whose Linux default depends on the
// machine's memory the default for a sandbox of memory bytes. Call it
// before any network stack is made.
func ScaleNetDefaults(memory uint64) {
	for name, of := range map[string]func(uint64) int64{
		"net.ipv4.tcp_max_tw_buckets":  MaxTimeWaitFor,
		"net.ipv4.tcp_max_syn_backlog": MaxSynBacklogFor,
	} {
		spec := NetSysctls[name]
		spec.Default = []int64{of(memory)}
		NetSysctls[name] = spec
	}
}

// ErrInvalid is the error of a value Linux would refuse with EINVAL.
type ErrInvalid struct{ Reason string }

func (e *ErrInvalid) Error() string { return e.Reason }

// ErrNoChoice is ParseNet's error for a name that is none of a sysctl's
// Choices: ENOENT, as Linux's for a congestion control it has no module
// of.
type ErrNoChoice struct {
	Value   string
	Choices []string
}

func (e *ErrNoChoice) Error() string {
	return fmt.Sprintf("%q is not one of %s", e.Value, strings.Join(e.Choices, ", "))
}

// ParseNet parses a value written to net sysctl name over old (its
// current value) as proc_dointvec_minmax does: leading blanks, then up to
// Len blank-separated integers (decimal, 0x hexadecimal or 0 octal);
// values past Len and what follows them are ignored, fewer values change
// only the first ones. Each value must be within the bounds. A sysctl of
// Choices takes a name, up to a newline, as proc_dostring reads it. It
// does not apply the checks that involve other sysctls or the stack's
// abilities (CheckNet).
func ParseNet(name, value string, old []int64) ([]int64, error) {
	spec, ok := LookupNet(name)
	if !ok {
		return nil, &ErrUnsupported{Name: name}
	}
	if spec.ReadOnly {
		return nil, &ErrInvalid{Reason: "read-only"}
	}
	if spec.PortList {
		return parsePortList(value)
	}
	if spec.Choices != nil {
		choice, _, _ := strings.Cut(value, "\n")
		i := slices.Index(spec.Choices, choice)
		if i < 0 {
			return nil, &ErrNoChoice{Value: choice, Choices: spec.Choices}
		}
		return []int64{int64(i)}, nil
	}
	out := append([]int64(nil), old...)
	if len(out) != spec.Len {
		out = append([]int64(nil), spec.Default...)
	}
	s := value
	n := 0
	for n < spec.Len {
		s = strings.TrimLeft(s, " \t\n")
		if s == "" {
			break
		}
		end := strings.IndexAny(s, " \t\n")
		if end < 0 {
			end = len(s)
		}
		v, err := ParseCInt(s[:end])
		if err != nil {
			return nil, &ErrInvalid{Reason: fmt.Sprintf("%q is not an integer", s[:end])}
		}
		if v < spec.Min || v > spec.Max {
			return nil, &ErrInvalid{Reason: fmt.Sprintf("%d is out of range [%d, %d]", v, spec.Min, spec.Max)}
		}
		out[n] = v
		n++
		s = s[end:]
	}
	if n == 0 {
		return nil, &ErrInvalid{Reason: "no value"}
	}
	if name == "net.ipv4.ping_group_range" && out[0] > out[1] {
		// An empty range reads back as Linux's "nobody".
		out[0], out[1] = 1, 0
	}
	return out, nil
}

// CheckNet applies the checks on a parsed value that Linux makes beyond
// the bounds: the ephemeral port range must not be inverted or overlap
// the privileged ports (below unprivStart), and the TCP options the
// sandbox's stack always uses cannot be turned off.
func CheckNet(name string, v []int64, portRange [2]int64, unprivStart int64) error {
	switch name {
	case "net.ipv4.ip_local_port_range":
		if v[1] < v[0] {
			return &ErrInvalid{Reason: fmt.Sprintf("the range %d-%d is inverted", v[0], v[1])}
		}
		if v[0] < unprivStart {
			return &ErrInvalid{Reason: fmt.Sprintf("the range starts below net.ipv4.ip_unprivileged_port_start (%d)", unprivStart)}
		}
	case "net.ipv4.ip_unprivileged_port_start":
		if portRange[0] < v[0] {
			return &ErrInvalid{Reason: fmt.Sprintf("net.ipv4.ip_local_port_range starts at %d, below it", portRange[0])}
		}
	case "net.ipv4.tcp_timestamps":
		// gVisor's TCP offers timestamps, with a random offset per
		// connection, on every SYN: Linux's 1.
		if v[0] != 1 {
			return &ErrInvalid{Reason: "the sandbox's TCP always uses timestamps with random offsets (1)"}
		}
	case "net.ipv4.tcp_window_scaling":
		if v[0] == 0 {
			return &ErrInvalid{Reason: "the sandbox's TCP always uses window scaling"}
		}
	case "net.ipv4.tcp_fastopen":
		// The client bit alone: with it, a client that holds no
		// cookie connects and then sends, which is all the stack
		// does (sentry/socket/inet/fastopen.go).
		if v[0]&^1 != 0 {
			return &ErrInvalid{Reason: "the sandbox's TCP has no server side of TCP Fast Open and sends no data in a SYN (0 or 1)"}
		}
	case "net.ipv4.tcp_slow_start_after_idle":
		if v[0] == 0 {
			return &ErrInvalid{Reason: "the sandbox's TCP always starts again from the initial window after an idle RTO (1)"}
		}
	case "net.ipv4.tcp_syncookies":
		// 1 (cookies when a listener's queue is full) and 2 (always)
		// are gVisor's two modes.
		if v[0] == 0 {
			return &ErrInvalid{Reason: "the sandbox's TCP always answers SYNs to a full accept queue with cookies (1 or 2)"}
		}
	}
	return nil
}

// CheckPod checks a pod's sysctls against each other as the sandbox's
// kernel applies them at boot (in name order, each over a new
// namespace's defaults and the ones before it), so that the daemon can
// refuse, naming it, a set the kernel would: a port range below
// ip_unprivileged_port_start, or the reverse.
func CheckPod(sysctls map[string]string) error {
	portRange := [2]int64{32768, 60999}
	unpriv := int64(1024)
	for _, raw := range slices.Sorted(maps.Keys(sysctls)) {
		name := Canonical(raw)
		if name != "net.ipv4.ip_local_port_range" && name != "net.ipv4.ip_unprivileged_port_start" {
			continue
		}
		v, err := ParseNet(name, sysctls[raw], NetSysctls[name].Default)
		if err == nil {
			err = CheckNet(name, v, portRange, unpriv)
		}
		if err != nil {
			return fmt.Errorf("sysctl %s=%q: %w", name, sysctls[raw], err)
		}
		if name == "net.ipv4.ip_local_port_range" {
			portRange = [2]int64{v[0], v[1]}
		} else {
			unpriv = v[0]
		}
	}
	return nil
}

// ParseCInt parses an integer as the kernel's strtoul with base 0 does:
// an optional '-', then 0x (hexadecimal), 0 (octal) or decimal digits.
func ParseCInt(s string) (int64, error) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, strconv.ErrSyntax
	}
	u, err := strconv.ParseUint(s, base, 63)
	if err != nil {
		return 0, err
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// FormatNet formats a value of net sysctl name as /proc/sys shows it:
// tab-separated, a port list's ranges, or the name chosen.
func FormatNet(name string, v []int64) string {
	spec, _ := LookupNet(name)
	if spec.PortList {
		return formatPortList(v)
	}
	if spec.Choices != nil && len(v) == 1 && v[0] >= 0 && v[0] < int64(len(spec.Choices)) {
		return spec.Choices[v[0]]
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(parts, "\t")
}

// netParser is Parse's parser of a net sysctl: a pod's value is written
// over a new namespace's default.
func netParser(name string) parser {
	return func(s string) (string, error) {
		spec, _ := LookupNet(name)
		v, err := ParseNet(name, s, spec.Default)
		if err != nil {
			return "", err
		}
		// The checks against another sysctl wait for the kernel,
		// which sees the pod's others: here the other one is set
		// out of the way.
		if err := CheckNet(name, v, [2]int64{65535, 65535}, 0); err != nil {
			return "", err
		}
		return FormatNet(name, v), nil
	}
}

func init() {
	for name := range NetSysctls {
		known[name] = netParser(name)
	}
}
