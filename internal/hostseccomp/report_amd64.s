#include "textflag.h"

// sigsysHandler is entered by the kernel with DI = signal, SI = siginfo,
// DX = ucontext, on the thread's alternate signal stack. si_syscall is
// the int at offset 24 of a SIGSYS siginfo.
TEXT ·sigsysHandler(SB),NOSPLIT|NOFRAME,$0
	MOVL	24(SI), AX
	CMPQ	AX, $512
	JB	known
	MOVQ	$512, AX
known:
	SHLQ	$7, AX			// × reportLineBytes
	LEAQ	·reportLines(SB), SI
	ADDQ	AX, SI
	MOVBQZX	0(SI), DX		// length
	INCQ	SI			// text
	MOVQ	$2, DI			// stderr
	MOVQ	$1, AX			// write
	SYSCALL
	MOVQ	$0x3ffffff0, AX		// killNr
	SYSCALL
	// Not reached unless the filter is not this package's.
	MOVQ	$159, DI		// 128 + SIGSYS
	MOVQ	$231, AX		// exit_group
	SYSCALL
	INT	$3

// sigsysRestorer is the SA_RESTORER x86-64 requires; the handler never
// returns.
TEXT ·sigsysRestorer(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$15, AX			// rt_sigreturn
	SYSCALL
	INT	$3

// func reportAddrs() (handler, restorer uintptr)
TEXT ·reportAddrs(SB),NOSPLIT,$0-16
	LEAQ	·sigsysHandler(SB), AX
	MOVQ	AX, handler+0(FP)
	LEAQ	·sigsysRestorer(SB), AX
	MOVQ	AX, restorer+8(FP)
	RET
