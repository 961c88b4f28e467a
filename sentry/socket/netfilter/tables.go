// Package netfilter implements ip_tables' and ip6_tables' socket
// options on a sandbox stack's packet filter: the interface
// iptables-legacy, ip6tables-legacy and their -save and -restore program
// (service mesh init containers redirect a pod's traffic with them), and
// SO_ORIGINAL_DST, which tells a proxy where a redirected connection was
// going.
//
// The tables the caller replaces are validated as Linux's
// translate_table does (entry layout, hook entries and underflows,
// jumps, loops, each extension's size, table and hooks) and turned into
// gVisor's stack.IPTables rules, which the stack evaluates; the bytes
// are kept to hand back on IPT_SO_GET_ENTRIES, with each entry's packet
// and byte counters.
//
// Supported: the filter, nat, mangle and raw tables; the standard
// targets (ACCEPT, DROP, RETURN, jumps to user chains), ERROR, REDIRECT,
// DNAT, SNAT, MASQUERADE, REJECT, MARK and LOG; the tcp, udp, multiport,
// icmp (icmp6), owner, mark, limit, state, conntrack and comment matches
// and the IP header filter (addresses, interfaces, protocol, each
// invertible). Anything else is
// refused with Linux's errno (ENOENT for an extension Linux would have
// to load) and a kernel log line that says what.
package netfilter

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/cocoonrt/cocoon/netstack"
)

// Error is a refusal: the errno the caller gets, and what the kernel
// log says of it ("" when Linux logs nothing).
type Error struct {
	Errno  unix.Errno
	Reason string
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return e.Errno.Error()
	}
	return e.Reason
}

func fail(errno unix.Errno, format string, args ...any) *Error {
	return &Error{Errno: errno, Reason: fmt.Sprintf(format, args...)}
}

// The hooks' bits in a valid_hooks mask.
const (
	preBit  = 1 << stack.Prerouting
	inBit   = 1 << stack.Input
	fwdBit  = 1 << stack.Forward
	outBit  = 1 << stack.Output
	postBit = 1 << stack.Postrouting
)

// builtin is one of Linux's IPv4 tables.
type builtin struct {
	name string
	id   stack.TableID
	// hooks are Linux's valid hooks of the table; evaluated those at
	// which the stack runs it (a chain at another hook must stay an
	// empty ACCEPT).
	hooks, evaluated uint32
}

var builtins = []builtin{
	{"filter", stack.FilterID, inBit | fwdBit | outBit, inBit | fwdBit | outBit},
	{"nat", stack.NATID, preBit | inBit | outBit | postBit, preBit | inBit | outBit | postBit},
	{"mangle", stack.MangleID, preBit | inBit | fwdBit | outBit | postBit, preBit | outBit | postBit},
	{"raw", stack.RawID, preBit | outBit, preBit | outBit},
}

// table is one table as the caller last set it.
type table struct {
	builtin
	hookEntry, underflow [numHooks]uint32
	numEntries           uint32
	// entries are the entries as given, counters zeroed.
	entries []byte
	// counters are each entry's, in order; the stack's rules add to
	// them.
	counters []counter
}

// counter is an entry's struct xt_counters.
type counter struct {
	packets, bytes atomic.Uint64
}

// Tables is the packet filter state of one stack (network namespace):
// its IPv4 and its IPv6 tables.
type Tables struct {
	st *stack.Stack

	// mu protects both families' tables and used, and orders
	// replacements of the stack's rules.
	mu       sync.Mutex
	families [2]familyTables // IPv4, IPv6
}

// familyTables are one family's tables.
type familyTables struct {
	f      *family
	tables map[string]*table
	// used are the names of the tables looked up so far, the latest
	// first: Linux makes a namespace's table when it is first asked
	// for, and lists those it made.
	used []string
}

// Of returns the state of st's tables, made on first use.
func Of(st *netstack.Stack) *Tables {
	return st.Netfilter(func(s *stack.Stack) any { return New(s) }).(*Tables)
}

