#include "textflag.h"

// func jumpSyscall(addr, nr, a1, a2, a3 uintptr)
//
// Loads a system call's registers and jumps to addr, a `syscall`
// instruction that is not the program's own; it does not return.
TEXT ·jumpSyscall(SB),NOSPLIT,$0-40
	MOVQ nr+8(FP), AX
	MOVQ a1+16(FP), DI
	MOVQ a2+24(FP), SI
	MOVQ a3+32(FP), DX
	MOVQ addr+0(FP), R11
	JMP R11
