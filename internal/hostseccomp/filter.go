// Package hostseccomp builds and installs the seccomp allow-lists that
// confine Cocoon's own processes (the sentry and the gofer) on the host.
// It is not the sandbox's seccomp(2), which the sentry implements for
// applications (sentry/seccomp).
//
// A Rule allows one system call, optionally only when every one of its
// argument conditions holds; several rules for the same call are
// alternatives. Build assembles a classic BPF program: the architecture
// check, a refusal of x32 numbers, then each rule as a short block that
// either returns ALLOW or falls through to the next one, and the deny
// action at the end. The kernel caches "always allowed" per system call
// number (Linux 5.11+), so the calls allowed without conditions, which
// are the hot ones, cost nothing after the first.
package hostseccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Op is how a Cond compares an argument.
type Op uint8

const (
	// Eq: the whole 64-bit argument equals Value.
	Eq Op = iota + 1
	// MaskedEq: the low 32 bits, masked with Mask, equal Value.
	MaskedEq
	// NoneOf: none of the bits of Mask is set in the low 32 bits.
	NoneOf
	// AllOf: every bit of Mask is set in the low 32 bits.
	AllOf
)

// Cond is a condition on one argument. The 32-bit ops suit arguments the
// kernel reads as int or unsigned int (flags, prot, ioctl commands,
// signal numbers); Eq checks all 64 bits.
type Cond struct {
	Arg   int
	Op    Op
	Value uint64
	Mask  uint32
}

// Rule allows system call Nr when all Conds hold.
type Rule struct {
	Nr    uint32
	Conds []Cond
}

// Allow is a Rule without conditions.
func Allow(nr uint32) Rule { return Rule{Nr: nr} }

// ArgEq is a Rule allowing nr only when argument arg equals v.
func ArgEq(nr uint32, arg int, v uint64) Rule {
	return Rule{Nr: nr, Conds: []Cond{{Arg: arg, Op: Eq, Value: v}}}
}

// Offsets in struct seccomp_data.
const (
	dataNr   = 0
	dataArch = 4
	dataArgs = 16 // 6 × u64, the low half first (little-endian)
)

// x32Bit marks the x32 ABI's numbers on x86-64.
const x32Bit = 0x40000000

// killNr is a number no kernel uses that the filter answers with
// SECCOMP_RET_KILL_PROCESS whatever the deny action: the SIGSYS
// reporter (report.go) makes it to end the process once it has said
// which call was refused.
const killNr = x32Bit - 16

const (
	ldAbs  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	aluAnd = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	jeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jge    = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	jset   = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	ret    = unix.BPF_RET | unix.BPF_K
)

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// Build assembles the filter for rules on architecture arch (an
// AUDIT_ARCH_* value): calls no rule allows get deny.
func Build(arch uint32, rules []Rule, deny uint32) ([]unix.SockFilter, error) {
	p := []unix.SockFilter{
		stmt(ldAbs, dataArch),
		jump(jeq, arch, 1, 0),
		stmt(ret, deny),
		stmt(ldAbs, dataNr),
		jump(jeq, killNr, 0, 1),
		stmt(ret, unix.SECCOMP_RET_KILL_PROCESS),
		jump(jge, x32Bit, 0, 1),
		stmt(ret, deny),
	}
	for _, r := range rules {
		block, err := ruleBlock(r)
		if err != nil {
			return nil, err
		}
		p = append(p, block...)
	}
	p = append(p, stmt(ret, deny))
	if len(p) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp filter of %d instructions exceeds the kernel's %d", len(p), unix.BPF_MAXINSNS)
	}
	return p, nil
}

// ruleBlock is one rule: it expects the number in the accumulator and
// leaves it there when it falls through (a rule with conditions reloads
// it at its end, where every failed check lands).
func ruleBlock(r Rule) ([]unix.SockFilter, error) {
	var checks []unix.SockFilter
	// Each check jumps to the block's end (the reload) when it fails;
	// the offsets are patched once the block's length is known, as the
	// distance from the check to the end.
	var fails []int
	for _, c := range r.Conds {
		if c.Arg < 0 || c.Arg > 5 {
			return nil, fmt.Errorf("seccomp rule for %d: argument %d out of range", r.Nr, c.Arg)
		}
		lo := uint32(dataArgs + 8*c.Arg)
		switch c.Op {
		case Eq:
			checks = append(checks, stmt(ldAbs, lo+4))
			fails = append(fails, len(checks))
			checks = append(checks, jump(jeq, uint32(c.Value>>32), 0, 0))
			checks = append(checks, stmt(ldAbs, lo))
			fails = append(fails, len(checks))
			checks = append(checks, jump(jeq, uint32(c.Value), 0, 0))
		case MaskedEq:
			checks = append(checks, stmt(ldAbs, lo), stmt(aluAnd, c.Mask))
			fails = append(fails, len(checks))
			checks = append(checks, jump(jeq, uint32(c.Value), 0, 0))
		case NoneOf:
			checks = append(checks, stmt(ldAbs, lo))
			// Any bit set: fail (the true branch).
			fails = append(fails, -len(checks)-1)
			checks = append(checks, jump(jset, c.Mask, 0, 0))
		case AllOf:
			checks = append(checks, stmt(ldAbs, lo), stmt(aluAnd, c.Mask))
			fails = append(fails, len(checks))
			checks = append(checks, jump(jeq, c.Mask, 0, 0))
		default:
			return nil, fmt.Errorf("seccomp rule for %d: unknown op %d", r.Nr, c.Op)
		}
	}
	if len(checks) == 0 {
		return []unix.SockFilter{jump(jeq, r.Nr, 0, 1), stmt(ret, unix.SECCOMP_RET_ALLOW)}, nil
	}
	// Layout: [jeq nr] checks... [ret allow] [ld nr]; a failed check
	// goes to the reload.
	n := len(checks)
	if n+2 > 255 {
		return nil, fmt.Errorf("seccomp rule for %d has too many conditions", r.Nr)
	}
	for _, f := range fails {
		i, onTrue := f, false
		if f < 0 {
			i, onTrue = -f-1, true
		}
		// From check i, the instruction after it is i+1; the reload is
		// at n+1 (after ret allow at n).
		off := uint8(n + 1 - (i + 1))
		if onTrue {
			checks[i].Jt = off
		} else {
			checks[i].Jf = off
		}
	}
	block := []unix.SockFilter{jump(jeq, r.Nr, 0, uint8(n+2))}
	block = append(block, checks...)
	block = append(block, stmt(ret, unix.SECCOMP_RET_ALLOW), stmt(ldAbs, dataNr))
	return block, nil
}
