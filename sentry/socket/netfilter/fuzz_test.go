package netfilter

import (
	"bytes"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	gwaiter "gvisor.dev/gvisor/pkg/waiter"

	"github.com/cocoonrt/cocoon/netstack"
)

var (
	fuzzStackOnce sync.Once
	fuzzStack     *netstack.Stack
)

// FuzzReplace feeds IPT_SO_SET_REPLACE (and IP6T_'s) what a hostile
// program in the sandbox could: the compiler must refuse or accept
// without panicking, and an accepted table must then filter packets
// without panicking either (a panic would take the pod's sentry down).
func FuzzReplace(f *testing.F) {
	tcp4 := ipSpec{proto: unix.IPPROTO_TCP}
	chainHead := entry(ipSpec{}, nil, errorTarget("C"))
	chainFoot := entry(ipSpec{}, nil, standard(verdictReturn))
	seeds := []replacement{
		{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{entry(loopback32, [][]byte{tcpMatch(80)}, redirect(8080))}}}},
		{name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{entry(ipSpec{}, nil, standard(int32(4*152+152+176)))}}},
			user:   [][]byte{chainHead, entry(tcp4, nil, redirect(15001)), chainFoot}},
		{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{3: {rules: [][]byte{entry(tcp4, [][]byte{tcpMatch(81)}, ext("REJECT", 0, []byte{7, 0, 0, 0}))}}}},
		{name: "filter", hooks: inBit | fwdBit | outBit, numCounters: 4,
			chains: map[int]chain{1: {rules: [][]byte{entry(ipSpec{}, [][]byte{ext("state", 0, []byte{2, 0, 0, 0})}, standard(verdictAccept))}, policy: verdictDrop}}},
		{v6: true, name: "nat", hooks: natHooks, numCounters: 5,
			chains: map[int]chain{3: {rules: [][]byte{layEntry(ipv6Layout, tcp6(), [][]byte{tcpMatch(80)}, redirect6(8080))}}}},
	}
	for _, s := range seeds {
		f.Add(s.v6, s.bytes())
	}
	f.Fuzz(func(t *testing.T, v6 bool, in []byte) {
		fuzzStackOnce.Do(func() {
			st, err := netstack.New()
			if err != nil {
				t.Fatal(err)
			}
			fuzzStack = st
		})
		ts := New(fuzzStack.Stack)
		if _, _, err := ts.Replace(v6, in); err != nil {
			if errnoOf(err) == 0 {
				t.Fatalf("Replace failed without an errno: %v", err)
			}
			return
		}
		sendThrough(t, fuzzStack, v6)
		// What was accepted reads back.
		info, err := ts.Info(v6, append([]byte(nil), in[:sizeofGetinfo]...))
		if err != nil {
			t.Fatalf("Info of an accepted table: %v", err)
		}
		size := le.Uint32(info[80:])
		get := append(append([]byte(nil), in[:tableNameLen]...), make([]byte, sizeofGetHeader-tableNameLen+int(size))...)
		le.PutUint32(get[32:], size)
		if _, err := ts.Entries(v6, get); err != nil {
			t.Fatalf("Entries of an accepted table: %v", err)
		}
		// Leave the stack's rules empty for the next input.
		name := cString(in[:tableNameLen])
		fuzzStack.IPTables().ReplaceTable(ts.family(v6).tables[name].id, emptyTable(fuzzStack, v6, name), v6)
	})
}