// New returns the state of st's tables: Linux's empty built-in tables,
// every chain's policy ACCEPT.
func New(st *stack.Stack) *Tables {
	ts := &Tables{st: st}
	for i, f := range []*family{ipTables, ip6Tables} {
		ft := &ts.families[i]
		ft.f, ft.tables = f, make(map[string]*table)
		for _, b := range builtins {
			t := &table{builtin: b}
			var off uint32
			for h := range numHooks {
				if b.hooks&(1<<h) == 0 {
					continue
				}
				t.hookEntry[h], t.underflow[h] = off, off
				t.entries = appendStandardEntry(t.entries, f.l, verdictAccept)
				off = uint32(len(t.entries))
				t.numEntries++
			}
			t.entries = appendErrorEntry(t.entries, f.l, "ERROR")
			t.numEntries++
			t.counters = make([]counter, t.numEntries)
			ft.tables[b.name] = t
		}
	}
	return ts
}

// family returns the tables of IPv6 or IPv4.
func (ts *Tables) family(v6 bool) *familyTables {
	if v6 {
		return &ts.families[1]
	}
	return &ts.families[0]
}

// Names returns the names of a family's tables in use, the latest first
// (/proc/net/ip_tables_names, ip6_tables_names).
func (ts *Tables) Names(v6 bool) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.family(v6).used)
}

// Extensions returns the names of the matches and the targets the
// sandbox implements for a family (/proc/net/ip_tables_matches and
// _targets, ip6_tables_...).
func Extensions(v6 bool) (matchNames, targetNames []string) {
	f := familyOf(v6)
	matchNames = slices.Sorted(maps.Keys(f.matches))
	targetNames = append(slices.Sorted(maps.Keys(f.targets)), "ERROR")
	return matchNames, targetNames
}

// lookup returns a table of ft.
//
// Preconditions: ts.mu is held.
func (ft *familyTables) lookup(name string) (*table, *Error) {
	t, ok := ft.tables[name]
	if !ok {
		// What Linux answers for a table whose module is not loaded.
		return nil, &Error{Errno: unix.ENOENT}
	}
	if !slices.Contains(ft.used, name) {
		ft.used = slices.Insert(ft.used, 0, name)
	}
	return t, nil
}

