package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Instruction is one classic BPF instruction, Linux's struct sock_filter.
type Instruction struct {
	Code uint16
	JT   uint8
	JF   uint8
	K    uint32
}

// Classic BPF opcode fields (linux/bpf_common.h, linux/filter.h). An
// opcode is class | size | mode for loads and stores, class | op | source
// for ALU and jumps, class | source for RET and class | op for MISC.
const (
	// Classes.
	Ld   = 0x00
	Ldx  = 0x01
	St   = 0x02
	Stx  = 0x03
	Alu  = 0x04
	Jmp  = 0x05
	Ret  = 0x06
	Misc = 0x07

	// Load sizes.
	W = 0x00
	H = 0x08
	B = 0x10

	// Load modes.
	Imm = 0x00
	Abs = 0x20
	Ind = 0x40
	Mem = 0x60
	Len = 0x80
	Msh = 0xa0

	// ALU operations.
	Add = 0x00
	Sub = 0x10
	Mul = 0x20
	Div = 0x30
	Or  = 0x40
	And = 0x50
	Lsh = 0x60
	Rsh = 0x70
	Neg = 0x80
	Mod = 0x90
	Xor = 0xa0

	// Jump operations.
	Ja   = 0x00
	Jeq  = 0x10
	Jgt  = 0x20
	Jge  = 0x30
	Jset = 0x40

	// Operand sources: K (the immediate), X (the index register), and for
	// RET also A (the accumulator).
	K = 0x00
	X = 0x08
	A = 0x10

	// MISC operations.
	Tax = 0x00
	Txa = 0x80
)

const (
	// MaxInstructions is BPF_MAXINSNS, the longest program Linux loads.
	MaxInstructions = 4096
	// MemWords is BPF_MEMWORDS, the number of scratch memory words.
	MemWords = 16
)

// Stmt returns a non-jump instruction (BPF_STMT).
func Stmt(code uint16, k uint32) Instruction { return Instruction{Code: code, K: k} }

// Jump returns a jump instruction (BPF_JUMP): jt and jf are the numbers of
// instructions skipped when the condition holds or not.
func Jump(code uint16, k uint32, jt, jf uint8) Instruction {
	return Instruction{Code: code, JT: jt, JF: jf, K: k}
}

// String disassembles the instruction, as bpf_dbg/tcpdump -d would.
func (in Instruction) String() string {
	switch in.Code {
	case Ld | W | Abs:
		return fmt.Sprintf("ld [%d]", in.K)
	case Ld | W | Len:
		return "ld #len"
	case Ldx | W | Len:
		return "ldx #len"
	case Ld | Imm:
		return fmt.Sprintf("ld #%#x", in.K)
	case Ldx | Imm:
		return fmt.Sprintf("ldx #%#x", in.K)
	case Ld | Mem:
		return fmt.Sprintf("ld M[%d]", in.K)
	case Ldx | Mem:
		return fmt.Sprintf("ldx M[%d]", in.K)
	case St:
		return fmt.Sprintf("st M[%d]", in.K)
	case Stx:
		return fmt.Sprintf("stx M[%d]", in.K)
	case Alu | Neg:
		return "neg"
	case Misc | Tax:
		return "tax"
	case Misc | Txa:
		return "txa"
	case Ret | K:
		return fmt.Sprintf("ret #%#x", in.K)
	case Ret | A:
		return "ret a"
	case Jmp | Ja:
		return fmt.Sprintf("ja +%d", in.K)
	}
	var names map[uint16]string
	switch in.Code & 0x07 {
	case Alu:
		names = aluNames
	case Jmp:
		names = jumpNames
	}
	if name, ok := names[in.Code&0xf0]; ok && in.Code <= 0xff {
		src := fmt.Sprintf("#%#x", in.K)
		if in.Code&X != 0 {
			src = "x"
		}
		if in.Code&0x07 == Jmp {
			return fmt.Sprintf("%s %s, +%d, +%d", name, src, in.JT, in.JF)
		}
		return fmt.Sprintf("%s %s", name, src)
	}
	return fmt.Sprintf("unknown code=%#x jt=%d jf=%d k=%#x", in.Code, in.JT, in.JF, in.K)
}

