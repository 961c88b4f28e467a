package netfilter

import (
	"encoding/binary"
	"errors"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
)

// Builders of the structures iptables passes, laid out as libiptc lays
// them out.

// ipSpec is an entry's struct ipt_ip.
type ipSpec struct {
	proto    uint16
	invFlags uint8
	flags    uint8
	dst      [4]byte
	dstMask  [4]byte
	outIface string
}

func (s ipSpec) bytes() []byte {
	b := make([]byte, ipv4Layout.ipSize)
	copy(b[4:], s.dst[:])
	copy(b[12:], s.dstMask[:])
	if s.outIface != "" {
		copy(b[32:], s.outIface)
		for i := 0; i <= len(s.outIface); i++ {
			b[64+i] = 0xff
		}
	}
	le.PutUint16(b[80:], s.proto)
	b[ipv4Layout.flags] = s.flags
	b[ipv4Layout.invFlags] = s.invFlags
	return b
}

// ext is a match or target: its header and data, aligned.
func ext(name string, rev uint8, data []byte) []byte {
	b := make([]byte, sizeofExtension+align(len(data)))
	le.PutUint16(b, uint16(len(b)))
	copy(b[2:], name)
	b[31] = rev
	copy(b[sizeofExtension:], data)
	return b
}

func standard(v int32) []byte {
	return ext("", 0, binary.LittleEndian.AppendUint32(nil, uint32(v)))
}

func errorTarget(name string) []byte {
	data := make([]byte, errorNameLen)
	copy(data, name)
	return ext("ERROR", 0, data)
}

// entry is an IPv4 entry with its matches and, last, its target.
func entry(ip ipSpec, matches [][]byte, target []byte) []byte {
	return layEntry(ipv4Layout, ip.bytes(), matches, target)
}

// layEntry is an entry of layout l.
func layEntry(l layout, ip []byte, matches [][]byte, target []byte) []byte {
	b := make([]byte, l.entrySize)
	copy(b, ip)
	for _, m := range matches {
		b = append(b, m...)
	}
	le.PutUint16(b[l.targetOff:], uint16(len(b)))
	b = append(b, target...)
	le.PutUint16(b[l.nextOff:], uint16(len(b)))
	return b
}

func tcpMatch(dport uint16) []byte {
	d := make([]byte, 12)
	le.PutUint16(d[0:], 0)
	le.PutUint16(d[2:], 0xffff)
	le.PutUint16(d[4:], dport)
	le.PutUint16(d[6:], dport)
	return ext("tcp", 0, d)
}

func redirect(port uint16) []byte {
	d := make([]byte, sizeofNATRange4)
	le.PutUint32(d, 1)
	le.PutUint32(d[4:], natProtoSpecified)
	binary.BigEndian.PutUint16(d[16:], port)
	binary.BigEndian.PutUint16(d[18:], port)
	return ext("REDIRECT", 0, d)
}

// tcp6 is an IPv6 entry's header filter with -p tcp (IP6T_F_PROTO).
func tcp6() []byte {
	b := make([]byte, ipv6Layout.ipSize)
	le.PutUint16(b[128:], unix.IPPROTO_TCP)
	b[ipv6Layout.flags] = 0x01
	return b
}

// redirect6 is IPv6's REDIRECT, whose range is a struct nf_nat_range.
func redirect6(port uint16) []byte {
	d := make([]byte, sizeofNATRange)
	le.PutUint32(d, natProtoSpecified)
	binary.BigEndian.PutUint16(d[36:], port)
	binary.BigEndian.PutUint16(d[38:], port)
	return ext("REDIRECT", 0, d)
}

// chain is a built-in chain's rules, its policy added after them.
type chain struct {
	rules  [][]byte
	policy int32
}

// replacement is a table to pass to Replace: the built-in chains at
// their hooks, then user chains (given whole, with their ERROR heads),
// then the closing ERROR entry.
type replacement struct {
	v6          bool // ip6_tables (entries built with layEntry(ipv6Layout...))
	name        string
	hooks       uint32
	chains      map[int]chain
	user        [][]byte
	numCounters uint32
}

