// Package profile turns container seccomp profiles (the Docker/OCI JSON
// format kubelet's Localhost profiles use, and the runtime's default
// profile) into the classic BPF program the sentry installs on a
// container's processes, as runc does with libseccomp. Cocoon is built
// without cgo, so the compilation to BPF is done here; the sentry's own
// seccomp package validates and runs the result.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/seccomp"
)

// MaxProfileBytes bounds a profile file: the default profile is about
// 20 KiB, so anything near a mebibyte is a mistake, not a profile.
const MaxProfileBytes = 1 << 20

// kernelVersion is the version the sentry reports in uname (proc's
// DefaultRelease, 6.1.0): a rule's minKernel is compared with the kernel
// the application sees, not with the host's.
var kernelVersion = mobyseccomp.KernelVersion{Kernel: 6, Major: 1}

// Default returns the runtime's default profile. It is moby's default
// profile (the one Docker, containerd and CRI-O ship as RuntimeDefault)
// rather than a list of our own: RuntimeDefault is meant to behave the
// same under every runtime, and that list is maintained upstream as new
// system calls appear.
func Default() *mobyseccomp.Seccomp { return mobyseccomp.DefaultProfile() }

// Parse decodes a JSON profile. Unknown fields are errors, so that a
// misspelt field does not silently widen the profile.
func Parse(data []byte) (*mobyseccomp.Seccomp, error) {
	if len(data) > MaxProfileBytes {
		return nil, fmt.Errorf("profile is %d bytes (at most %d)", len(data), MaxProfileBytes)
	}
	var p mobyseccomp.Seccomp
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return nil, fmt.Errorf("bad profile JSON: %w", err)
	}
	if d.More() {
		return nil, errors.New("bad profile JSON: data after the profile")
	}
	return &p, nil
}