var (
	aluNames  = map[uint16]string{Add: "add", Sub: "sub", Mul: "mul", Div: "div", Or: "or", And: "and", Lsh: "lsh", Rsh: "rsh", Mod: "mod", Xor: "xor"}
	jumpNames = map[uint16]string{Jeq: "jeq", Jgt: "jgt", Jge: "jge", Jset: "jset"}
	condJumps = map[uint16]op{
		Jmp | Jeq | K: opJeqK, Jmp | Jeq | X: opJeqX,
		Jmp | Jgt | K: opJgtK, Jmp | Jgt | X: opJgtX,
		Jmp | Jge | K: opJgeK, Jmp | Jge | X: opJgeX,
		Jmp | Jset | K: opJsetK, Jmp | Jset | X: opJsetX,
	}
)

// CompileError says why Compile rejected a program. It unwraps to
// unix.EINVAL, the error seccomp(2) returns for every invalid program.
type CompileError struct {
	// PC is the offending instruction, or -1 for the whole program.
	PC     int
	Reason string
}

func (e *CompileError) Error() string {
	if e.PC < 0 {
		return "invalid seccomp filter: " + e.Reason
	}
	return fmt.Sprintf("invalid seccomp filter: instruction %d: %s", e.PC, e.Reason)
}

// Unwrap returns unix.EINVAL.
func (e *CompileError) Unwrap() error { return unix.EINVAL }

func compileErr(pc int, format string, args ...any) error {
	return &CompileError{PC: pc, Reason: fmt.Sprintf(format, args...)}
}

// op is an instruction of the compiled form that Run interprets.
type op uint8

const (
	opLdAbs  op = iota // A = word k of seccomp_data (k is a word index)
	opLdImm            // A = k (LD IMM, and LD LEN rewritten)
	opLdxImm           // X = k (LDX IMM, and LDX LEN rewritten)
	opLdMem
	opLdxMem
	opSt
	opStx
	opAddK
	opAddX
	opSubK
	opSubX
	opMulK
	opMulX
	opDivK
	opDivX
	opOrK
	opOrX
	opAndK
	opAndX
	opXorK
	opXorX
	opLshK
	opLshX
	opRshK
	opRshX
	opNeg
	opTax
	opTxa
	opJa // pc = jt
	opJeqK
	opJeqX
	opJgtK
	opJgtX
	opJgeK
	opJgeX
	opJsetK
	opJsetX
	opRetK
	opRetA
)

// insn is a compiled instruction; jump targets are absolute.
type insn struct {
	op     op
	jt, jf uint16
	k      uint32
}

// Program is a validated seccomp filter. It is immutable and safe for
// concurrent use. The zero Program is not a valid filter: it returns
// SECCOMP_RET_KILL_PROCESS.
type Program struct {
	insns []insn
	// orig is the program as loaded, for Instructions and the constant
	// action cache (Linux also emulates the original program).
	orig []Instruction
}

// Len returns the number of instructions.
func (p Program) Len() int { return len(p.orig) }

// Instructions returns a copy of the program as it was loaded (what
// PTRACE_SECCOMP_GET_FILTER returns).
func (p Program) Instructions() []Instruction { return append([]Instruction(nil), p.orig...) }

