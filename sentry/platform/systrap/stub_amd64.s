#include "textflag.h"

// The stub's code. stubCode is never called by Go: its bytes, up to the
// end marker, are copied into the code page of every stub process at
// stubCodeAddr (see stub.go), so everything here is position-independent:
// register and immediate operands, and jumps to local labels only.
//
// Layout (offsets from stubCode; stub.go checks the fixed prefix):
//
//	0   restorer:    mov $15,%eax; syscall; int3   (rt_sigreturn)
//	8   threadEntry: int3; jmp threadEntry          (first event of a thread)
//	16  park:        mov $34,%eax; syscall; jmp park (pause(2) forever: a
//	                 thread handed from one tracer to another waits there)
//	32  handler:     the signal handler of every stub thread
//
// The handler runs on the thread's signal stack, inside its 64 KiB region;
// the region's first page is the thread's sysmsg, shared with the sentry.
// It publishes the signal frame (rdi = signo, rsi = siginfo, rdx = ucontext),
// calls the hand-off (handoffCode, below: wakes the sentry, waits for it to
// hand the thread back, and prepares the return), and returns through the
// restorer; rt_sigreturn then loads the registers and FP state the sentry
// left in the frame.

// Offsets in the sysmsg page; keep in sync with sysmsg.go.
#define MSG_STATE 0
#define MSG_STUB_SLEEPING 4
#define MSG_SENTRY_SLEEPING 8
#define MSG_SIGNO 12
#define MSG_UCONTEXT 16
#define MSG_SIGINFO 24
#define MSG_CMD 32
#define MSG_SETFS 36
#define MSG_FSBASE 40
#define MSG_SPIN 48
#define MSG_SETGS 52
#define MSG_APPSTACK 56
#define MSG_RETADDR 64
#define MSG_SYSHANDLER 80
#define MSG_TRAPTABLE 88
#define MSG_SYSPOSTED 96
#define MSG_SYSEND 104
#define MSG_WAITSEQ 112
#define MSG_STUB_CPU 116
#define MSG_SENTRY_CPU 120
#define MSG_YIELD 128
// NO_CPU in MSG_SENTRY_CPU: no CPU hints (cpuhint.go's noCPU).
#define NO_CPU 0xffffffff
#define CPU_MASK 0xfff
// The selector of the per-CPU segment Linux puts in every CPU's GDT for
// vgetcpu (GDT_ENTRY_CPUNODE 15, RPL 3); keep in sync with cpuhint.go.
#define CPUNODE_SELECTOR 0x7b

// UC_RAX, UC_RSP and UC_RIP are offsets of uc_mcontext's registers in a
// ucontext.
#define UC_RAX 144
#define UC_RSP 160
#define UC_RIP 168
#define SIGKICK 12
#define FAST_SIGNO 0x10000
#define CMD_MATERIALIZE 2
#define EDIT_FAILED_SIGNO 0x20000
// stubHandoffAddr (handoff.go); the hand-off's code fills the code page
// from there to its end.
#define HANDOFF_ADDR 0x7f0000000c00
#define HANDOFF_SIZE 0x400
// stubYieldAddr and stubYieldSize (localyield.go): the stub's own
// sched_yield and the bytes kept for it.
#define YIELD_ADDR 0x7f0000000b80
#define YIELD_SIZE 0x40

// RETURN_TO_APP leaves a patched site's handler for the application:
// mov %gs:MSG_APPSTACK,%rsp; jmp *%gs:MSG_RETADDR.
#define RETURN_TO_APP \
	BYTE $0x65; BYTE $0x48; BYTE $0x8b; BYTE $0x24; BYTE $0x25; BYTE $MSG_APPSTACK; BYTE $0x00; BYTE $0x00; BYTE $0x00; \
	BYTE $0x65; BYTE $0xff; BYTE $0x24; BYTE $0x25; BYTE $MSG_RETADDR; BYTE $0x00; BYTE $0x00; BYTE $0x00
#define ARCH_SET_GS 0x1001

#define STATE_EVENT 2
#define CMD_EXIT 1

#define SYS_FUTEX 202
#define SYS_SCHED_YIELD 24
#define SYS_EXIT 60
#define SYS_ARCH_PRCTL 158
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define ARCH_SET_FS 0x1002

