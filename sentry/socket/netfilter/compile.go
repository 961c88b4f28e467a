package netfilter

// Turning a table the caller gave into the stack's rules, with Linux's
// checks (translate_table, mark_source_chains, check_underflow,
// xt_check_match and xt_check_target).

import (
	"bytes"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// compiler compiles one table.
type compiler struct {
	f          *family
	b          builtin
	entries    []byte
	numEntries uint32
	hookEntry  [numHooks]uint32
	underflow  [numHooks]uint32
	// protocols gives REJECT the network protocol that sends its errors.
	protocols *stack.Stack

	// offsets are the entries' offsets, in order; index maps an offset
	// back to its entry.
	offsets []int
	index   map[int]int
	// comeFrom are the hooks each entry is reachable from.
	comeFrom []uint32
	counters []counter
	// current is the entry being compiled (a target that continues
	// jumps to the next).
	current int
}

// parsedEntry is an entry's parts.
type parsedEntry struct {
	ip      []byte // struct ipt_ip
	matches []extension
	target  extension
}

// kept returns the entries as the table keeps them: counters zeroed and
// comefrom as Linux leaves it after the checks.
func (c *compiler) kept() []byte {
	b := bytes.Clone(c.entries)
	l := c.f.l
	for i, off := range c.offsets {
		le.PutUint32(b[off+l.comeFrom:], c.comeFrom[i])
		clear(b[off+l.counters : off+l.counters+sizeofCounters])
	}
	return b
}

func (c *compiler) compile() (stack.Table, *Error) {
	if err := c.layout(); err != nil {
		return stack.Table{}, err
	}
	parsed := make([]parsedEntry, len(c.offsets))
	for i, off := range c.offsets {
		p, err := c.parse(off)
		if err != nil {
			return stack.Table{}, err
		}
		parsed[i] = p
	}
	if err := c.hooks(parsed); err != nil {
		return stack.Table{}, err
	}
	if err := c.markChains(parsed); err != nil {
		return stack.Table{}, err
	}
	c.counters = make([]counter, len(c.offsets))
	table := stack.Table{Rules: make([]stack.Rule, len(parsed))}
	for i, p := range parsed {
		c.current = i
		rule, err := c.rule(i, p)
		if err != nil {
			return stack.Table{}, err
		}
		table.Rules[i] = rule
	}
	for h := range numHooks {
		table.BuiltinChains[h], table.Underflows[h] = stack.HookUnset, stack.HookUnset
		if c.b.hooks&(1<<h) != 0 {
			table.BuiltinChains[h] = c.index[int(c.hookEntry[h])]
			table.Underflows[h] = c.index[int(c.underflow[h])]
		}
	}
	return table, nil
}

// layout walks the entries (check_entry_size_and_hooks).
func (c *compiler) layout() *Error {
	l := c.f.l
	c.index = make(map[int]int)
	for off := 0; off < len(c.entries); {
		if off%8 != 0 || off+l.entrySize >= len(c.entries) {
			return fail(unix.EINVAL, "bad entry at offset %d", off)
		}
		next := int(le.Uint16(c.entries[off+l.nextOff:]))
		target := int(le.Uint16(c.entries[off+l.targetOff:]))
		if next < l.entrySize+sizeofExtension || off+next > len(c.entries) ||
			target < l.entrySize || target+sizeofExtension > next {
			return fail(unix.EINVAL, "bad entry sizes at offset %d", off)
		}
		c.index[off] = len(c.offsets)
		c.offsets = append(c.offsets, off)
		off += next
	}
	if uint32(len(c.offsets)) != c.numEntries {
		return fail(unix.EINVAL, "%d entries, %d announced", len(c.offsets), c.numEntries)
	}
	c.comeFrom = make([]uint32, len(c.offsets))
	return nil
}

// parse splits the entry at off into its IP header filter, matches and
// target (xt_check_entry_offsets).
func (c *compiler) parse(off int) (parsedEntry, *Error) {
	l := c.f.l
	e := c.entries[off : off+int(le.Uint16(c.entries[off+l.nextOff:]))]
	p := parsedEntry{ip: e[:l.ipSize]}
	if e[l.flags]&^l.flagsMask != 0 || e[l.invFlags]&^invMask != 0 {
		return p, fail(unix.EINVAL, "bad ip flags at offset %d", off)
	}
	target := int(le.Uint16(e[l.targetOff:]))
	for m := l.entrySize; m < target; {
		x, size, ok := readExtension(e, m, target)
		if !ok {
			return p, fail(unix.EINVAL, "bad match at offset %d", off+m)
		}
		p.matches = append(p.matches, x)
		m += size
	}
	x, size, ok := readExtension(e, target, len(e))
	if !ok || target+size != len(e) {
		return p, fail(unix.EINVAL, "bad target at offset %d", off+target)
	}
	p.target = x
	return p, nil
}

// standardVerdict returns the verdict of a standard target.
func (p *parsedEntry) standardVerdict() (int32, bool) {
	if p.target.name != "" || len(p.target.data) != sizeofStandard-sizeofExtension {
		return 0, false
	}
	return int32(le.Uint32(p.target.data)), true
}

// unconditional reports whether the entry matches every packet.
func (p *parsedEntry) unconditional() bool {
	return len(p.matches) == 0 && bytes.Count(p.ip, []byte{0}) == len(p.ip)
}

// hooks checks the hook entries and underflows: each an entry, the
// underflows unconditional ACCEPT or DROP (check_underflow).
func (c *compiler) hooks(parsed []parsedEntry) *Error {
	for h := range numHooks {
		if c.b.hooks&(1<<h) == 0 {
			continue
		}
		entry, ok1 := c.index[int(c.hookEntry[h])]
		under, ok2 := c.index[int(c.underflow[h])]
		if !ok1 || !ok2 {
			return fail(unix.EINVAL, "hook %d's entry or underflow is not an entry", h)
		}
		u := &parsed[under]
		if v, ok := u.standardVerdict(); !ok || !u.unconditional() || (v != verdictAccept && v != verdictDrop) {
			return fail(unix.EINVAL, "underflows must be unconditional and use the STANDARD target with ACCEPT/DROP")
		}
		if c.b.evaluated&(1<<h) == 0 {
			// A chain the stack never runs must stay an empty
			// ACCEPT, or its rules would silently not apply.
			if v, _ := u.standardVerdict(); entry != under || v != verdictAccept {
				return fail(unix.EOPNOTSUPP, "the %s table's chain at hook %d is not supported in the sandbox", c.b.name, h)
			}
		}
	}
	return nil
}

// maxJumpDepth is how deep jumps may nest: gVisor's evaluator drops a
// packet at the 16th nested jump (its maxJumps), where Linux's jump stack
// is as deep as the table has chains. A table that nests deeper is
// refused rather than dropping packets.
const maxJumpDepth = 15

// markChains finds the hooks each entry is reachable from, and refuses
// loops, flows that run off the table (mark_source_chains) and jumps
// nested deeper than the stack evaluates.
func (c *compiler) markChains(parsed []parsedEntry) *Error {
	n := len(parsed)
	// next returns an entry's successors: a jump's destination first
	// (jumps is 1 then), and the one after it unless an unconditional
	// verdict ends the chain there.
	next := func(i int) (succ [2]int, count, jumps int, err *Error) {
		p := &parsed[i]
		v, std := p.standardVerdict()
		if std && v >= 0 {
			j, ok := c.index[int(v)]
			if !ok {
				return succ, 0, 0, fail(unix.EINVAL, "jump to %d is not an entry", v)
			}
			if j != i+1 {
				succ[count] = j
				count++
				jumps = 1
			}
		}
		if std && v < 0 && p.unconditional() {
			return succ, count, jumps, nil
		}
		if i+1 >= n {
			return succ, count, jumps, fail(unix.ELOOP, "a chain runs off the end of the table")
		}
		succ[count] = i + 1
		count++
		return succ, count, jumps, nil
	}
	const (
		unseen = iota
		open
		done
	)
	// depth is, for each entry, the most jumps any flow from it nests.
	depth := make([]int, n)
	for h := range numHooks {
		if c.b.hooks&(1<<h) == 0 {
			continue
		}
		state := make([]uint8, n)
		type frame struct{ entry, nextSucc int }
		start := c.index[int(c.hookEntry[h])]
		stackFrames := []frame{{start, 0}}
		state[start] = open
		c.comeFrom[start] |= 1 << h
		for len(stackFrames) > 0 {
			top := &stackFrames[len(stackFrames)-1]
			succ, count, jumps, err := next(top.entry)
			if err != nil {
				return err
			}
			if top.nextSucc == count {
				d := 0
				for k := range count {
					v := depth[succ[k]]
					if k < jumps {
						v++
					}
					d = max(d, v)
				}
				depth[top.entry] = d
				state[top.entry] = done
				stackFrames = stackFrames[:len(stackFrames)-1]
				continue
			}
			s := succ[top.nextSucc]
			top.nextSucc++
			switch state[s] {
			case open:
				return fail(unix.ELOOP, "loop in the %s table's rules", c.b.name)
			case unseen:
				state[s] = open
				c.comeFrom[s] |= 1 << h
				stackFrames = append(stackFrames, frame{s, 0})
			}
		}
		if depth[start] > maxJumpDepth {
			return fail(unix.EOPNOTSUPP, "jumps in the %s table nest %d deep; the sandbox evaluates %d at most", c.b.name, depth[start], maxJumpDepth)
		}
	}
	return nil
}

// rule compiles entry i.
func (c *compiler) rule(i int, p parsedEntry) (stack.Rule, *Error) {
	filter, protoMatchers, proto, err := c.f.filter(p.ip)
	if err != nil {
		return stack.Rule{}, err
	}
	matchers := protoMatchers
	for _, m := range p.matches {
		matcher, err := c.match(m, proto, c.comeFrom[i])
		if err != nil {
			return stack.Rule{}, err
		}
		matchers = append(matchers, matcher)
	}
	target, err := c.target(i, p, proto)
	if err != nil {
		return stack.Rule{}, err
	}
	return stack.Rule{Filter: filter, Matchers: matchers, Target: &countedTarget{Target: target, c: &c.counters[i]}}, nil
}

// target compiles entry i's target.
func (c *compiler) target(i int, p parsedEntry, proto entryProtocol) (stack.Target, *Error) {
	np := c.f.proto
	if v, ok := p.standardVerdict(); ok {
		switch {
		case v >= 0:
			if p.ip[c.f.l.flags]&c.f.l.flagGoto != 0 {
				return nil, fail(unix.EOPNOTSUPP, "goto (-g) is not supported in the sandbox; use a jump (-j)")
			}
			return jumpTarget{rule: c.index[int(v)]}, nil
		case v == verdictAccept:
			return &stack.AcceptTarget{NetworkProtocol: np}, nil
		case v == verdictDrop:
			return &stack.DropTarget{NetworkProtocol: np}, nil
		case v == verdictReturn:
			return &stack.ReturnTarget{NetworkProtocol: np}, nil
		case v == verdictQueue:
			return nil, fail(unix.EOPNOTSUPP, "QUEUE is not supported in the sandbox")
		}
		return nil, fail(unix.EINVAL, "bad verdict %d", v)
	}
	if p.target.name == "" {
		return nil, fail(unix.EINVAL, "standard target of size %d", len(p.target.data)+sizeofExtension)
	}
	if p.target.name == "ERROR" {
		if len(p.target.data) != sizeofError-sizeofExtension {
			return nil, fail(unix.EINVAL, "ERROR target of size %d", len(p.target.data)+sizeofExtension)
		}
		return &stack.ErrorTarget{NetworkProtocol: np}, nil
	}
	x, ok := c.f.targets[p.target.name]
	if !ok || x.revision != p.target.revision {
		return nil, fail(unix.ENOENT, "target %s revision %d is not supported in the sandbox", p.target.name, p.target.revision)
	}
	if err := x.check(c.b, p.target, proto, c.comeFrom[i]); err != nil {
		return nil, err
	}
	return x.makeTarget(c, p.target.data, proto)
}

// match compiles one match of an entry reachable from hooks.
func (c *compiler) match(m extension, proto entryProtocol, hooks uint32) (stack.Matcher, *Error) {
	x, ok := c.f.matches[m.name]
	if !ok || x.revision != m.revision {
		return nil, fail(unix.ENOENT, "match %s revision %d is not supported in the sandbox", m.name, m.revision)
	}
	if err := x.check(c.b, m, proto, hooks); err != nil {
		return nil, err
	}
	return x.makeMatcher(m.data)
}

// extensionKind is what Linux's struct xt_match and xt_target say of an
// extension: its revision, data size, protocol, table and hooks.
type extensionKind struct {
	revision uint8
	size     int    // of its data, before alignment
	proto    uint16 // the -p it needs (0: any)
	table    string // the table it is valid in ("": any)
	hooks    uint32 // the hooks it is valid at (0: any)
	// portProto is set for an extension that needs -p tcp or udp (the
	// protocols with ports the stack has).
	portProto bool

	makeMatcher func(data []byte) (stack.Matcher, *Error)
	makeTarget  func(c *compiler, data []byte, proto entryProtocol) (stack.Target, *Error)
}

// check is xt_check_match's and xt_check_target's common part.
func (x extensionKind) check(b builtin, e extension, proto entryProtocol, hooks uint32) *Error {
	if len(e.data) != align(x.size) {
		return fail(unix.EINVAL, "%s.%d: invalid size %d (kernel) != (user) %d", e.name, e.revision, align(x.size), len(e.data))
	}
	if x.table != "" && x.table != b.name {
		return fail(unix.EINVAL, "%s: only valid in %s table, not %s", e.name, x.table, b.name)
	}
	if x.hooks != 0 && hooks&^x.hooks != 0 {
		return fail(unix.EINVAL, "%s: used from hooks %#x, but only valid from %#x", e.name, hooks, x.hooks)
	}
	if x.proto != 0 && (proto.number != x.proto || proto.invert) {
		return fail(unix.EINVAL, "%s: only valid for protocol %d", e.name, x.proto)
	}
	if x.portProto && (proto.invert || (proto.number != unix.IPPROTO_TCP && proto.number != unix.IPPROTO_UDP)) {
		return fail(unix.EINVAL, "%s: only works with TCP and UDP in the sandbox", e.name)
	}
	return nil
}
