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
// wakes the sentry, waits for the sentry to hand the thread back, and
// returns through the restorer; rt_sigreturn then loads the registers and FP
// state the sentry left in the frame.

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

#define STATE_EVENT 2
#define CMD_EXIT 1

#define SYS_FUTEX 202
#define SYS_EXIT 60
#define SYS_ARCH_PRCTL 158
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define ARCH_SET_FS 0x1002

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
	MOVL DI, MSG_SIGNO(R12)
	MOVQ DX, MSG_UCONTEXT(R12)
	MOVQ SI, MSG_SIGINFO(R12)
	// Publish the event; the XCHG is a full barrier, so the sentry either
	// sees it or is seen sleeping below.
	MOVL $STATE_EVENT, AX
	XCHGL AX, MSG_STATE(R12)
	MOVL MSG_SENTRY_SLEEPING(R12), AX
	TESTL AX, AX
	JEQ wait
	MOVQ $SYS_FUTEX, AX
	MOVQ R12, DI
	MOVQ $FUTEX_WAKE, SI
	MOVQ $1, DX
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
	MOVL MSG_SETFS(R12), AX
	TESTL AX, AX
	JEQ done
	MOVQ $SYS_ARCH_PRCTL, AX
	MOVQ $ARCH_SET_FS, DI
	MOVQ MSG_FSBASE(R12), SI
	SYSCALL
	MOVL $0, MSG_SETFS(R12)
done:
	// Return to the restorer, whose address the kernel pushed.
	RET

exit:
	MOVQ $SYS_EXIT, AX
	XORQ DI, DI
	SYSCALL
	BYTE $0xcc

	// End marker, found by stub.go; never executed.
	BYTE $0x43; BYTE $0x4f; BYTE $0x43; BYTE $0x4f; BYTE $0x4f; BYTE $0x4e; BYTE $0x45; BYTE $0x44

// func stubCodeStart() unsafe.Pointer
TEXT ·stubCodeStart(SB), NOSPLIT, $0-8
	LEAQ ·stubCode(SB), AX
	MOVQ AX, ret+0(FP)
	RET
