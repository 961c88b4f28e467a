package seccomp

import (
	"encoding/binary"
	"math/rand"
)

// refRun is an independent, deliberately naive interpreter of a program
// Compile accepted: it works on the raw instructions with relative jumps
// and loads from the encoded struct seccomp_data. The tests compare Run
// with it.
func refRun(insns []Instruction, d SeccompData) uint32 {
	b := d.Bytes()
	var a, x uint32
	var m [16]uint32
	for pc := 0; pc < len(insns); pc++ {
		in := insns[pc]
		class := in.Code & 0x07
		switch class {
		case Ld, Ldx:
			var v uint32
			switch in.Code & 0xe0 {
			case Abs:
				v = binary.LittleEndian.Uint32(b[in.K:])
			case Len:
				v = uint32(len(b))
			case Imm:
				v = in.K
			case Mem:
				v = m[in.K]
			default:
				panic("bad load")
			}
			if class == Ld {
				a = v
			} else {
				x = v
			}
		case St:
			m[in.K] = a
		case Stx:
			m[in.K] = x
		case Alu:
			src := in.K
			if in.Code&X != 0 {
				src = x
			}
			switch in.Code & 0xf0 {
			case Add:
				a = uint32(uint64(a) + uint64(src))
			case Sub:
				a = uint32(uint64(a) - uint64(src))
			case Mul:
				a = uint32(uint64(a) * uint64(src))
			case Div:
				if src == 0 {
					return 0
				}
				a = a / src
			case Or:
				a |= src
			case And:
				a &= src
			case Xor:
				a ^= src
			case Lsh:
				a = uint32(uint64(a) << (src % 32))
			case Rsh:
				a = uint32(uint64(a) >> (src % 32))
			case Neg:
				a = uint32(0) - a
			default:
				panic("bad alu")
			}
		case Jmp:
			if in.Code == Jmp|Ja {
				pc += int(in.K)
				continue
			}
			src := in.K
			if in.Code&X != 0 {
				src = x
			}
			var cond bool
			switch in.Code & 0xf0 {
			case Jeq:
				cond = a == src
			case Jgt:
				cond = a > src
			case Jge:
				cond = a >= src
			case Jset:
				cond = a&src != 0
			}
			if cond {
				pc += int(in.JT)
			} else {
				pc += int(in.JF)
			}
		case Ret:
			if in.Code&A != 0 {
				return a
			}
			return in.K
		case Misc:
			if in.Code == Misc|Tax {
				x = a
			} else {
				a = x
			}
		}
	}
	panic("ran off the end")
}

var interestingRets = []uint32{
	RetKillProcess, RetKillThread, RetTrap | 7, RetErrno | 1, RetErrno | 0xffff,
	RetUserNotif, RetTrace | 3, RetLog, RetAllow, RetAllow | 5, 0x00010000, 0x7ffe0000, 0x80010000, 0xffff0000,
}

var interestingK = []uint32{0, 1, 2, 3, 31, 32, 33, 0x7fffffff, 0x80000000, 0xffffffff, 0xc000003e, 39, 60, 231, 0x40000000}

// randomProgram returns a random program of n instructions. With valid,
// it only produces programs that pass the structural checks except the
// scratch memory one (so a good share compiles); otherwise it also mixes
// in every kind of invalid instruction. noDivX leaves out DIV X (a
// division by zero kills the thread, which the native test avoids).
func randomProgram(r *rand.Rand, n int, valid, noDivX bool) []Instruction {
	k := func() uint32 {
		if r.Intn(2) == 0 {
			return interestingK[r.Intn(len(interestingK))]
		}
		return r.Uint32()
	}
	insns := make([]Instruction, n)
	for pc := range insns {
		left := n - pc - 1
		var in Instruction
		switch c := r.Intn(20); {
		case c < 4:
			off := uint32(r.Intn(16) * 4)
			if !valid && r.Intn(8) == 0 {
				off = uint32(r.Intn(80))
			}
			in = Stmt(Ld|W|Abs, off)
		case c < 5:
			in = Stmt([]uint16{Ld | Imm, Ldx | Imm, Ld | W | Len, Ldx | W | Len}[r.Intn(4)], k())
		case c < 7:
			w := uint32(r.Intn(4))
			if !valid && r.Intn(8) == 0 {
				w = uint32(r.Intn(20))
			}
			in = Stmt([]uint16{Ld | Mem, Ldx | Mem, St, Stx}[r.Intn(4)], w)
		case c < 11:
			ops := []uint16{Add, Sub, Mul, Div, Or, And, Xor, Lsh, Rsh}
			o := ops[r.Intn(len(ops))]
			src := uint16(K)
			if r.Intn(2) == 0 && !(noDivX && o == Div) {
				src = X
			}
			v := k()
			if src == K {
				switch {
				case o == Div && (valid || r.Intn(4) != 0) && v == 0:
					v = 3
				case (o == Lsh || o == Rsh) && (valid || r.Intn(4) != 0):
					v %= 32
				}
			}
			in = Stmt(Alu|o|src, v)
		case c < 12:
			in = Stmt([]uint16{Alu | Neg, Misc | Tax, Misc | Txa}[r.Intn(3)], 0)
		case c < 17:
			if left == 0 {
				in = Stmt(Ret|K, RetAllow)
				break
			}
			if r.Intn(6) == 0 {
				in = Stmt(Jmp|Ja, uint32(r.Intn(left)))
				if !valid && r.Intn(4) == 0 {
					in.K = uint32(left + r.Intn(3))
				}
				break
			}
			ops := []uint16{Jeq, Jgt, Jge, Jset}
			src := uint16(K)
			if r.Intn(3) == 0 {
				src = X
			}
			lim := left
			if lim > 256 {
				lim = 256
			}
			in = Jump(Jmp|ops[r.Intn(4)]|src, k(), uint8(r.Intn(lim)), uint8(r.Intn(lim)))
			if !valid && r.Intn(6) == 0 {
				in.JT = uint8(r.Intn(256))
			}
		default:
			if r.Intn(3) == 0 {
				in = Stmt(Ret|A, 0)
			} else {
				in = Stmt(Ret|K, interestingRets[r.Intn(len(interestingRets))])
			}
		}
		if !valid && r.Intn(25) == 0 {
			bad := []uint16{Alu | Mod | K, Alu | Mod | X, Ld | H | Abs, Ld | B | Abs, Ld | W | Ind, Ldx | B | Msh, Ret | X, Alu | Neg | X, 0xffff}
			in.Code = bad[r.Intn(len(bad))]
			in.K = 1
		}
		insns[pc] = in
	}
	if valid || r.Intn(6) != 0 {
		insns[n-1] = Stmt(Ret|A, 0)
		if r.Intn(2) == 0 {
			insns[n-1] = Stmt(Ret|K, interestingRets[r.Intn(len(interestingRets))])
		}
	}
	return insns
}

func randomData(r *rand.Rand) SeccompData {
	d := SeccompData{Nr: int32(r.Intn(600)), Arch: AuditArchX86_64, InstructionPointer: r.Uint64()}
	if r.Intn(4) == 0 {
		d.Nr = int32(r.Uint32())
	}
	if r.Intn(8) == 0 {
		d.Arch = r.Uint32()
	}
	for i := range d.Args {
		switch r.Intn(3) {
		case 0:
			d.Args[i] = uint64(interestingK[r.Intn(len(interestingK))])
		default:
			d.Args[i] = r.Uint64()
		}
	}
	return d
}