func (r replacement) bytes() []byte {
	l := familyOf(r.v6).l
	var entries []byte
	var hookEntry, underflow [numHooks]uint32
	n := uint32(0)
	for h := range numHooks {
		if r.hooks&(1<<h) == 0 {
			continue
		}
		c := r.chains[h]
		if c.policy == 0 {
			c.policy = verdictAccept
		}
		hookEntry[h] = uint32(len(entries))
		for _, e := range c.rules {
			entries = append(entries, e...)
			n++
		}
		underflow[h] = uint32(len(entries))
		entries = append(entries, layEntry(l, make([]byte, l.ipSize), nil, standard(c.policy))...)
		n++
	}
	for _, e := range r.user {
		entries = append(entries, e...)
		n++
	}
	entries = append(entries, layEntry(l, make([]byte, l.ipSize), nil, errorTarget("ERROR"))...)
	n++
	b := make([]byte, sizeofReplace)
	copy(b, r.name)
	le.PutUint32(b[32:], r.hooks)
	le.PutUint32(b[36:], n)
	le.PutUint32(b[40:], uint32(len(entries)))
	for h := range numHooks {
		le.PutUint32(b[44+4*h:], hookEntry[h])
		le.PutUint32(b[64+4*h:], underflow[h])
	}
	le.PutUint32(b[84:], r.numCounters)
	return append(b, entries...)
}

func newTables(t *testing.T) *Tables {
	t.Helper()
	st, err := netstack.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return Of(st)
}

func named(name string, size int) []byte {
	b := make([]byte, size)
	copy(b, name)
	return b
}

func errnoOf(err error) unix.Errno {
	var nf *Error
	if errors.As(err, &nf) {
		return nf.Errno
	}
	return 0
}

// TestEmptyTables checks the tables before any change against Linux's
// (sizes as a fresh namespace's IPT_SO_GET_INFO reports them).
func TestEmptyTables(t *testing.T) {
	ts := newTables(t)
	for _, c := range []struct {
		v6          bool
		name        string
		hooks       uint32
		entries     uint32
		size        uint32
		outputEntry uint32
	}{
		{false, "filter", inBit | fwdBit | outBit, 4, 632, 304},
		{false, "nat", preBit | inBit | outBit | postBit, 5, 784, 304},
		{false, "mangle", 0x1f, 6, 936, 456},
		{false, "raw", preBit | outBit, 3, 480, 152},
		{true, "filter", inBit | fwdBit | outBit, 4, 856, 416},
		{true, "nat", preBit | inBit | outBit | postBit, 5, 1064, 416},
		{true, "mangle", 0x1f, 6, 1272, 624},
		{true, "raw", preBit | outBit, 3, 648, 208},
	} {
		info, err := ts.Info(c.v6, named(c.name, sizeofGetinfo))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := le.Uint32(info[32:]); got != c.hooks {
			t.Errorf("%s: valid hooks %#x, want %#x", c.name, got, c.hooks)
		}
		if got := le.Uint32(info[76:]); got != c.entries {
			t.Errorf("%s: %d entries, want %d", c.name, got, c.entries)
		}
		if got := le.Uint32(info[80:]); got != c.size {
			t.Errorf("%s: size %d, want %d", c.name, got, c.size)
		}
		if got := le.Uint32(info[36+4*3:]); got != c.outputEntry {
			t.Errorf("%s: OUTPUT at %d, want %d", c.name, got, c.outputEntry)
		}
		get := named(c.name, sizeofGetHeader+int(c.size))
		le.PutUint32(get[32:], c.size)
		entries, err := ts.Entries(c.v6, get)
		if err != nil || len(entries) != len(get) {
			t.Fatalf("%s: entries: %d bytes, %v", c.name, len(entries), err)
		}
		le.PutUint32(get[32:], c.size+8)
		if _, err := ts.Entries(c.v6, append(get, make([]byte, 8)...)); errnoOf(err) != unix.EAGAIN {
			t.Errorf("%s: entries of the wrong size: %v, want EAGAIN", c.name, err)
		}
	}
	if _, err := ts.Info(false, named("security", sizeofGetinfo)); errnoOf(err) != unix.ENOENT {
		t.Errorf("security: %v, want ENOENT", err)
	}
	if _, err := ts.Info(false, named("nat", sizeofGetinfo-1)); errnoOf(err) != unix.EINVAL {
		t.Errorf("short ipt_getinfo: %v, want EINVAL", err)
	}
	if got := ts.Names(false); len(got) != 4 || got[0] != "raw" || got[3] != "filter" {
		t.Errorf("names %v, want the tables looked up, the latest first", got)
	}
}

