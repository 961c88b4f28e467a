package systrap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
)

// The fast path of patched system-call sites.
//
// A system call that traps the slow way costs a host SIGSYS (signal frame
// with the full XSAVE state) and an rt_sigreturn: two host kernel entries,
// which on a virtual machine dominate the round trip. mm patches the sites
// that make them (mm/syscall_patch.go) into jumps to per-site trampolines in
// a trap table; a trampoline switches to the thread's fast frame in its
// sysmsg page (found through the GS base, which each stub thread points at
// its sysmsg) and enters the syshandler (stub_amd64.s), which saves the
// general registers there and hands off through the same state word as the
// signal handler, without entering the host kernel at all when both sides
// spin.
//
// A thread that came this way has no signal frame: its floating-point state
// is live in the CPU, not in memory. Whenever the sentry needs that state
// (a signal frame for the task, fork, exec), it first has the thread trap
// into its signal handler (materialize), which costs one slow round trip.
const (
	// stubSyshandlerOffset is where the syshandler sits in the code page.
	stubSyshandlerOffset = 0x800
	stubSyshandlerAddr   = stubStart + stubSyshandlerOffset

	// fastFrameOffset is where, in the sysmsg page, the syshandler's
	// pushes leave the registers; sysStackOffset is the top of that
	// stack, where the trampoline points RSP.
	fastFrameOffset = 0x380
	sysStackOffset  = 0x400

	// fastSyscallSigno is the Signo of an event posted by the syshandler.
	fastSyscallSigno = 0x10000
)

// fastFrame is the syshandler's pushes: PUSHFQ first, then RAX .. R15.
type fastFrame struct {
	R15, R14, R13, R12, R11, R10, R9, R8 uint64
	Rbp, Rdi, Rsi, Rdx, Rcx, Rbx, Rax    uint64
	Rflags                               uint64
}

var _ [sysStackOffset - fastFrameOffset - unsafe.Sizeof(fastFrame{})]struct{}
var _ [unsafe.Sizeof(fastFrame{}) - (sysStackOffset - fastFrameOffset)]struct{}
var _ [sysmsgAltStack - sysStackOffset]struct{} // below the stack_t

// patchingEnabled turns system-call patching on; COCOON_SYSTRAP_PATCH=0
// turns it off, to compare or to rule it out.
var patchingEnabled = os.Getenv("COCOON_SYSTRAP_PATCH") != "0"

// syshandlerCode is the syshandler in stub_amd64.s; copied, never called.
func syshandlerCode()

// syshandlerCodeStart returns the address of syshandlerCode.
func syshandlerCodeStart() unsafe.Pointer

// syshandler holds the syshandler's bytes and the offset where its posted
// part begins (just after the XCHG that publishes the event).
type syshandler struct {
	code   []byte
	posted int
}

// sysh is the syshandler; stubImage fails with syshErr.
var sysh, syshErr = loadSyshandler()

func loadSyshandler() (syshandler, error) {
	code := unsafe.Slice((*byte)(syshandlerCodeStart()), 1024)
	end := bytes.Index(code, []byte("COCOONED"))
	if end < 0 {
		return syshandler{}, fmt.Errorf("systrap: syshandler end marker not found")
	}
	code = code[:end]
	if stubSyshandlerOffset+len(code) > stubYieldOffset {
		return syshandler{}, fmt.Errorf("systrap: syshandler too large (%d bytes)", len(code))
	}
	// xchg %eax,(%r12): the publishing exchange.
	xchg := bytes.Index(code, []byte{0x41, 0x87, 0x04, 0x24})
	if xchg < 0 {
		return syshandler{}, fmt.Errorf("systrap: syshandler publishing exchange not found")
	}
	return syshandler{code: append([]byte(nil), code...), posted: xchg + 4}, nil
}