// Offsets in the syscall page; keep in sync with syscall_thread.go.
#define SP_ADDR 0x7f0000002000
#define SP_SEQ 0xe00
#define SP_COUNT 0xe04
#define SP_DONE 0xe08
#define SP_WAKE_DONE 0xe0c
#define SP_REM 0xe10
#define SP_ERRNO 0xe11
#define SP_FAILED 0xe14
#define SP_FILEOFF 0xe18
#define SP_TABLE 0xf00
#define SP_MAX 64
#define SP_ENTRY 56
// stubDataAddr + dataDoneTimeout: the timespec a thread waiting for the
// syscall thread sleeps at most before it looks again.
#define DONE_TIMEOUT 0x7f0000001080

TEXT ·stubCode(SB), NOSPLIT|NOFRAME, $0
	// restorer (offset 0): mov $15,%eax; syscall; int3
	BYTE $0xb8; BYTE $0x0f; BYTE $0x00; BYTE $0x00; BYTE $0x00
	BYTE $0x0f; BYTE $0x05
	BYTE $0xcc
	// threadEntry (offset 8): int3; jmp .-1; then padding to 16.
	BYTE $0xcc
	BYTE $0xeb; BYTE $0xfd
	BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc
	// park (offset 16): mov $34,%eax; syscall; jmp park; padding to 32.
	BYTE $0xb8; BYTE $0x22; BYTE $0x00; BYTE $0x00; BYTE $0x00
	BYTE $0x0f; BYTE $0x05
	BYTE $0xeb; BYTE $0xf7
	BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc

	// handler (offset 32).
	MOVQ SP, R12
	ANDQ $-65536, R12
	// A kick (the sentry wants the thread back) that lands while the
	// thread is on its way into the sentry through a patched system-call
	// site is dropped: the event that follows serves. One that lands in
	// the return path, after the sentry answered, is posted; the sentry
	// knows the registers it handed back.
	CMPL DI, $SIGKICK
	JNE publish
	MOVQ UC_RIP(DX), AX
	// One that lands in the stub's own sched_yield (yieldCode) ends the
	// call there, as if it had returned 0 to the application, and is
	// posted: nothing tells a yield cut short from one that found no
	// other thread to run.
	MOVQ AX, CX
	MOVQ $YIELD_ADDR, BX
	SUBQ BX, CX
	CMPQ CX, $YIELD_SIZE
	JCC notyield
	MOVQ MSG_RETADDR(R12), CX
	MOVQ CX, UC_RIP(DX)
	MOVQ MSG_APPSTACK(R12), CX
	MOVQ CX, UC_RSP(DX)
	MOVQ $0, UC_RAX(DX)
	JMP publish
notyield:
	// The hand-off runs with every signal blocked when the handler calls
	// it, so a kick that lands there came through the syshandler, which
	// had already posted its event.
	MOVQ $HANDOFF_ADDR, BX
	MOVQ AX, CX
	SUBQ BX, CX
	CMPQ CX, $HANDOFF_SIZE
	JCS posted
	MOVQ AX, CX
	CMPQ CX, MSG_SYSHANDLER(R12)
	JCS notsys
	CMPQ CX, MSG_SYSEND(R12)
	JCC notsys
	CMPQ CX, MSG_SYSPOSTED(R12)
	JCS ignore
posted:
	MOVL MSG_STATE(R12), BX
	CMPL BX, $STATE_EVENT
	JEQ ignore
	JMP publish
notsys:
	// Within a trampoline of the trap table, only its first instruction
	// (at offset 8 of its 64-byte entry) runs with the application's
	// registers intact.
	MOVQ MSG_TRAPTABLE(R12), CX
	TESTQ CX, CX
	JEQ publish
	MOVQ AX, BX
	SUBQ CX, BX
	CMPQ BX, $0x10000
	JCC publish
	ANDQ $63, BX
	CMPQ BX, $8
	JEQ publish
ignore:
	RET

publish:
	MOVL DI, MSG_SIGNO(R12)
	MOVQ DX, MSG_UCONTEXT(R12)
	MOVQ SI, MSG_SIGINFO(R12)
	// Publish the event; the XCHG is a full barrier, so the sentry either
	// sees it or is seen sleeping in the hand-off.
	MOVL $STATE_EVENT, AX
	XCHGL AX, MSG_STATE(R12)
	MOVQ $HANDOFF_ADDR, AX
	CALL AX
	// Return to the restorer, whose address the kernel pushed.
	RET

	// End marker, found by stub.go; never executed.
	BYTE $0x43; BYTE $0x4f; BYTE $0x43; BYTE $0x4f; BYTE $0x4f; BYTE $0x4e; BYTE $0x45; BYTE $0x44