// Load reads and parses the profile file at path (on the host), reading
// at most MaxProfileBytes.
func Load(path string) (*mobyseccomp.Seccomp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxProfileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Program is a compiled profile: what seccomp(SECCOMP_SET_MODE_FILTER)
// gets.
type Program struct {
	Instructions []seccomp.Instruction
	// Log is SECCOMP_FILTER_FLAG_LOG.
	Log bool
}

// rule is one profile rule for one system call: the action when every
// condition holds.
type rule struct {
	ret  uint32
	args []specs.LinuxSeccompArg
}

// Compile compiles p for a process whose bounding set is caps (the
// includes/excludes "caps" conditions test it, as in moby). It returns
// nil for a profile that asks for nothing (no default action and no
// rules), as runc then installs no filter.
//
// Semantics follow runc with libseccomp on x86-64: system call names
// the table does not know are skipped; a rule that compares one argument
// several times becomes one rule per comparison (runc's OR reading);
// errnoRet defaults to EPERM; calls of another architecture are killed
// (libseccomp's default bad-arch action); x32 calls (the sentry
// implements none) get the default action when the profile lists
// SCMP_ARCH_X32, and are killed like another architecture otherwise.
func Compile(p *mobyseccomp.Seccomp, caps []string) (*Program, error) {
	if p == nil || (p.DefaultAction == "" && len(p.Syscalls) == 0) {
		return nil, nil
	}
	if len(p.Architectures) != 0 && len(p.ArchMap) != 0 {
		return nil, errors.New("both architectures and archMap are set")
	}
	if p.ListenerPath != "" || p.DefaultAction == specs.ActNotify {
		return nil, errors.New("SCMP_ACT_NOTIFY (listenerPath) is not supported: the sentry has no seccomp notification listeners")
	}
	def, err := actionRet(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	prog := &Program{}
	for _, f := range p.Flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			prog.Log = true
		case specs.LinuxSeccompFlagSpecAllow:
			// Accepted and meaningless in the sentry, as seccomp(2) does.
		default:
			return nil, fmt.Errorf("flag %q is not supported", f)
		}
	}

	arches := p.Architectures
	for _, a := range p.ArchMap {
		if a.Arch == specs.ArchX86_64 {
			arches = append(append(arches, a.Arch), a.SubArches...)
		}
	}
	x32 := slices.Contains(arches, specs.ArchX32)

	rules := map[int32][]rule{}
	for i, call := range p.Syscalls {
		if call == nil || !applies(call, caps) {
			continue
		}
		names := call.Names
		if call.Name != "" {
			if len(names) != 0 {
				return nil, fmt.Errorf("syscalls[%d]: both name and names are set", i)
			}
			names = []string{call.Name}
		}
		ret, err := actionRet(call.Action, call.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		for _, a := range call.Args {
			if a.Index > 5 {
				return nil, fmt.Errorf("syscalls[%d]: argument index %d (at most 5)", i, a.Index)
			}
			switch a.Op {
			case specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
				specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual:
			default:
				return nil, fmt.Errorf("syscalls[%d]: unknown operator %q", i, a.Op)
			}
		}
		for _, set := range splitArgs(call.Args) {
			for _, name := range names {
				nr, ok := syscallNumbers[name]
				if !ok {
					// runc skips names libseccomp does not know on the
					// architecture (e.g. chown32 on x86-64).
					continue
				}
				rules[nr] = append(rules[nr], rule{ret: ret, args: set})
			}
		}
	}
	insns, err := assemble(def, x32, rules)
	if err != nil {
		return nil, err
	}
	if _, err := seccomp.Compile(insns); err != nil {
		return nil, fmt.Errorf("compiled profile is invalid: %w", err)
	}
	prog.Instructions = insns
	return prog, nil
}

// applies evaluates a rule's includes and excludes as moby's
// setupSeccomp does, with the sentry's architecture and kernel version
// instead of the host's.
func applies(call *mobyseccomp.Syscall, caps []string) bool {
	const arch = "amd64"
	if ex := call.Excludes; ex != nil {
		if slices.Contains(ex.Arches, arch) {
			return false
		}
		for _, c := range ex.Caps {
			if slices.Contains(caps, c) {
				return false
			}
		}
		if ex.MinKernel != nil && !kernelBefore(*ex.MinKernel) {
			return false
		}
	}
	if in := call.Includes; in != nil {
		if len(in.Arches) > 0 && !slices.Contains(in.Arches, arch) {
			return false
		}
		for _, c := range in.Caps {
			if !slices.Contains(caps, c) {
				return false
			}
		}
		if in.MinKernel != nil && kernelBefore(*in.MinKernel) {
			return false
		}
	}
	return true
}

func kernelBefore(v mobyseccomp.KernelVersion) bool {
	if kernelVersion.Kernel != v.Kernel {
		return kernelVersion.Kernel < v.Kernel
	}
	return kernelVersion.Major < v.Major
}

// splitArgs returns the condition sets of a rule: the rule itself, or,
// when some argument is compared more than once, one set per comparison
// (runc adds each as its own rule, so that e.g. personality's several
// SCMP_CMP_EQ values on argument 0 are alternatives).
func splitArgs(args []specs.LinuxSeccompArg) [][]specs.LinuxSeccompArg {
	seen := map[uint]bool{}
	multi := false
	for _, a := range args {
		if seen[a.Index] {
			multi = true
		}
		seen[a.Index] = true
	}
	if !multi {
		return [][]specs.LinuxSeccompArg{args}
	}
	out := make([][]specs.LinuxSeccompArg, len(args))
	for i, a := range args {
		out[i] = []specs.LinuxSeccompArg{a}
	}
	return out
}

// actionRet returns the filter return value of an action.
func actionRet(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := func() (uint16, error) {
		if errnoRet == nil {
			return uint16(unix.EPERM), nil
		}
		if *errnoRet > 0xffff {
			return 0, fmt.Errorf("errnoRet %d is out of range", *errnoRet)
		}
		return uint16(*errnoRet), nil
	}
	switch a {
	case specs.ActAllow:
		return seccomp.ActionAllow.Ret(0), nil
	case specs.ActLog:
		return seccomp.ActionLog.Ret(0), nil
	case specs.ActKill, specs.ActKillThread:
		return seccomp.ActionKillThread.Ret(0), nil
	case specs.ActKillProcess:
		return seccomp.ActionKillProcess.Ret(0), nil
	case specs.ActTrap:
		return seccomp.ActionTrap.Ret(0), nil
	case specs.ActErrno, specs.ActTrace:
		d, err := data()
		if err != nil {
			return 0, err
		}
		if a == specs.ActTrace {
			return seccomp.ActionTrace.Ret(d), nil
		}
		return seccomp.ActionErrno.Ret(d), nil
	case specs.ActNotify:
		return 0, errors.New("SCMP_ACT_NOTIFY is not supported: the sentry has no seccomp notification listeners")
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

// assemble lays out the program:
//
//	arch check, x32 check, then per system call (ascending):
//	  jeq nr → its inline return or (ja) its rule block
//	ret default
//	rule blocks
//
// A linear chain is enough: the sentry caches the calls whose answer is
// a constant ALLOW (seccomp.CacheSyscalls), which are most of them.
func assemble(def uint32, x32 bool, rules map[int32][]rule) ([]seccomp.Instruction, error) {
	badArch := seccomp.ActionKillThread.Ret(0)
	x32Ret := badArch
	if x32 {
		x32Ret = def
	}
	nrs := make([]int32, 0, len(rules))
	for nr := range rules {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })

	a := &asm{}
	a.emit(seccomp.Stmt(seccomp.Ld|seccomp.W|seccomp.Abs, seccomp.OffsetArch))
	a.emit(seccomp.Jump(seccomp.Jmp|seccomp.Jeq|seccomp.K, seccomp.AuditArchX86_64, 1, 0))
	a.emit(seccomp.Stmt(seccomp.Ret|seccomp.K, badArch))
	a.emit(seccomp.Stmt(seccomp.Ld|seccomp.W|seccomp.Abs, seccomp.OffsetNr))
	a.emit(seccomp.Jump(seccomp.Jmp|seccomp.Jge|seccomp.K, seccomp.X32SyscallBit, 0, 1))
	a.emit(seccomp.Stmt(seccomp.Ret|seccomp.K, x32Ret))

	type pending struct {
		at  int // index of the ja
		nr  int32
		rls []rule
	}
	var blocks []pending
	for _, nr := range nrs {
		rls := rules[nr]
		if ret, ok := constant(rls, def); ok {
			if ret == def {
				continue
			}
			a.emit(seccomp.Jump(seccomp.Jmp|seccomp.Jeq|seccomp.K, uint32(nr), 0, 1))
			a.emit(seccomp.Stmt(seccomp.Ret|seccomp.K, ret))
			continue
		}
		a.emit(seccomp.Jump(seccomp.Jmp|seccomp.Jeq|seccomp.K, uint32(nr), 0, 1))
		blocks = append(blocks, pending{at: len(a.out), nr: nr, rls: rls})
		a.emit(seccomp.Stmt(seccomp.Jmp|seccomp.Ja, 0))
	}
	a.emit(seccomp.Stmt(seccomp.Ret|seccomp.K, def))
	for _, b := range blocks {
		a.out[b.at].K = uint32(len(a.out) - b.at - 1)
		if err := a.block(b.rls, def); err != nil {
			return nil, fmt.Errorf("system call %d: %w", b.nr, err)
		}
	}
	if len(a.out) > seccomp.MaxInstructions {
		return nil, fmt.Errorf("the profile compiles to %d instructions (at most %d)", len(a.out), seccomp.MaxInstructions)
	}
	return a.out, nil
}

// constant reports whether the call's answer does not depend on its
// arguments: the first unconditional rule decides, or the default when
// there are no rules with conditions.
func constant(rls []rule, def uint32) (uint32, bool) {
	for _, r := range rls {
		if len(r.args) == 0 {
			// Conditional rules with the same action before it do not
			// change the answer; others do.
			for _, c := range rls {
				if len(c.args) > 0 && c.ret != r.ret {
					return 0, false
				}
			}
			return r.ret, true
		}
	}
	return 0, false
}

type asm struct{ out []seccomp.Instruction }

func (a *asm) emit(in seccomp.Instruction) { a.out = append(a.out, in) }

// block emits the rules of one system call: conditional rules first, in
// profile order, each falling through to the next when a condition
// fails; then the first unconditional rule's action, or the default.
func (a *asm) block(rls []rule, def uint32) error {
	final := def
	haveFinal := false
	for _, r := range rls {
		if len(r.args) == 0 {
			if !haveFinal {
				final, haveFinal = r.ret, true
			}
			continue
		}
		var fails []int // jumps to patch to the next rule
		for _, c := range r.args {
			fails = append(fails, a.cond(c)...)
		}
		a.emit(seccomp.Stmt(seccomp.Ret|seccomp.K, r.ret))
		next := len(a.out)
		for _, at := range fails {
			in := &a.out[at]
			off := next - at - 1
			if off > 255 {
				return errors.New("rule too long for a conditional jump")
			}
			// A fail target is marked by 0xff in jt or jf (see cond).
			if in.JT == failMark {
				in.JT = uint8(off)
			}
			if in.JF == failMark {
				in.JF = uint8(off)
			}
		}
	}
	a.emit(seccomp.Stmt(seccomp.Ret|seccomp.K, final))
	return nil
}

// failMark stands for "the next rule" in a jump until block patches it.
// No real offset within one comparison is that large.
const failMark = 0xff

// cond emits one 64-bit comparison of an argument, as two 32-bit
// halves (the high word decides unless equal). It falls through when the
// comparison holds and returns the jumps to patch to the next rule.
func (a *asm) cond(c specs.LinuxSeccompArg) []int {
	i := int(c.Index)
	hi, lo := uint32(c.Value>>32), uint32(c.Value)
	ldHi := seccomp.Stmt(seccomp.Ld|seccomp.W|seccomp.Abs, seccomp.OffsetArgHigh(i))
	ldLo := seccomp.Stmt(seccomp.Ld|seccomp.W|seccomp.Abs, seccomp.OffsetArgLow(i))
	j := func(op uint16, k uint32, jt, jf uint8) seccomp.Instruction {
		return seccomp.Jump(seccomp.Jmp|op|seccomp.K, k, jt, jf)
	}
	start := len(a.out)
	var fails []int
	mark := func(rel ...int) {
		for _, r := range rel {
			fails = append(fails, start+r)
		}
	}
	switch c.Op {
	case specs.OpEqualTo:
		a.emit(ldHi)
		a.emit(j(seccomp.Jeq, hi, 0, failMark))
		a.emit(ldLo)
		a.emit(j(seccomp.Jeq, lo, 0, failMark))
		mark(1, 3)
	case specs.OpNotEqual:
		a.emit(ldHi)
		a.emit(j(seccomp.Jeq, hi, 0, 2)) // high words differ: holds
		a.emit(ldLo)
		a.emit(j(seccomp.Jeq, lo, failMark, 0))
		mark(3)
	case specs.OpMaskedEqual:
		// (arg & Value) == ValueTwo.
		hi2, lo2 := uint32(c.ValueTwo>>32), uint32(c.ValueTwo)
		a.emit(ldHi)
		a.emit(seccomp.Stmt(seccomp.Alu|seccomp.And|seccomp.K, hi))
		a.emit(j(seccomp.Jeq, hi2, 0, failMark))
		a.emit(ldLo)
		a.emit(seccomp.Stmt(seccomp.Alu|seccomp.And|seccomp.K, lo))
		a.emit(j(seccomp.Jeq, lo2, 0, failMark))
		mark(2, 5)
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		// hi > vh holds; hi < vh fails; else compare the low words.
		lowOp := uint16(seccomp.Jgt)
		if c.Op == specs.OpGreaterEqual {
			lowOp = seccomp.Jge
		}
		a.emit(ldHi)
		a.emit(j(seccomp.Jgt, hi, 3, 0))
		a.emit(j(seccomp.Jeq, hi, 0, failMark))
		a.emit(ldLo)
		a.emit(j(lowOp, lo, 0, failMark))
		mark(2, 4)
	case specs.OpLessThan, specs.OpLessEqual:
		// The negations of GE and GT.
		lowOp := uint16(seccomp.Jge)
		if c.Op == specs.OpLessEqual {
			lowOp = seccomp.Jgt
		}
		a.emit(ldHi)
		a.emit(j(seccomp.Jgt, hi, failMark, 0))
		a.emit(j(seccomp.Jeq, hi, 0, 2))
		a.emit(ldLo)
		a.emit(j(lowOp, lo, failMark, 0))
		mark(1, 4)
	}
	return fails
}
