#include "textflag.h"

// sigNop is the child's SIGALRM handler. It does nothing: installed
// without SA_RESTART, its only effect is that a blocking system call the
// signal interrupts returns EINTR.
TEXT sigNop<>(SB),NOSPLIT|NOFRAME,$0-0
	RET

// sigRestorer is where sigNop returns to: rt_sigreturn.
TEXT sigRestorer<>(SB),NOSPLIT|NOFRAME,$0-0
	MOVQ	$15, AX
	SYSCALL
	INT	$3

// func sigNopAddrs() (handler, restorer uintptr)
TEXT ·sigNopAddrs(SB),NOSPLIT,$0-16
	LEAQ	sigNop<>(SB), AX
	MOVQ	AX, handler+0(FP)
	LEAQ	sigRestorer<>(SB), AX
	MOVQ	AX, restorer+8(FP)
	RET