// The system-call handler of patched sites, copied to stubSyshandlerAddr.
// A trampoline of the trap table enters it with the application's stack
// pointer in MSG_APPSTACK, its return address in MSG_RETADDR, RSP at the
// top of the thread's fast frame and EAX the system call number; every
// other register is the application's. It saves them in the fast frame,
// posts the event and calls the hand-off like the signal handler, then
// either returns to the application with the registers the sentry left in
// the frame (never touching the application's stack: the red zone below it
// is live) or traps with int3 so the sentry gets a signal frame, which
// holds the thread's floating-point state (CMD_MATERIALIZE). No
// floating-point or vector register is touched here.
TEXT ·syshandlerCode(SB), NOSPLIT|NOFRAME, $0
	PUSHFQ
	PUSHQ AX
	PUSHQ BX
	PUSHQ CX
	PUSHQ DX
	PUSHQ SI
	PUSHQ DI
	PUSHQ BP
	PUSHQ R8
	PUSHQ R9
	PUSHQ R10
	PUSHQ R11
	PUSHQ R12
	PUSHQ R13
	PUSHQ R14
	PUSHQ R15
	MOVQ SP, R12
	ANDQ $-65536, R12
	MOVL $FAST_SIGNO, MSG_SIGNO(R12)
	MOVL $STATE_EVENT, AX
	XCHGL AX, MSG_STATE(R12)
	// posted: the signal handler finds this point through MSG_SYSPOSTED.
	// The return address the CALL pushes lies just below the fast frame.
	MOVQ $HANDOFF_ADDR, AX
	CALL AX
resumed:
	MOVL MSG_CMD(R12), AX
	CMPL AX, $CMD_MATERIALIZE
	JNE restore
	BYTE $0xcc
	JMP resumed
restore:
	POPQ R15
	POPQ R14
	POPQ R13
	POPQ R12
	POPQ R11
	POPQ R10
	POPQ R9
	POPQ R8
	POPQ BP
	POPQ DI
	POPQ SI
	POPQ DX
	POPQ CX
	POPQ BX
	POPQ AX
	POPFQ
	RETURN_TO_APP

	// End marker, found by stub.go; never executed.
	BYTE $0x43; BYTE $0x4f; BYTE $0x43; BYTE $0x4f; BYTE $0x4f; BYTE $0x4e; BYTE $0x45; BYTE $0x44

// The stub's own sched_yield, copied to YIELD_ADDR (localyield.go). The
// trampoline of a sched_yield site jumps here instead of to the syshandler
// while the sentry lets the task yield without it; the trampoline has left
// the number in EAX, the application's stack pointer in MSG_APPSTACK and
// its return address in MSG_RETADDR. The host's `syscall` clobbers RCX and
// R11 and keeps the flags, as the application's own would have.
TEXT ·yieldCode(SB), NOSPLIT|NOFRAME, $0
	SYSCALL
	RETURN_TO_APP

	// End marker, found by localyield.go; never executed.
	BYTE $0x43; BYTE $0x4f; BYTE $0x43; BYTE $0x4f; BYTE $0x4f; BYTE $0x4e; BYTE $0x45; BYTE $0x44

// The hand-off, copied to HANDOFF_ADDR and called by the signal handler and
// the syshandler once they have posted their event (R12: the sysmsg). It
// wakes the sentry if it sleeps, waits for the sentry to hand the thread
// back (polling MSG_SPIN times, then sleeping on the state word), and
// prepares the thread's return to the application: it exits instead when
// told to, waits until the syscall thread has made the address-space edits
// the sentry posted for this run (MSG_WAITSEQ, handoff.go), posts an
// EDIT_FAILED event instead of returning when they failed, and sets the GS
// and FS bases when asked. It returns to its caller with R12 intact.
//
// The caller's kick filter treats every instruction here as past the
// posting of an event: the signal handler calls it with every signal
// blocked, so a kick can land here only in the syshandler's call.
TEXT ·handoffCode(SB), NOSPLIT|NOFRAME, $0
posted:
	// BX: 1 once this thread has woken the sentry thread.
	XORL BX, BX
	MOVL MSG_SENTRY_SLEEPING(R12), AX
	TESTL AX, AX
	JEQ where
	MOVQ $SYS_FUTEX, AX
	MOVQ R12, DI
	MOVQ $FUTEX_WAKE, SI
	MOVQ $1, DX
	SYSCALL
	MOVL $1, BX