// Info answers IPT_SO_GET_INFO (IP6T_SO_GET_INFO with v6): in is the
// caller's struct ipt_getinfo with the table's name.
func (ts *Tables) Info(v6 bool, in []byte) ([]byte, error) {
	if len(in) != sizeofGetinfo {
		return nil, &Error{Errno: unix.EINVAL}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, err := ts.family(v6).lookup(cString(in[:tableNameLen]))
	if err != nil {
		return nil, err
	}
	out := make([]byte, sizeofGetinfo)
	putName(out[:tableNameLen], t.name)
	le.PutUint32(out[32:], t.hooks)
	for h := range numHooks {
		le.PutUint32(out[36+4*h:], t.hookEntry[h])
		le.PutUint32(out[56+4*h:], t.underflow[h])
	}
	le.PutUint32(out[76:], t.numEntries)
	le.PutUint32(out[80:], uint32(len(t.entries)))
	return out, nil
}

// Entries answers IPT_SO_GET_ENTRIES: in is the caller's struct
// ipt_get_entries, whose size must be the table's.
func (ts *Tables) Entries(v6 bool, in []byte) ([]byte, error) {
	if len(in) < sizeofGetHeader {
		return nil, &Error{Errno: unix.EINVAL}
	}
	size := le.Uint32(in[32:])
	if uint64(len(in)) != sizeofGetHeader+uint64(size) {
		return nil, &Error{Errno: unix.EINVAL}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, err := ts.family(v6).lookup(cString(in[:tableNameLen]))
	if err != nil {
		return nil, err
	}
	if int(size) != len(t.entries) {
		// The table changed since the caller's IPT_SO_GET_INFO.
		return nil, &Error{Errno: unix.EAGAIN}
	}
	out := make([]byte, sizeofGetHeader, sizeofGetHeader+len(t.entries))
	copy(out, in[:sizeofGetHeader])
	out = append(out, t.entries...)
	entries := out[sizeofGetHeader:]
	l := ts.family(v6).f.l
	for i, off := 0, 0; off < len(entries); i++ {
		le.PutUint64(entries[off+l.counters:], t.counters[i].packets.Load())
		le.PutUint64(entries[off+l.counters+8:], t.counters[i].bytes.Load())
		off += int(le.Uint16(entries[off+l.nextOff:]))
	}
	return out, nil
}

// Revision answers IPT_SO_GET_REVISION_MATCH (target false) and
// IPT_SO_GET_REVISION_TARGET (and IPv6's): nil when the extension exists
// at that revision, ENOENT when it does not exist at all,
// EPROTONOSUPPORT when only at other revisions.
func Revision(v6 bool, in []byte, target bool) error {
	if len(in) != sizeofRevision {
		return &Error{Errno: unix.EINVAL}
	}
	name, rev := cString(in[:extensionName]), in[extensionName]
	known := familyOf(v6).matches
	if target {
		known = familyOf(v6).targets
	}
	x, ok := known[name]
	switch {
	case !ok:
		return &Error{Errno: unix.ENOENT}
	case rev != x.revision:
		return &Error{Errno: unix.EPROTONOSUPPORT}
	}
	return nil
}

// Replace carries out IPT_SO_SET_REPLACE: in is the caller's struct
// ipt_replace with its entries. It returns the replaced table's
// counters, which the caller copies to countersAddr (the old table is
// gone even if that copy fails, as on Linux).
func (ts *Tables) Replace(v6 bool, in []byte) (oldCounters []byte, countersAddr uint64, _ error) {
	if len(in) < sizeofReplace {
		return nil, 0, &Error{Errno: unix.EINVAL}
	}
	name := cString(in[:tableNameLen])
	validHooks := le.Uint32(in[32:])
	numEntries := le.Uint32(in[36:])
	size := le.Uint32(in[40:])
	numCounters := le.Uint32(in[84:])
	countersAddr = le.Uint64(in[88:])
	if numCounters == 0 {
		return nil, 0, &Error{Errno: unix.EINVAL}
	}
	if uint64(len(in)) < sizeofReplace+uint64(size) {
		return nil, 0, &Error{Errno: unix.EINVAL}
	}
	var hookEntry, underflow [numHooks]uint32
	for h := range numHooks {
		hookEntry[h] = le.Uint32(in[44+4*h:])
		underflow[h] = le.Uint32(in[64+4*h:])
	}
	entries := in[sizeofReplace : sizeofReplace+int(size)]

	ts.mu.Lock()
	defer ts.mu.Unlock()
	ft := ts.family(v6)
	old, err := ft.lookup(name)
	if err != nil {
		return nil, 0, err
	}
	if validHooks != old.hooks {
		return nil, 0, &Error{Errno: unix.EINVAL}
	}
	c := compiler{
		f:          ft.f,
		b:          old.builtin,
		entries:    entries,
		numEntries: numEntries,
		hookEntry:  hookEntry,
		underflow:  underflow,
		protocols:  ts.st,
	}
	rules, ferr := c.compile()
	if ferr != nil {
		if ferr.Reason != "" {
			ferr.Reason = ft.f.name + ": " + ferr.Reason
		}
		return nil, 0, ferr
	}
	if numCounters != old.numEntries {
		return nil, 0, &Error{Errno: unix.EINVAL}
	}
	t := &table{
		builtin:    old.builtin,
		hookEntry:  hookEntry,
		underflow:  underflow,
		numEntries: numEntries,
		entries:    c.kept(),
		counters:   c.counters,
	}
	ts.st.IPTables().ReplaceTable(t.id, rules, v6)
	ft.tables[name] = t

	oldCounters = make([]byte, sizeofCounters*int(old.numEntries))
	for i := range old.counters {
		le.PutUint64(oldCounters[sizeofCounters*i:], old.counters[i].packets.Load())
		le.PutUint64(oldCounters[sizeofCounters*i+8:], old.counters[i].bytes.Load())
	}
	return oldCounters, countersAddr, nil
}

// AddCounters carries out IPT_SO_SET_ADD_COUNTERS (iptables-restore
// --counters, and every iptables change, which adds back what the
// replaced table counted).
func (ts *Tables) AddCounters(v6 bool, in []byte) error {
	if len(in) < sizeofCountInfo {
		return &Error{Errno: unix.EINVAL}
	}
	n := le.Uint32(in[32:])
	if uint64(len(in)) != sizeofCountInfo+uint64(n)*sizeofCounters {
		return &Error{Errno: unix.EINVAL}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, err := ts.family(v6).lookup(cString(in[:tableNameLen]))
	if err != nil {
		return err
	}
	if n != t.numEntries {
		return &Error{Errno: unix.EINVAL}
	}
	for i := range t.counters {
		off := sizeofCountInfo + sizeofCounters*i
		t.counters[i].packets.Add(le.Uint64(in[off:]))
		t.counters[i].bytes.Add(le.Uint64(in[off+8:]))
	}
	return nil
}
