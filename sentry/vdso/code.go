package vdso

import "encoding/binary"

// The vDSO's functions, hand-assembled. They are called as ordinary C
// functions (System V ABI: arguments in rdi, rsi, rdx; result in rax; rax,
// rcx, rdx, rsi, rdi, r8-r11 and the flags may be clobbered). None uses the
// stack: a trampoline tail-jumps to the host's function, which returns to
// our caller, and the fallback is `syscall; ret`, whose argument registers
// are the call's (the system call ABI's rdi, rsi, rdx are the C ABI's).
//
// Data page fields are read RIP-relative: the data page is mapped right
// below the image, so the field at data offset off is at image address
// off - DataSize whatever address the block is mapped at.

// Linux system call numbers (x86-64).
const (
	sysGettimeofday = 96
	sysTime         = 201
	sysClockGettime = 228
	sysClockGetres  = 229
)

// hostClocks has bit id set for each clock id the host's vDSO serves and
// the sentry's clocks take from the host unchanged: CLOCK_REALTIME (0),
// CLOCK_MONOTONIC (1), CLOCK_MONOTONIC_RAW (4), CLOCK_REALTIME_COARSE (5),
// CLOCK_MONOTONIC_COARSE (6), CLOCK_BOOTTIME (7), CLOCK_TAI (11). The
// CPU-time clocks (2, 3, and the negative dynamic ids) are the sentry's own
// accounting; the alarm clocks (8, 9) Linux's vDSO does not serve either.
const hostClocks = 1<<0 | 1<<1 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<11

// function is one exported function of the image.
type function struct {
	name string
	// aliases are the weak unprefixed names Linux also exports.
	alias string
	// off and size are the function's place in .text.
	off, size uint64
}

// assembler accumulates machine code with forward rel8 jumps to labels and
// RIP-relative references to data page fields.
type assembler struct {
	code   []byte
	labels map[string]int
	// rel8 are the jumps to patch: the offset of the displacement byte
	// and the label.
	rel8 []fixup
	// data are the RIP-relative displacements to patch: the offset of the
	// disp32, the offset of the end of the instruction, and the field.
	data []dataFixup
}

type fixup struct {
	at    int
	label string
}

type dataFixup struct {
	at, end int
	field   uint64
}

func (a *assembler) emit(b ...byte) { a.code = append(a.code, b...) }

func (a *assembler) emit32(v uint32) { a.code = binary.LittleEndian.AppendUint32(a.code, v) }

// label marks the current offset.
func (a *assembler) label(name string) {
	if a.labels == nil {
		a.labels = make(map[string]int)
	}
	if _, dup := a.labels[name]; dup {
		panic("vdso: duplicate label " + name)
	}
	a.labels[name] = len(a.code)
}

// jcc emits a short conditional (or unconditional, op 0xeb) jump to label.
func (a *assembler) jcc(op byte, label string) {
	a.emit(op, 0)
	a.rel8 = append(a.rel8, fixup{len(a.code) - 1, label})
}

// ripData emits the opcode bytes op, then a disp32 that makes the
// instruction address data field field; the instruction ends right after
// the displacement.
func (a *assembler) ripData(field uint64, op ...byte) {
	a.emit(op...)
	a.data = append(a.data, dataFixup{len(a.code), len(a.code) + 4, field})
	a.emit32(0)
}

// Condition codes for jcc.
const (
	opJA  = 0x77 // unsigned above
	opJAE = 0x73 // carry clear (jnc)
	opJZ  = 0x74
	opJNZ = 0x75
)

// syscallFallback emits `mov eax, nr; syscall; ret` at label.
func (a *assembler) syscallFallback(label string, nr uint32) {
	a.label(label)
	a.emit(0xb8) // mov eax, imm32
	a.emit32(nr)
	a.emit(0x0f, 0x05) // syscall
	a.emit(0xc3)       // ret
}

// forward emits the trampoline tail: load the host function's address
// from field, make the system call if it is 0, else jump to it.
func (a *assembler) forward(field uint64, fallback string) {
	a.ripData(field, 0x48, 0x8b, 0x05) // mov rax, [rip+field]
	a.emit(0x48, 0x85, 0xc0)           // test rax, rax
	a.jcc(opJZ, fallback)              // jz fallback
	a.emit(0xff, 0xe0)                 // jmp rax
}