// Compile validates a seccomp filter the way Linux's bpf_check_classic,
// check_load_and_stores and seccomp_check_filter do, and translates it
// for Run. Every rejection is a *CompileError (errors.Is unix.EINVAL).
//
// Accepted: LD W ABS (4-byte aligned offsets inside struct seccomp_data),
// LD/LDX W LEN (the constant 64), LD/LDX IMM, LD/LDX MEM, ST, STX, ALU
// ADD/SUB/MUL/DIV/AND/OR/XOR/LSH/RSH with K or X and NEG, JMP JA and
// JEQ/JGT/JGE/JSET with K or X, RET K/A, MISC TAX/TXA. Like Linux, MOD and
// the packet loads (H/B sizes, IND, MSH, ancillary data) are rejected in
// seccomp filters; division by a constant 0 and shifts by a constant of
// 32 or more are rejected; jumps must land inside the program (they only
// go forward); the last instruction must be a RET; and no path may read a
// scratch memory word before storing it.
func Compile(insns []Instruction) (Program, error) {
	n := len(insns)
	if n == 0 || n > MaxInstructions {
		return Program{}, compileErr(-1, "length %d is not in [1, %d]", n, MaxInstructions)
	}
	for pc, in := range insns {
		switch in.Code {
		case Ld | W | Abs:
			if in.K >= SizeofSeccompData || in.K&3 != 0 {
				return Program{}, compileErr(pc, "load offset %d is outside struct seccomp_data or not 4-byte aligned", in.K)
			}
		case Alu | Div | K:
			if in.K == 0 {
				return Program{}, compileErr(pc, "division by constant 0")
			}
		case Alu | Lsh | K, Alu | Rsh | K:
			if in.K >= 32 {
				return Program{}, compileErr(pc, "shift by %d", in.K)
			}
		case Ld | Mem, Ldx | Mem, St, Stx:
			if in.K >= MemWords {
				return Program{}, compileErr(pc, "scratch memory word %d out of range", in.K)
			}
		case Jmp | Ja:
			if in.K >= uint32(n-pc-1) {
				return Program{}, compileErr(pc, "jump +%d out of range", in.K)
			}
		case Jmp | Jeq | K, Jmp | Jeq | X, Jmp | Jgt | K, Jmp | Jgt | X,
			Jmp | Jge | K, Jmp | Jge | X, Jmp | Jset | K, Jmp | Jset | X:
			if pc+int(in.JT)+1 >= n || pc+int(in.JF)+1 >= n {
				return Program{}, compileErr(pc, "conditional jump +%d/+%d out of range", in.JT, in.JF)
			}
		case Ld | W | Len, Ldx | W | Len, Ld | Imm, Ldx | Imm,
			Alu | Add | K, Alu | Add | X, Alu | Sub | K, Alu | Sub | X,
			Alu | Mul | K, Alu | Mul | X, Alu | Div | X,
			Alu | And | K, Alu | And | X, Alu | Or | K, Alu | Or | X,
			Alu | Xor | K, Alu | Xor | X, Alu | Lsh | X, Alu | Rsh | X,
			Alu | Neg, Misc | Tax, Misc | Txa, Ret | K, Ret | A:
		default:
			return Program{}, compileErr(pc, "opcode %#x is not allowed in seccomp filters", in.Code)
		}
	}
	if c := insns[n-1].Code; c != Ret|K && c != Ret|A {
		return Program{}, compileErr(n-1, "the last instruction is not a RET")
	}
	if err := checkLoadsAndStores(insns); err != nil {
		return Program{}, err
	}

	p := Program{
		insns: make([]insn, n),
		orig:  append([]Instruction(nil), insns...),
	}
	for pc, in := range insns {
		c := insn{k: in.K}
		switch in.Code {
		case Ld | W | Abs:
			c.op, c.k = opLdAbs, in.K/4
		case Ld | W | Len:
			c.op, c.k = opLdImm, SizeofSeccompData
		case Ldx | W | Len:
			c.op, c.k = opLdxImm, SizeofSeccompData
		case Ld | Imm:
			c.op = opLdImm
		case Ldx | Imm:
			c.op = opLdxImm
		case Ld | Mem:
			c.op = opLdMem
		case Ldx | Mem:
			c.op = opLdxMem
		case St:
			c.op = opSt
		case Stx:
			c.op = opStx
		case Alu | Add | K:
			c.op = opAddK
		case Alu | Add | X:
			c.op = opAddX
		case Alu | Sub | K:
			c.op = opSubK
		case Alu | Sub | X:
			c.op = opSubX
		case Alu | Mul | K:
			c.op = opMulK
		case Alu | Mul | X:
			c.op = opMulX
		case Alu | Div | K:
			c.op = opDivK
		case Alu | Div | X:
			c.op = opDivX
		case Alu | Or | K:
			c.op = opOrK
		case Alu | Or | X:
			c.op = opOrX
		case Alu | And | K:
			c.op = opAndK
		case Alu | And | X:
			c.op = opAndX
		case Alu | Xor | K:
			c.op = opXorK
		case Alu | Xor | X:
			c.op = opXorX
		case Alu | Lsh | K:
			c.op = opLshK
		case Alu | Lsh | X:
			c.op = opLshX
		case Alu | Rsh | K:
			c.op = opRshK
		case Alu | Rsh | X:
			c.op = opRshX
		case Alu | Neg:
			c.op = opNeg
		case Misc | Tax:
			c.op = opTax
		case Misc | Txa:
			c.op = opTxa
		case Jmp | Ja:
			c.op, c.jt = opJa, uint16(pc+1+int(in.K))
		case Ret | K:
			c.op = opRetK
		case Ret | A:
			c.op = opRetA
		default: // conditional jumps
			c.op = condJumps[in.Code]
			c.jt = uint16(pc + 1 + int(in.JT))
			c.jf = uint16(pc + 1 + int(in.JF))
		}
		p.insns[pc] = c
	}
	return p, nil
}