// FuzzRule builds a valid table around one rule of fuzzed header
// filter, match and target in any built-in chain of any table, so that
// every extension's checks and matching see hostile data.
func FuzzRule(f *testing.F) {
	f.Add(false, uint8(1), uint8(3), make([]byte, 84), "tcp", uint8(0), tcpMatch(80)[sizeofExtension:], "REDIRECT", uint8(0), redirect(8080)[sizeofExtension:])
	f.Add(false, uint8(0), uint8(1), make([]byte, 84), "multiport", uint8(1), make([]byte, 48), "REJECT", uint8(0), []byte{7, 0, 0, 0, 0, 0, 0, 0})
	f.Add(true, uint8(1), uint8(3), tcp6(), "owner", uint8(1), make([]byte, 24), "DNAT", uint8(1), make([]byte, 40))
	f.Add(false, uint8(0), uint8(3), make([]byte, 84), "conntrack", uint8(3), make([]byte, 168), "", uint8(0), []byte{0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add(true, uint8(0), uint8(3), make([]byte, 136), "icmp6", uint8(0), []byte{128, 0, 255, 0, 0, 0, 0, 0}, "", uint8(0), []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add(false, uint8(0), uint8(1), make([]byte, 84), "limit", uint8(0), []byte{0x20, 0x4e, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "LOG", uint8(0), make([]byte, 32))
	f.Add(false, uint8(2), uint8(3), make([]byte, 84), "mark", uint8(1), []byte{0x42, 0, 0, 0, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, "MARK", uint8(2), []byte{7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v6 bool, tableIdx, hookIdx uint8, ip []byte, match string, matchRev uint8, matchData []byte, target string, targetRev uint8, targetData []byte) {
		if len(match) > extensionName-1 || len(target) > extensionName-1 || len(matchData) > 1024 || len(targetData) > 1024 {
			return
		}
		fuzzStackOnce.Do(func() {
			st, err := netstack.New()
			if err != nil {
				t.Fatal(err)
			}
			fuzzStack = st
		})
		b := builtins[int(tableIdx)%len(builtins)]
		var hooks []int
		for h := range numHooks {
			if b.hooks&(1<<h) != 0 {
				hooks = append(hooks, h)
			}
		}
		l := familyOf(v6).l
		ipBytes := make([]byte, l.ipSize)
		copy(ipBytes, ip)
		var matches [][]byte
		if match != "" {
			matches = append(matches, ext(match, matchRev, matchData))
		}
		r := replacement{v6: v6, name: b.name, hooks: b.hooks, numCounters: uint32(len(hooks) + 1),
			chains: map[int]chain{hooks[int(hookIdx)%len(hooks)]: {rules: [][]byte{layEntry(l, ipBytes, matches, ext(target, targetRev, targetData))}}}}
		ts := New(fuzzStack.Stack)
		if _, _, err := ts.Replace(v6, r.bytes()); err != nil {
			if errnoOf(err) == 0 {
				t.Fatalf("Replace failed without an errno: %v", err)
			}
			return
		}
		sendThrough(t, fuzzStack, v6)
		fuzzStack.IPTables().ReplaceTable(b.id, emptyTable(fuzzStack, v6, b.name), v6)
	})
}

// emptyTable compiles the empty table New keeps for name.
func emptyTable(st *netstack.Stack, v6 bool, name string) stack.Table {
	fresh := New(st.Stack).family(v6).tables[name]
	c := compiler{f: familyOf(v6), b: fresh.builtin, entries: fresh.entries, numEntries: fresh.numEntries,
		hookEntry: fresh.hookEntry, underflow: fresh.underflow, protocols: st.Stack}
	table, err := c.compile()
	if err != nil {
		panic(err)
	}
	return table
}

// sendThrough sends a UDP datagram and a TCP SYN over the stack's
// loopback, through every hook of the family's tables.
func sendThrough(t *testing.T, st *netstack.Stack, v6 bool) {
	np, addr := ipv4.ProtocolNumber, tcpip.AddrFrom4([4]byte{127, 0, 0, 1})
	if v6 {
		np, addr = ipv6.ProtocolNumber, tcpip.AddrFrom16([16]byte{15: 1})
	}
	var wq gwaiter.Queue
	u, terr := st.NewEndpoint(udp.ProtocolNumber, np, &wq)
	if terr != nil {
		t.Fatal(terr)
	}
	defer u.Close()
	u.Write(bytes.NewReader([]byte("fuzz")), tcpip.WriteOptions{To: &tcpip.FullAddress{Addr: addr, Port: 9}})
	c, terr := st.NewEndpoint(tcp.ProtocolNumber, np, &wq)
	if terr != nil {
		t.Fatal(terr)
	}
	c.Connect(tcpip.FullAddress{Addr: addr, Port: 80})
	c.Close()
}