const natHooks = preBit | inBit | outBit | postBit

var loopback32 = ipSpec{proto: unix.IPPROTO_TCP, dst: [4]byte{127, 0, 0, 1}, dstMask: [4]byte{255, 255, 255, 255}}

// TestReplaceChecks checks what Replace refuses, with Linux's errnos.
func TestReplaceChecks(t *testing.T) {
	tcp := ipSpec{proto: unix.IPPROTO_TCP}
	userChain := func(name string, rules ...[]byte) [][]byte {
		c := [][]byte{entry(ipSpec{}, nil, errorTarget(name))}
		c = append(c, rules...)
		return append(c, entry(ipSpec{}, nil, standard(verdictReturn)))
	}
	// The offset of the first user chain's first rule in a nat table
	// whose OUTPUT has one rule of size ruleSize.
	natUserStart := func(ruleSize int) int32 { return int32(4*152 + ruleSize + 176) }
	jump := entry(ipSpec{}, nil, standard(natUserStart(152)))
	for _, c := range []struct {
		name string
		r    replacement
		want unix.Errno
	}{
		{"redirect", replacement{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{entry(loopback32, [][]byte{tcpMatch(80)}, redirect(8080))}}}}, 0},
		{"jump to a user chain", replacement{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{jump}}},
			user:   userChain("REDIR", entry(tcp, nil, redirect(15001)))}, 0},
		{"REDIRECT at INPUT", replacement{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{1: {rules: [][]byte{entry(loopback32, nil, redirect(8080))}}}}, unix.EINVAL},
		{"REDIRECT reached from INPUT through a user chain", replacement{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{1: {rules: [][]byte{entry(ipSpec{}, nil, standard(natUserStart(152)-152+152))}}},
			user:   userChain("REDIR", entry(tcp, nil, redirect(15001)))}, unix.EINVAL},
		{"REDIRECT in filter", replacement{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{3: {rules: [][]byte{entry(loopback32, nil, redirect(8080))}}}}, unix.EINVAL},
		{"tcp match without -p tcp", replacement{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{3: {rules: [][]byte{entry(ipSpec{}, [][]byte{tcpMatch(80)}, standard(verdictDrop))}}}}, unix.EINVAL},
		{"tcp match with ! -p tcp", replacement{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{3: {rules: [][]byte{entry(ipSpec{proto: unix.IPPROTO_TCP, invFlags: invProto}, [][]byte{tcpMatch(80)}, standard(verdictDrop))}}}}, unix.EINVAL},
		{"unknown match", replacement{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{3: {rules: [][]byte{entry(ipSpec{}, [][]byte{ext("statistic", 0, make([]byte, 24))}, standard(verdictDrop))}}}}, unix.ENOENT},
		{"match of the wrong size", replacement{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{3: {rules: [][]byte{entry(tcp, [][]byte{ext("tcp", 0, make([]byte, 24))}, standard(verdictDrop))}}}}, unix.EINVAL},
		{"unknown target revision", replacement{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{entry(tcp, nil, ext("DNAT", 2, make([]byte, 40)))}}}}, unix.ENOENT},
		{"loop", replacement{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{jump}}},
			user:   userChain("LOOP", entry(ipSpec{}, nil, standard(natUserStart(152))))}, unix.ELOOP},
		{"jump into an entry", replacement{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{entry(ipSpec{}, nil, standard(natUserStart(152)+8))}}},
			user:   userChain("REDIR")}, unix.EINVAL},
		{"policy RETURN", replacement{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{1: {policy: verdictReturn}}}, unix.EINVAL},
		{"wrong number of counters", replacement{name: "nat", hooks: natHooks, numCounters: 4}, unix.EINVAL},
		{"wrong hooks", replacement{name: "nat", hooks: natHooks | fwdBit, numCounters: 5}, unix.EINVAL},
		{"mangle INPUT rule", replacement{name: "mangle", hooks: 0x1f, numCounters: 6,
			chains: map[int]chain{1: {rules: [][]byte{entry(ipSpec{}, nil, standard(verdictDrop))}}}}, unix.EOPNOTSUPP},
		{"mangle INPUT policy DROP", replacement{name: "mangle", hooks: 0x1f, numCounters: 6,
			chains: map[int]chain{1: {policy: verdictDrop}}}, unix.EOPNOTSUPP},
		{"ip6 redirect", replacement{v6: true, name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{layEntry(ipv6Layout, tcp6(), [][]byte{tcpMatch(80)}, redirect6(8080))}}}}, 0},
		{"ip6 REDIRECT at INPUT", replacement{v6: true, name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{1: {rules: [][]byte{layEntry(ipv6Layout, tcp6(), nil, redirect6(8080))}}}}, unix.EINVAL},
		{"ip6 with IPv4's REDIRECT", replacement{v6: true, name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{layEntry(ipv6Layout, tcp6(), nil, redirect(8080))}}}}, unix.EINVAL},
		{"ip6 icmp match", replacement{v6: true, name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{3: {rules: [][]byte{layEntry(ipv6Layout, make([]byte, ipv6Layout.ipSize), [][]byte{ext("icmp", 0, make([]byte, 4))}, standard(verdictDrop))}}}}, unix.ENOENT},
		{"goto", replacement{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{entry(ipSpec{flags: ipv4Layout.flagGoto}, nil, standard(natUserStart(152)))}}},
			user:   userChain("G")}, unix.EOPNOTSUPP},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := newTables(t)
			_, _, err := ts.Replace(c.r.v6, c.r.bytes())
			if got := errnoOf(err); got != c.want || (err != nil && c.want == 0) {
				t.Fatalf("Replace: %v, want errno %d", err, c.want)
			}
		})
	}
}