// initFastPath prepares a new thread's sysmsg for patched sites.
func (t *stubThread) initFastPath() {
	m := t.msg
	m.SetGS = 1
	m.SysStack = t.r.addr + sysStackOffset
	m.Syshandler = stubSyshandlerAddr
	m.Yield = stubSyshandlerAddr
	m.SysPosted = stubSyshandlerAddr + uint64(sysh.posted)
	m.SysEnd = stubSyshandlerAddr + uint64(len(sysh.code))
	m.TrapTable = t.as.trapTable.Load()
}

// fastFrame returns the thread's fast frame.
func (t *stubThread) fastFrame() *fastFrame {
	return (*fastFrame)(unsafe.Pointer(&t.r.mem[fastFrameOffset]))
}

// fastRegs loads the task registers from a syshandler event, as a
// `syscall` instruction leaves them: RCX the return address, R11 the
// flags.
func (t *stubThread) fastRegs(r *arch.Registers) {
	f := t.fastFrame()
	r.R15, r.R14, r.R13, r.R12 = f.R15, f.R14, f.R13, f.R12
	r.R10, r.R9, r.R8 = f.R10, f.R9, f.R8
	r.Rbp, r.Rdi, r.Rsi, r.Rdx, r.Rbx = f.Rbp, f.Rdi, f.Rsi, f.Rdx, f.Rbx
	r.Rip = t.msg.RetAddr
	r.Rsp = t.msg.AppStack
	r.Eflags = f.Rflags
	r.Rcx, r.R11 = r.Rip, f.Rflags
	r.Orig_rax = f.Rax
	r.Rax = enosys
	r.Cs, r.Ss = uint64(t.cs), uint64(t.ss)
}

// setFastRegs stores the task registers for the syshandler's return.
func (t *stubThread) setFastRegs(r *arch.Registers) {
	f := t.fastFrame()
	f.R15, f.R14, f.R13, f.R12 = r.R15, r.R14, r.R13, r.R12
	f.R11, f.R10, f.R9, f.R8 = r.R11, r.R10, r.R9, r.R8
	f.Rbp, f.Rdi, f.Rsi, f.Rdx = r.Rbp, r.Rdi, r.Rsi, r.Rdx
	f.Rcx, f.Rbx, f.Rax = r.Rcx, r.Rbx, r.Rax
	f.Rflags = (r.Eflags &^ eflagsKernelOnly) | eflagsFixed
	t.msg.AppStack = r.Rsp
	t.msg.RetAddr = r.Rip
}

// materialize has a thread waiting in the syshandler trap into its signal
// handler, so that its floating-point state is in a signal frame; its
// general registers stay the task's in arch.State.
func (t *stubThread) materialize() error {
	if !t.fast {
		return nil
	}
	t.msg.Cmd = cmdMaterialize
	t.resume()
	err := t.wait()
	t.msg.Cmd = 0
	if err != nil {
		return err
	}
	// The int3, or a kick that was still pending when the thread left
	// its wait (the interrupt stays pending for the next Switch): either
	// way the thread is in its signal handler now.
	switch unix.Signal(t.msg.Signo) {
	case unix.SIGTRAP:
	case kickSignal:
		uc, err := t.frame()
		if err != nil {
			return err
		}
		if !t.inSyshandlerTail(uc.Mcontext.Rip) {
			return fmt.Errorf("systrap: stub thread was kicked outside its syshandler while entering its handler")
		}
	default:
		return fmt.Errorf("systrap: stub thread reported signal %d while entering its handler, want SIGTRAP", t.msg.Signo)
	}
	t.fast = false
	return nil
}

// inSyshandlerTail reports whether rip is in the syshandler's return path,
// which a kick interrupted after the sentry answered: the syshandler after
// it posted its event, or the hand-off it calls (the signal handler calls
// the hand-off with every signal blocked, so no kick lands there from it).
func (t *stubThread) inSyshandlerTail(rip uint64) bool {
	return rip >= stubSyshandlerAddr+uint64(sysh.posted) && rip < stubSyshandlerAddr+uint64(len(sysh.code)) ||
		rip >= stubHandoffAddr && rip < stubHandoffAddr+uint64(len(handoffBytes))
}