where:
	// Spinning helps only while the sentry thread runs on another CPU
	// (cpuhint.go). A sentry thread this thread just woke may have been
	// queued on this CPU: give the CPU up once first (sched_yield
	// returns at once when nothing else waits for it). An awake one
	// that last waited on this CPU is queued behind this thread: sleep
	// at once. The CPU is published for the sentry's own check;
	// MSG_SENTRY_CPU is NO_CPU where the host gives no CPU number.
	CMPL MSG_SPIN(R12), $0
	JEQ wait
	MOVL MSG_SENTRY_CPU(R12), AX
	CMPL AX, $NO_CPU
	JEQ nohint
	// LSL of the per-CPU segment (cpuhint.go): ECX = (node << 12) | cpu.
	MOVL $CPUNODE_SELECTOR, AX
	BYTE $0x0f; BYTE $0x03; BYTE $0xc8 // LSL %eax, %ecx
	ANDL $CPU_MASK, CX
	MOVL CX, MSG_STUB_CPU(R12)
	TESTL BX, BX
	JNE yield
	CMPL CX, MSG_SENTRY_CPU(R12)
	JNE wait
	JMP sleep
nohint:
	TESTL BX, BX
	JEQ wait
yield:
	MOVQ $SYS_SCHED_YIELD, AX
	SYSCALL

wait:
	// Spin a little (the sentry may answer within microseconds), then sleep.
	MOVL MSG_SPIN(R12), CX
spin:
	MOVL MSG_STATE(R12), AX
	CMPL AX, $STATE_EVENT
	JNE resumed
	TESTL CX, CX
	JEQ sleep
	// The sentry clears MSG_SPIN when the task blocks (Blocking).
	CMPL MSG_SPIN(R12), $0
	JEQ sleep
	PAUSE
	DECL CX
	JMP spin

sleep:
	MOVL $1, AX
	XCHGL AX, MSG_STUB_SLEEPING(R12)
	MOVL MSG_STATE(R12), AX
	CMPL AX, $STATE_EVENT
	JNE awake
	MOVQ $SYS_FUTEX, AX
	MOVQ R12, DI
	MOVQ $FUTEX_WAIT, SI
	MOVQ $STATE_EVENT, DX
	XORQ R10, R10
	SYSCALL
awake:
	MOVL $0, MSG_STUB_SLEEPING(R12)
	MOVL MSG_STATE(R12), AX
	CMPL AX, $STATE_EVENT
	JEQ sleep

resumed:
	MOVL MSG_CMD(R12), AX
	CMPL AX, $CMD_EXIT
	JEQ exit
	// BX: the request whose completion the application must not pass;
	// Done - BX >= 0 (in sequence arithmetic) once it is complete.
	MOVL MSG_WAITSEQ(R12), BX
	TESTL BX, BX
	JEQ setgs
	MOVQ $SP_ADDR, R13
	MOVL MSG_SPIN(R12), CX
donespin:
	MOVL SP_DONE(R13), DX
	MOVL DX, AX
	SUBL BX, AX
	JPL edited
	TESTL CX, CX
	JEQ donesleep
	PAUSE
	DECL CX
	JMP donespin
donesleep:
	// DX: the Done value seen. The syscall thread wakes every sleeper on
	// Done after a request the sentry posted without waiting for it.
	MOVQ $SYS_FUTEX, AX
	LEAQ SP_DONE(R13), DI
	MOVQ $FUTEX_WAIT, SI
	MOVQ $DONE_TIMEOUT, R10
	SYSCALL
	MOVL SP_DONE(R13), DX
	MOVL DX, AX
	SUBL BX, AX
	JMI donesleep
edited:
	MOVL SP_FAILED(R13), AX
	CMPL AX, BX
	JNE setgs
	// The request failed: the sentry hears of it instead of the
	// application running without its mappings.
	MOVL $EDIT_FAILED_SIGNO, MSG_SIGNO(R12)
	MOVL $STATE_EVENT, AX
	XCHGL AX, MSG_STATE(R12)
	JMP posted

setgs:
	// A new thread points its GS base at its sysmsg once: the patched
	// system-call trampolines reach it through %gs.
	MOVL MSG_SETGS(R12), AX
	TESTL AX, AX
	JEQ setfs
	MOVQ $SYS_ARCH_PRCTL, AX
	MOVQ $ARCH_SET_GS, DI
	MOVQ R12, SI
	SYSCALL
	MOVL $0, MSG_SETGS(R12)