// checkLoadsAndStores is Linux's check_load_and_stores: a forward data
// flow pass that rejects a load of a scratch word some path reaches
// without storing it. It reproduces Linux exactly, including that the
// state after a RET flows into the next instruction.
func checkLoadsAndStores(insns []Instruction) error {
	masks := make([]uint16, len(insns))
	for i := range masks {
		masks[i] = 0xffff
	}
	var valid uint16
	for pc, in := range insns {
		valid &= masks[pc]
		switch in.Code {
		case St, Stx:
			valid |= 1 << in.K
		case Ld | Mem, Ldx | Mem:
			if valid&(1<<in.K) == 0 {
				return compileErr(pc, "scratch memory word %d may be read before it is written", in.K)
			}
		case Jmp | Ja:
			masks[pc+1+int(in.K)] &= valid
			valid = 0xffff
		case Jmp | Jeq | K, Jmp | Jeq | X, Jmp | Jgt | K, Jmp | Jgt | X,
			Jmp | Jge | K, Jmp | Jge | X, Jmp | Jset | K, Jmp | Jset | X:
			masks[pc+1+int(in.JT)] &= valid
			masks[pc+1+int(in.JF)] &= valid
			valid = 0xffff
		}
	}
	return nil
}

// Run runs the program on data and returns its 32-bit result.
//
// Runtime semantics are Linux's (classic BPF as converted to eBPF and
// run by the interpreter or the x86-64 JIT): A and X start at 0, arithmetic
// is on uint32 and wraps, a division by X = 0 ends the program with
// result 0 (SECCOMP_RET_KILL_THREAD), and a shift by X uses X mod 32.
func (p Program) Run(data SeccompData) uint32 { return p.run(&data) }

func (p Program) run(d *SeccompData) uint32 {
	insns := p.insns
	if len(insns) == 0 {
		return uint32(ActionKillProcess)
	}
	var a, x uint32
	var m [MemWords]uint32
	pc := 0
	for {
		in := &insns[pc]
		pc++
		switch in.op {
		case opLdAbs:
			a = d.word(in.k)
		case opLdImm:
			a = in.k
		case opLdxImm:
			x = in.k
		case opLdMem:
			a = m[in.k%MemWords]
		case opLdxMem:
			x = m[in.k%MemWords]
		case opSt:
			m[in.k%MemWords] = a
		case opStx:
			m[in.k%MemWords] = x
		case opAddK:
			a += in.k
		case opAddX:
			a += x
		case opSubK:
			a -= in.k
		case opSubX:
			a -= x
		case opMulK:
			a *= in.k
		case opMulX:
			a *= x
		case opDivK:
			a /= in.k // never 0: Compile rejects it
		case opDivX:
			if x == 0 {
				return 0
			}
			a /= x
		case opOrK:
			a |= in.k
		case opOrX:
			a |= x
		case opAndK:
			a &= in.k
		case opAndX:
			a &= x
		case opXorK:
			a ^= in.k
		case opXorX:
			a ^= x
		case opLshK:
			a <<= in.k
		case opLshX:
			a <<= x & 31
		case opRshK:
			a >>= in.k
		case opRshX:
			a >>= x & 31
		case opNeg:
			a = -a
		case opTax:
			x = a
		case opTxa:
			a = x
		case opJa:
			pc = int(in.jt)
		case opJeqK:
			pc = branch(a == in.k, in)
		case opJeqX:
			pc = branch(a == x, in)
		case opJgtK:
			pc = branch(a > in.k, in)
		case opJgtX:
			pc = branch(a > x, in)
		case opJgeK:
			pc = branch(a >= in.k, in)
		case opJgeX:
			pc = branch(a >= x, in)
		case opJsetK:
			pc = branch(a&in.k != 0, in)
		case opJsetX:
			pc = branch(a&x != 0, in)
		case opRetK:
			return in.k
		case opRetA:
			return a
		}
	}
}

func branch(cond bool, in *insn) int {
	if cond {
		return int(in.jt)
	}
	return int(in.jf)
}