// TestReplaceMalformed checks that broken layouts are EINVAL.
func TestReplaceMalformed(t *testing.T) {
	good := replacement{name: "nat", hooks: natHooks, numCounters: 5}.bytes()
	for _, c := range []struct {
		name   string
		break_ func(b []byte) []byte
	}{
		{"short", func(b []byte) []byte { return b[:sizeofReplace-1] }},
		{"size past the end", func(b []byte) []byte { le.PutUint32(b[40:], uint32(len(b))); return b }},
		{"entry count", func(b []byte) []byte { le.PutUint32(b[36:], 6); return b }},
		{"next_offset past the end", func(b []byte) []byte {
			le.PutUint16(b[sizeofReplace+4*152+ipv4Layout.nextOff:], 400)
			return b
		}},
		{"target offset inside the header", func(b []byte) []byte {
			le.PutUint16(b[sizeofReplace+ipv4Layout.targetOff:], 64)
			return b
		}},
		{"hook entry between entries", func(b []byte) []byte { le.PutUint32(b[44+4*3:], 8); return b }},
		{"no counters", func(b []byte) []byte { le.PutUint32(b[84:], 0); return b }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := newTables(t)
			b := c.break_(append([]byte(nil), good...))
			if _, _, err := ts.Replace(false, b); errnoOf(err) != unix.EINVAL {
				t.Fatalf("Replace: %v, want EINVAL", err)
			}
			// The table is as it was.
			info, err := ts.Info(false, named("nat", sizeofGetinfo))
			if err != nil || le.Uint32(info[80:]) != 784 {
				t.Fatalf("nat after a refused replace: %v", err)
			}
		})
	}
}