// SyscallTrampoline implements platform.SyscallPatcher.SyscallTrampoline:
//
//	mov %rsp,%gs:AppStack
//	mov %gs:SysStack,%rsp
//	movabs $ret,%rax
//	mov %rax,%gs:RetAddr
//	mov $sysno,%eax
//	jmp *%gs:Syshandler	(%gs:Yield for sched_yield: localyield.go)
func (as *addressSpace) SyscallTrampoline(addr, ret uint64, sysno uint32) []byte {
	if !patchingEnabled {
		return nil
	}
	var m sysmsg
	off := func(p unsafe.Pointer) byte { return byte(uintptr(p) - uintptr(unsafe.Pointer(&m))) }
	code := []byte{
		0x65, 0x48, 0x89, 0x24, 0x25, off(unsafe.Pointer(&m.AppStack)), 0, 0, 0,
		0x65, 0x48, 0x8b, 0x24, 0x25, off(unsafe.Pointer(&m.SysStack)), 0, 0, 0,
		0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
		0x65, 0x48, 0x89, 0x04, 0x25, off(unsafe.Pointer(&m.RetAddr)), 0, 0, 0,
		0xb8, 0, 0, 0, 0,
		0x65, 0xff, 0x24, 0x25, off(unsafe.Pointer(&m.Syshandler)), 0, 0, 0,
	}
	if sysno == unix.SYS_SCHED_YIELD {
		code[len(code)-4] = off(unsafe.Pointer(&m.Yield))
	}
	binary.LittleEndian.PutUint64(code[20:], ret)
	binary.LittleEndian.PutUint32(code[38:], sysno)
	return code
}

// SyscallTrampolineRAX implements platform.SyscallPatcher.SyscallTrampolineRAX:
//
//	<replaced>
//	mov %rsp,%gs:AppStack
//	mov %gs:SysStack,%rsp
//	movabs $ret,%r11
//	mov %r11,%gs:RetAddr
//	jmp *%gs:Syshandler
//
// RAX holds the application's number throughout; R11, which a `syscall`
// instruction clobbers too, carries the return address (fastRegs gives the
// task the flags there, as the instruction would).
func (as *addressSpace) SyscallTrampolineRAX(addr, ret uint64, replaced []byte) []byte {
	if !patchingEnabled {
		return nil
	}
	var m sysmsg
	off := func(p unsafe.Pointer) byte { return byte(uintptr(p) - uintptr(unsafe.Pointer(&m))) }
	code := append([]byte(nil), replaced...)
	n := len(code)
	code = append(code,
		0x65, 0x48, 0x89, 0x24, 0x25, off(unsafe.Pointer(&m.AppStack)), 0, 0, 0,
		0x65, 0x48, 0x8b, 0x24, 0x25, off(unsafe.Pointer(&m.SysStack)), 0, 0, 0,
		0x49, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0,
		0x65, 0x4c, 0x89, 0x1c, 0x25, off(unsafe.Pointer(&m.RetAddr)), 0, 0, 0,
		0x65, 0xff, 0x24, 0x25, off(unsafe.Pointer(&m.Syshandler)), 0, 0, 0,
	)
	binary.LittleEndian.PutUint64(code[n+20:], ret)
	return code
}

// SetTrapTable implements platform.SyscallPatcher.SetTrapTable.
func (as *addressSpace) SetTrapTable(addr uint64) {
	as.trapTable.Store(addr)
	// Threads running application code now may reach a patched site
	// before their next Switch refreshes it: the handler's kick filter
	// must know the table at once.
	as.mu.Lock()
	for _, t := range as.threads {
		t.msg.TrapTable = addr
	}
	as.mu.Unlock()
}
