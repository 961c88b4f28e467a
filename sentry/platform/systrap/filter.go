package systrap

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// The two seccomp filters of a stub.
//
// masterFilter is installed once in the master and inherited by every stub
// process and thread: a system call whose instruction pointer is outside the
// stub's code page is turned into SIGSYS (SECCOMP_RET_TRAP) and never reaches
// the host; one from the code page of the native ABI is allowed, so the
// factory can still inject fork, clone and mmap through ptrace into threads
// that never run application code, and each process's syscall thread, which
// never does either, can make the address-space edits and report them with
// pwrite (syscall_thread.go).
//
// threadFilter is stacked on top of it in every thread that runs application
// code. The application can jump to the stub's own `syscall` instructions
// with registers of its choosing, so from there only the hand-off path is
// allowed, argument-checked: futex wait/wake, rt_sigreturn, exit, and
// arch_prctl(ARCH_SET_FS or ARCH_SET_GS). Anything else kills the stub process. Seccomp
// takes the strictest verdict of all stacked filters, so calls from outside
// the code page stay SIGSYS.

// bpf is one classic BPF instruction (struct sock_filter).
type bpf struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

// Classic BPF opcodes and seccomp constants.
const (
	bpfLdAbsW = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgeK   = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfJgtK   = 0x25 // BPF_JMP | BPF_JGT | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K

	seccompRetKillProcess = 0x80000000
	seccompRetTrap        = 0x00030000
	seccompRetAllow       = 0x7fff0000

	auditArchX8664 = 0xc000003e

	// Offsets in struct seccomp_data.
	sdNr     = 0
	sdArch   = 4
	sdIPLo   = 8
	sdIPHi   = 12
	sdArg0Lo = 16
	sdArg1Lo = 24

	archSetFS = 0x1002
	archSetGS = 0x1001

	futexWait_ = 0
	futexWake_ = 1
)

// prog assembles instructions whose jumps name labels; a label is an
// instruction index given by mark.
type prog struct {
	ins    []bpf
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at     int
	jt, jf string
}

func (p *prog) mark(label string) {
	if p.labels == nil {
		p.labels = make(map[string]int)
	}
	p.labels[label] = len(p.ins)
}

func (p *prog) ld(off uint32) { p.ins = append(p.ins, bpf{code: bpfLdAbsW, k: off}) }
func (p *prog) ret(v uint32)  { p.ins = append(p.ins, bpf{code: bpfRetK, k: v}) }

// jmp adds a conditional jump; "" means the next instruction.
func (p *prog) jmp(op uint16, k uint32, jt, jf string) {
	p.fixups = append(p.fixups, fixup{len(p.ins), jt, jf})
	p.ins = append(p.ins, bpf{code: op, k: k})
}

func (p *prog) assemble() []byte {
	for _, f := range p.fixups {
		rel := func(l string) uint8 {
			if l == "" {
				return 0
			}
			to, ok := p.labels[l]
			if !ok || to <= f.at || to-f.at-1 > 255 {
				panic("systrap: bad BPF label " + l)
			}
			return uint8(to - f.at - 1)
		}
		p.ins[f.at].jt, p.ins[f.at].jf = rel(f.jt), rel(f.jf)
	}
	out := make([]byte, 8*len(p.ins))
	for i, in := range p.ins {
		b := out[8*i:]
		binary.LittleEndian.PutUint16(b[0:], in.code)
		b[2], b[3] = in.jt, in.jf
		binary.LittleEndian.PutUint32(b[4:], in.k)
	}
	return out
}

// stubStart is 4 GiB aligned, so the code page is [0, 0x1000) in the low
// half of the instruction pointer.
var _ [0 - stubStart%(1<<32)]struct{}

// stubIPCheck jumps to out unless the instruction pointer is in the stub's
// code page.
func (p *prog) stubIPCheck(out string) {
	p.ld(sdIPHi)
	p.jmp(bpfJeqK, uint32(stubStart>>32), "", out)
	p.ld(sdIPLo)
	p.jmp(bpfJgeK, uint32(stubCodeEnd-stubStart), out, "")
}

func masterFilter() []byte {
	var p prog
	p.stubIPCheck("trap")
	p.ld(sdArch)
	p.jmp(bpfJeqK, auditArchX8664, "allow", "kill")
	p.mark("allow")
	p.ret(seccompRetAllow)
	p.mark("trap")
	p.ret(seccompRetTrap)
	p.mark("kill")
	p.ret(seccompRetKillProcess)
	return p.assemble()
}

func threadFilter() []byte {
	var p prog
	// Outside the code page: masterFilter traps it.
	p.stubIPCheck("allow")
	p.ld(sdNr)
	p.jmp(bpfJeqK, unix.SYS_FUTEX, "futex", "")
	p.jmp(bpfJeqK, unix.SYS_RT_SIGRETURN, "allow", "")
	p.jmp(bpfJeqK, unix.SYS_EXIT, "allow", "")
	// The hand-off yields after waking a sleeping sentry thread.
	p.jmp(bpfJeqK, unix.SYS_SCHED_YIELD, "allow", "")
	p.jmp(bpfJeqK, unix.SYS_ARCH_PRCTL, "", "kill")
	p.ld(sdArg0Lo)
	p.jmp(bpfJeqK, archSetFS, "allow", "")
	p.jmp(bpfJeqK, archSetGS, "allow", "kill")
	p.mark("futex")
	p.ld(sdArg1Lo)
	p.jmp(bpfJgtK, futexWake_, "kill", "allow") // FUTEX_WAIT (0) or FUTEX_WAKE (1)
	p.mark("allow")
	p.ret(seccompRetAllow)
	p.mark("kill")
	p.ret(seccompRetKillProcess)
	return p.assemble()
}
