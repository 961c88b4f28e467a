package seccomp

import "golang.org/x/sys/unix"

// MaxPathInstructions is MAX_INSNS_PER_PATH: a task's filters may hold at
// most this many instructions, counting 4 extra per filter already
// installed; installing past it fails with ENOMEM.
const MaxPathInstructions = (1 << 18) / 8

// CacheSyscalls is the number of system call numbers (0 to
// CacheSyscalls-1, arch AUDIT_ARCH_X86_64) that Evaluate can answer from
// a per-filter bitmap, like Linux's SECCOMP_ARCH_NATIVE action cache.
const CacheSyscalls = 512

const cacheWords = CacheSyscalls / 64

// Filters is a task's stack of seccomp filters, newest first. It is
// immutable: Install returns a new stack that shares the old one, so
// threads and children share stacks by copying the value. The zero value
// is the empty stack. Filters values are comparable: two are equal when
// they are the same stack.
type Filters struct {
	head *filter
}

type filter struct {
	prog Program
	// log is SECCOMP_FILTER_FLAG_LOG.
	log  bool
	prev *filter
	// count is the number of filters down to the oldest.
	count int
	// pathCost is the sum over this filter and its ancestors of their
	// lengths plus 4, the measure MaxPathInstructions bounds.
	pathCost int
	// allow has bit nr set when every filter down to the oldest returns
	// exactly SECCOMP_RET_ALLOW for system call nr with arch
	// AUDIT_ARCH_X86_64, whatever the other fields.
	allow [cacheWords]uint64
}

// Install returns the stack with p pushed on top, as
// seccomp_attach_filter does. log is SECCOMP_FILTER_FLAG_LOG. It fails
// with ENOMEM when the stack would exceed MaxPathInstructions, and with
// EINVAL for the zero Program.
func (f Filters) Install(p Program, log bool) (Filters, error) {
	if p.Len() == 0 {
		return f, unix.EINVAL
	}
	return f.attach(prepare(p, log))
}

// prepare builds the node of a new filter, with the constant-action
// bitmap of its program alone (the expensive part, done before taking
// locks).
func prepare(p Program, log bool) *filter {
	return &filter{prog: p, log: log, allow: constAllowBitmap(p.orig, &allowAll)}
}

// attach pushes the prepared node n, which must be new, on top of f.
func (f Filters) attach(n *filter) (Filters, error) {
	cost := n.prog.Len()
	if f.head != nil {
		cost += f.head.pathCost
	}
	if cost > MaxPathInstructions {
		return f, unix.ENOMEM
	}
	n.prev, n.count, n.pathCost = f.head, 1, cost+4
	if f.head != nil {
		n.count += f.head.count
		for i := range n.allow {
			n.allow[i] &= f.head.allow[i]
		}
	}
	return Filters{head: n}, nil
}

var allowAll = func() (b [cacheWords]uint64) {
	for i := range b {
		b[i] = ^uint64(0)
	}
	return b
}()

// Len returns the number of filters.
func (f Filters) Len() int {
	if f.head == nil {
		return 0
	}
	return f.head.count
}

// Empty reports whether there are no filters.
func (f Filters) Empty() bool { return f.head == nil }

// Programs returns the programs, newest first.
func (f Filters) Programs() []Program {
	var ps []Program
	for n := f.head; n != nil; n = n.prev {
		ps = append(ps, n.prog)
	}
	return ps
}

// Extends reports whether f is old or old with more filters installed on
// top: Linux's is_ancestor(old, f), the condition for SECCOMP_FILTER_FLAG_TSYNC
// to replace a thread's stack old by the caller's. Every stack extends
// the empty one.
func (f Filters) Extends(old Filters) bool {
	if old.head == nil {
		return true
	}
	for n := f.head; n != nil; n = n.prev {
		if n == old.head {
			return true
		}
	}
	return false
}

// Result is the outcome of running a stack of filters.
type Result struct {
	// Ret is the full result of the filter that won.
	Ret uint32
	// Log is whether that filter was installed with
	// SECCOMP_FILTER_FLAG_LOG.
	Log bool
}

// Action returns the action part of the result.
func (r Result) Action() Action { return Action(r.Ret & RetActionFull) }

// Data returns the data part of the result.
func (r Result) Data() uint16 { return uint16(r.Ret & RetData) }

// Evaluate runs every filter on data and returns the action and the data
// of the most restrictive result (see Run). With no filters it returns
// ActionAllow.
func (f Filters) Evaluate(data SeccompData) (action Action, retData uint16) {
	r := f.run(&data)
	return r.Action(), r.Data()
}

// Run runs every filter on data and returns the result that takes
// precedence, as seccomp_run_filters does: the one whose action is the
// most restrictive (KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF
// > TRACE > LOG > ALLOW, comparing actions as signed integers, so unknown
// actions fall in between by value); among equal actions, the newest
// filter's result, with its data. With no filters it returns
// SECCOMP_RET_ALLOW.
func (f Filters) Run(data SeccompData) Result { return f.run(&data) }

func (f Filters) run(d *SeccompData) Result {
	if f.head == nil {
		return Result{Ret: RetAllow}
	}
	if d.Arch == AuditArchX86_64 && uint32(d.Nr) < CacheSyscalls &&
		f.head.allow[uint32(d.Nr)/64]&(1<<(uint32(d.Nr)%64)) != 0 {
		return Result{Ret: RetAllow}
	}
	res := Result{Ret: RetAllow}
	for n := f.head; n != nil; n = n.prev {
		ret := n.prog.run(d)
		if int32(ret&RetActionFull) < int32(res.Ret&RetActionFull) {
			res = Result{Ret: ret, Log: n.log}
		}
	}
	return res
}

// constAllowBitmap returns prev with the bits cleared for the system calls
// for which the program does not always return exactly SECCOMP_RET_ALLOW.
func constAllowBitmap(insns []Instruction, prev *[cacheWords]uint64) [cacheWords]uint64 {
	var b [cacheWords]uint64
	for nr := uint32(0); nr < CacheSyscalls; nr++ {
		if prev[nr/64]&(1<<(nr%64)) != 0 && constAllow(insns, nr, AuditArchX86_64) {
			b[nr/64] |= 1 << (nr % 64)
		}
	}
	return b
}

// constAllow is Linux's seccomp_is_const_allow: it emulates the program
// knowing only nr and arch and reports whether it certainly returns
// SECCOMP_RET_ALLOW. It gives up (false) on any instruction whose outcome
// could depend on anything else.
func constAllow(insns []Instruction, nr, arch uint32) bool {
	var a uint32
	for pc := 0; pc < len(insns); pc++ {
		in := insns[pc]
		switch in.Code {
		case Ld | W | Abs:
			switch in.K {
			case OffsetNr:
				a = nr
			case OffsetArch:
				a = arch
			default:
				return false
			}
		case Ret | K:
			return in.K == RetAllow
		case Jmp | Ja:
			pc += int(in.K)
		case Jmp | Jeq | K, Jmp | Jge | K, Jmp | Jgt | K, Jmp | Jset | K:
			var cond bool
			switch in.Code & 0xf0 {
			case Jeq:
				cond = a == in.K
			case Jge:
				cond = a >= in.K
			case Jgt:
				cond = a > in.K
			case Jset:
				cond = a&in.K != 0
			}
			if cond {
				pc += int(in.JT)
			} else {
				pc += int(in.JF)
			}
		case Alu | And | K:
			a &= in.K
		default:
			return false
		}
	}
	return false
}