// TestCounters checks that Replace hands back the replaced table's
// counters and that AddCounters adds to the new one's.
func TestCounters(t *testing.T) {
	ts := newTables(t)
	r := replacement{name: "nat", hooks: natHooks, numCounters: 5,
		chains: map[int]chain{3: {rules: [][]byte{entry(loopback32, [][]byte{tcpMatch(80)}, redirect(8080))}}}}
	if _, _, err := ts.Replace(false, r.bytes()); err != nil {
		t.Fatal(err)
	}
	add := named("nat", sizeofCountInfo+6*sizeofCounters)
	le.PutUint32(add[32:], 6)
	le.PutUint64(add[sizeofCountInfo+3*sizeofCounters:], 7)
	le.PutUint64(add[sizeofCountInfo+3*sizeofCounters+8:], 420)
	if err := ts.AddCounters(false, add); err != nil {
		t.Fatal(err)
	}
	if err := ts.AddCounters(false, add[:len(add)-sizeofCounters]); errnoOf(err) != unix.EINVAL {
		t.Errorf("AddCounters of the wrong length: %v, want EINVAL", err)
	}
	r.numCounters = 6
	r.chains = nil
	old, addr, err := ts.Replace(false, r.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != 6*sizeofCounters || le.Uint64(old[3*sizeofCounters:]) != 7 || le.Uint64(old[3*sizeofCounters+8:]) != 420 {
		t.Errorf("old counters %v, want 7 packets and 420 bytes for the fourth entry", old)
	}
	if addr != 0 {
		t.Errorf("counters address %#x, want the caller's (0)", addr)
	}
}

// TestRevision checks the revisions iptables asks for.
func TestRevision(t *testing.T) {
	rev := func(name string, r uint8) []byte {
		b := named(name, sizeofRevision)
		b[extensionName] = r
		return b
	}
	for _, c := range []struct {
		v6     bool
		name   string
		rev    uint8
		target bool
		want   unix.Errno
	}{
		{false, "owner", 1, false, 0},
		{false, "owner", 0, false, unix.EPROTONOSUPPORT},
		{false, "tcp", 0, false, 0},
		{false, "conntrack", 3, false, 0},
		{false, "statistic", 0, false, unix.ENOENT},
		{false, "REDIRECT", 0, true, 0},
		{false, "DNAT", 2, true, unix.EPROTONOSUPPORT},
		{false, "TPROXY", 1, true, unix.ENOENT},
		{false, "icmp6", 0, false, unix.ENOENT},
		{true, "icmp6", 0, false, 0},
		{true, "icmp", 0, false, unix.ENOENT},
		{true, "DNAT", 0, true, unix.EPROTONOSUPPORT},
		{true, "DNAT", 1, true, 0},
	} {
		if got := errnoOf(Revision(c.v6, rev(c.name, c.rev), c.target)); got != c.want {
			t.Errorf("%s revision %d: errno %d, want %d", c.name, c.rev, got, c.want)
		}
	}
}

// nestedChains is a filter table whose OUTPUT jumps into the first of
// depth user chains, each jumping into the next, the last counting UDP
// packets to port 9 with a rule of its own.
func nestedChains(depth int) replacement {
	const policy, head, rule = 152, 176, 152
	chainStart := func(i int) int32 { return int32(4*policy + (i-1)*(head+2*rule)) }
	var user [][]byte
	for i := 1; i <= depth; i++ {
		user = append(user, entry(ipSpec{}, nil, errorTarget("C"+strconv.Itoa(i))))
		if i < depth {
			user = append(user, entry(ipSpec{}, nil, standard(chainStart(i+1)+head)))
		} else {
			udp := ipSpec{proto: unix.IPPROTO_UDP}
			user = append(user, entry(udp, nil, standard(verdictReturn)))
		}
		user = append(user, entry(ipSpec{}, nil, standard(verdictReturn)))
	}
	return replacement{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
		chains: map[int]chain{3: {rules: [][]byte{entry(ipSpec{}, nil, standard(chainStart(1)+head))}}},
		user:   user}
}

// TestJumpDepth checks that jumps nest 15 deep (a datagram reaches the
// innermost chain's rule) and that a table nesting them deeper, which
// the stack's evaluator would drop packets in, is refused.
func TestJumpDepth(t *testing.T) {
	st, err := netstack.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ts := Of(st)
	r := nestedChains(15)
	if _, _, err := ts.Replace(false, r.bytes()); err != nil {
		t.Fatalf("15 nested chains: %v", err)
	}
	sendThrough(t, st, false)
	size := len(r.bytes()) - sizeofReplace
	get := named("filter", sizeofGetHeader+size)
	le.PutUint32(get[32:], uint32(size))
	entries, err := ts.Entries(false, get)
	if err != nil {
		t.Fatal(err)
	}
	innermost := sizeofGetHeader + 4*152 + 14*(176+2*152) + 176
	if packets := le.Uint64(entries[innermost+ipv4Layout.counters:]); packets != 1 {
		t.Errorf("the innermost chain's rule counted %d packets, want the datagram", packets)
	}
	deeper := nestedChains(16)
	deeper.numCounters = uint32(4 + 1 + 15*3)
	if _, _, err := ts.Replace(false, deeper.bytes()); errnoOf(err) != unix.EOPNOTSUPP {
		t.Fatalf("16 nested chains: %v, want EOPNOTSUPP", err)
	}
}