// align pads with int3 to a multiple of n.
func (a *assembler) align(n int) {
	for len(a.code)%n != 0 {
		a.emit(0xcc)
	}
}

// clockFunction emits clock_gettime or clock_getres (clockid in edi): the
// host's function for the clocks in hostClocks, the system call for the
// others.
func (a *assembler) clockFunction(prefix string, field uint64, nr uint32) {
	fallback := prefix + ".syscall"
	a.emit(0x83, 0xff, 31) // cmp edi, 31 (negative ids are above, unsigned)
	a.jcc(opJA, fallback)  // ja fallback
	a.emit(0xb8)           // mov eax, hostClocks
	a.emit32(hostClocks)
	a.emit(0x0f, 0xa3, 0xf8) // bt eax, edi
	a.jcc(opJAE, fallback)   // jnc fallback: not a host clock
	a.forward(field, fallback)
	a.syscallFallback(fallback, nr)
}

// text assembles the functions and returns the code and the functions'
// places, with the data references resolved for code placed at textAddr
// in the image.
func text(textAddr uint64) ([]byte, []function) {
	var a assembler
	var fns []function
	begin := func() int {
		a.align(16)
		return len(a.code)
	}
	end := func(name, alias string, start int) {
		fns = append(fns, function{name: name, alias: alias, off: uint64(start), size: uint64(len(a.code) - start)})
	}

	// int clock_gettime(clockid_t id, struct timespec *ts)
	s := begin()
	a.clockFunction("clock_gettime", dataClockGettime, sysClockGettime)
	end("__vdso_clock_gettime", "clock_gettime", s)

	// int gettimeofday(struct timeval *tv, struct timezone *tz): the
	// time zone is the sentry's (the system call), not the host's.
	s = begin()
	a.emit(0x48, 0x85, 0xf6) // test rsi, rsi
	a.jcc(opJNZ, "gettimeofday.syscall")
	a.forward(dataGettimeofday, "gettimeofday.syscall")
	a.syscallFallback("gettimeofday.syscall", sysGettimeofday)
	end("__vdso_gettimeofday", "gettimeofday", s)

	// time_t time(time_t *t)
	s = begin()
	a.forward(dataTime, "time.syscall")
	a.syscallFallback("time.syscall", sysTime)
	end("__vdso_time", "time", s)

	// long getcpu(unsigned *cpu, unsigned *node, void *cache): the
	// sentry's answer from the data page; never fails.
	s = begin()
	a.emit(0x48, 0x85, 0xff) // test rdi, rdi
	a.jcc(opJZ, "getcpu.node")
	a.ripData(dataCPU, 0x8b, 0x05) // mov eax, [rip+cpu]
	a.emit(0x89, 0x07)             // mov [rdi], eax
	a.label("getcpu.node")
	a.emit(0x48, 0x85, 0xf6) // test rsi, rsi
	a.jcc(opJZ, "getcpu.done")
	a.ripData(dataNode, 0x8b, 0x05) // mov eax, [rip+node]
	a.emit(0x89, 0x06)              // mov [rsi], eax
	a.label("getcpu.done")
	a.emit(0x31, 0xc0) // xor eax, eax
	a.emit(0xc3)       // ret
	end("__vdso_getcpu", "getcpu", s)

	// int clock_getres(clockid_t id, struct timespec *res)
	s = begin()
	a.clockFunction("clock_getres", dataClockGetres, sysClockGetres)
	end("__vdso_clock_getres", "clock_getres", s)

	for _, f := range a.rel8 {
		to, ok := a.labels[f.label]
		rel := to - (f.at + 1)
		if !ok || rel < -128 || rel > 127 {
			panic("vdso: bad jump to " + f.label)
		}
		a.code[f.at] = byte(int8(rel))
	}
	for _, f := range a.data {
		// The field's address relative to the image is
		// field - DataSize; the displacement counts from the end of
		// the instruction.
		target := int64(f.field) - DataSize
		disp := target - (int64(textAddr) + int64(f.end))
		binary.LittleEndian.PutUint32(a.code[f.at:], uint32(int32(disp)))
	}
	return a.code, fns
}
