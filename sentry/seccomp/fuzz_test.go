package seccomp

import (
	"encoding/binary"
	"math/rand"
	"testing"
)

// FuzzCompileRun feeds arbitrary bytes as a seccomp_data (the first 64
// bytes) followed by a sock_filter array to Compile, and checks that
// nothing panics, that an accepted program agrees with the reference
// interpreter, and that the constant-action cache never contradicts Run.
// Without -fuzz it only runs the seed corpus.
func FuzzCompileRun(f *testing.F) {
	seed := func(d SeccompData, insns []Instruction) {
		b := d.Bytes()
		f.Add(append(b[:], EncodeInstructions(insns)...))
	}
	seed(testData, allowList(eperm, 0, 1, 2))
	seed(call(56, 0x7e020000), []Instruction{
		Stmt(Ld|W|Abs, OffsetArgLow(0)), Stmt(Alu|And|K, 0x7e020000), Jump(Jmp|Jeq|K, 0, 0, 1),
		Stmt(Ret|K, RetAllow), Stmt(Ret|K, eperm)})
	seed(testData, []Instruction{Stmt(Ldx|Imm, 0), Stmt(Alu|Div|X, 0), Stmt(Ret|A, 0)})
	seed(testData, []Instruction{Stmt(Ld|Mem, 0), Stmt(Ret|A, 0)})
	seed(testData, []Instruction{Stmt(Jmp|Ja, 0xffffffff), Stmt(Ret|A, 0)})
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 40; i++ {
		seed(randomData(r), randomProgram(r, 1+r.Intn(30), i%2 == 0, false))
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < SizeofSeccompData {
			return
		}
		le := binary.LittleEndian
		d := SeccompData{
			Nr:                 int32(le.Uint32(b[0:])),
			Arch:               le.Uint32(b[4:]),
			InstructionPointer: le.Uint64(b[8:]),
		}
		for i := range d.Args {
			d.Args[i] = le.Uint64(b[16+8*i:])
		}
		code := b[SizeofSeccompData:]
		insns := make([]Instruction, len(code)/SizeofSockFilter)
		for i := range insns {
			e := code[i*SizeofSockFilter:]
			insns[i] = Instruction{Code: le.Uint16(e), JT: e[2], JF: e[3], K: le.Uint32(e[4:])}
		}
		for _, in := range insns {
			_ = in.String()
		}
		p, err := Compile(insns)
		if err != nil {
			return
		}
		if got, want := p.Run(d), refRun(insns, d); got != want {
			t.Fatalf("Run = %#x, reference %#x", got, want)
		}
		fs, err := (Filters{}).Install(p, false)
		if err != nil {
			t.Fatal(err)
		}
		_ = VerdictOf(fs.Run(d))
		nr := uint32(d.Nr) % CacheSyscalls
		if fs.head.allow[nr/64]&(1<<(nr%64)) != 0 {
			d.Nr, d.Arch = int32(nr), AuditArchX86_64
			if got := p.Run(d); got != RetAllow {
				t.Fatalf("cached allow for %d, Run = %#x", nr, got)
			}
		}
	})
}