setfs:
	MOVL MSG_SETFS(R12), AX
	TESTL AX, AX
	JEQ done
	MOVQ $SYS_ARCH_PRCTL, AX
	MOVQ $ARCH_SET_FS, DI
	MOVQ MSG_FSBASE(R12), SI
	SYSCALL
	MOVL $0, MSG_SETFS(R12)
done:
	RET

exit:
	MOVQ $SYS_EXIT, AX
	XORQ DI, DI
	SYSCALL
	BYTE $0xcc

	// End marker, found by handoff.go; never executed.
	BYTE $0x43; BYTE $0x4f; BYTE $0x43; BYTE $0x4f; BYTE $0x4f; BYTE $0x4e; BYTE $0x45; BYTE $0x44

// func handoffCodeStart() unsafe.Pointer
TEXT ·handoffCodeStart(SB), NOSPLIT, $0-8
	LEAQ ·handoffCode(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func yieldCodeStart() unsafe.Pointer
TEXT ·yieldCodeStart(SB), NOSPLIT, $0-8
	LEAQ ·yieldCode(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func syshandlerCodeStart() unsafe.Pointer
TEXT ·syshandlerCodeStart(SB), NOSPLIT, $0-8
	LEAQ ·syshandlerCode(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func stubCodeStart() unsafe.Pointer
TEXT ·stubCodeStart(SB), NOSPLIT, $0-8
	LEAQ ·stubCode(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// The syscall thread of a stub process (syscall_thread.go), copied to
// stubSysThreadAddr. It runs the address-space edits the sentry posts in
// the read-only syscall page and reports their completion, with no stack
// and every signal blocked: its control flow depends only on the code page,
// its own registers and the syscall page, none of which the application
// can write. It writes no memory itself: it reports through pwrite(2) on
// the memory file (descriptor 0), copying bytes out of the syscall page
// (the request's sequence number, or one byte of the identity table per
// value), a call the application's threads are refused.

// dataHandlerAction's sa_mask: eight bytes of ones in the read-only data
// page.
#define ALL_SIGNALS 0x7f0000001018

#define SYS_PWRITE64 18
#define SYS_RT_SIGPROCMASK 14
#define SYS_EXIT_GROUP 231
#define SIG_SETMASK 2

TEXT ·sysThreadCode(SB), NOSPLIT|NOFRAME, $0
	MOVQ $SYS_RT_SIGPROCMASK, AX
	MOVQ $SIG_SETMASK, DI
	MOVQ $ALL_SIGNALS, SI
	XORQ DX, DX
	MOVQ $8, R10
	SYSCALL
	TESTQ AX, AX
	JNE die
	MOVQ $SP_ADDR, R13
	// R14: the sequence number of the last request served.
	XORQ R14, R14

wait:
	// Polling for the next request as well measured no faster: on two
	// busy CPUs it takes the time of the threads that would post it.
	MOVL SP_SEQ(R13), AX
	CMPL AX, R14
	JNE request
	MOVQ $SYS_FUTEX, AX
	LEAQ SP_SEQ(R13), DI
	MOVQ $FUTEX_WAIT, SI
	MOVL R14, DX
	XORQ R10, R10
	SYSCALL
	JMP wait

request:
	MOVL AX, R14
	MOVL SP_COUNT(R13), R12
	CMPQ R12, $SP_MAX
	JLS counted
	XORQ R12, R12
counted:
	MOVQ R13, BX
	TESTQ R12, R12
	JEQ done
loop:
	MOVQ 0(BX), AX
	MOVQ 8(BX), DI
	MOVQ 16(BX), SI
	MOVQ 24(BX), DX
	MOVQ 32(BX), R10
	MOVQ 40(BX), R8
	MOVQ 48(BX), R9
	SYSCALL
	CMPQ AX, $-4095
	JCC failed
	ADDQ $SP_ENTRY, BX
	DECQ R12
	JNE loop
	JMP done

failed:
	// R12: the calls not completed, the failed one included; R15 its
	// errno, at most 255.
	NEGQ AX
	CMPQ AX, $255
	JLS small
	MOVQ $255, AX
small:
	MOVQ AX, R15
	MOVQ $SYS_PWRITE64, AX
	XORQ DI, DI
	LEAQ SP_TABLE(R13)(R12*1), SI
	MOVQ $1, DX
	MOVQ SP_FILEOFF(R13), R10
	ADDQ $SP_REM, R10
	SYSCALL
	CMPQ AX, $1
	JNE die
	MOVQ $SYS_PWRITE64, AX
	XORQ DI, DI
	LEAQ SP_TABLE(R13)(R15*1), SI
	MOVQ $1, DX
	MOVQ SP_FILEOFF(R13), R10
	ADDQ $SP_ERRNO, R10
	SYSCALL
	CMPQ AX, $1
	JNE die
	// Failed := Seq: a stub thread waiting for this request (handoffCode)
	// learns it failed.
	MOVQ $SYS_PWRITE64, AX
	XORQ DI, DI
	LEAQ SP_SEQ(R13), SI
	MOVQ $4, DX
	MOVQ SP_FILEOFF(R13), R10
	ADDQ $SP_FAILED, R10
	SYSCALL
	CMPQ AX, $4
	JNE die

done:
	// Done := Seq, then wake whoever may sleep on it (the sentry, stub
	// threads waiting to return to the application) if the sentry says
	// someone may.
	MOVQ $SYS_PWRITE64, AX
	XORQ DI, DI
	LEAQ SP_SEQ(R13), SI
	MOVQ $4, DX
	MOVQ SP_FILEOFF(R13), R10
	ADDQ $SP_DONE, R10
	SYSCALL
	CMPQ AX, $4
	JNE die
	MFENCE
	MOVL SP_WAKE_DONE(R13), AX
	TESTL AX, AX
	JEQ wait
	MOVQ $SYS_FUTEX, AX
	LEAQ SP_DONE(R13), DI
	MOVQ $FUTEX_WAKE, SI
	MOVQ $0x7fffffff, DX
	SYSCALL
	JMP wait

die:
	// A report that cannot be made must not look made: the process goes,
	// and the sentry, waiting, finds it gone.
	MOVQ $SYS_EXIT_GROUP, AX
	XORQ DI, DI
	SYSCALL
	BYTE $0xcc

	// End marker, found by syscall_thread.go; never executed.
	BYTE $0x43; BYTE $0x4f; BYTE $0x43; BYTE $0x4f; BYTE $0x4f; BYTE $0x4e; BYTE $0x45; BYTE $0x44

// func sysThreadCodeStart() unsafe.Pointer
TEXT ·sysThreadCodeStart(SB), NOSPLIT, $0-8
	LEAQ ·sysThreadCode(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// A new application thread's first code, copied to stubThreadStartAddr:
// the factory starts it here with DI pointing at its stack_t (in its
// sysmsg page) and RSP at the top of its region. It sets its signal stack,
// stacks the thread filter on the master filter and goes to the thread
// entry, whose int3 posts its first event. The application reaching this
// code gets no further than its first `syscall`, which its own filter
// refuses.
#define SYS_SIGALTSTACK 131
#define SYS_SECCOMP 317
#define SECCOMP_SET_MODE_FILTER 1
// stubDataAddr + dataProgThread, and stubCodeAddr + 8.
#define PROG_THREAD 0x7f0000001050
#define THREAD_ENTRY 0x7f0000000108

TEXT ·threadStartCode(SB), NOSPLIT|NOFRAME, $0
	MOVQ $SYS_SIGALTSTACK, AX
	XORQ SI, SI
	SYSCALL
	TESTQ AX, AX
	JNE fail
	MOVQ $SYS_SECCOMP, AX
	MOVQ $SECCOMP_SET_MODE_FILTER, DI
	XORQ SI, SI
	MOVQ $PROG_THREAD, DX
	SYSCALL
	TESTQ AX, AX
	JNE fail
	MOVQ $THREAD_ENTRY, AX
	JMP AX
fail:
	// The thread alone ends; the factory, waiting for its first event,
	// finds it gone.
	MOVQ $SYS_EXIT, AX
	XORQ DI, DI
	SYSCALL
	BYTE $0xcc

	// End marker, found by stub.go; never executed.
	BYTE $0x43; BYTE $0x4f; BYTE $0x43; BYTE $0x4f; BYTE $0x4f; BYTE $0x4e; BYTE $0x45; BYTE $0x44

// func threadStartCodeStart() unsafe.Pointer
TEXT ·threadStartCodeStart(SB), NOSPLIT, $0-8
	LEAQ ·threadStartCode(SB), AX
	MOVQ AX, ret+0(FP)
	RET
