#include "textflag.h"

// func pauseLoop(n uint32)
// Executes PAUSE n times: the stub's spin loop without the state check, for
// calibrateStubSpin.
TEXT ·pauseLoop(SB),NOSPLIT,$0-4
	MOVL n+0(FP), CX
	TESTL CX, CX
	JEQ done
loop:
	PAUSE
	DECL CX
	JNE loop
done:
	RET

// func segmentCPU() (cpu uint32, ok bool)
// Returns the limit of the per-CPU segment Linux keeps in every CPU's GDT
// for vgetcpu (selector 0x7b, cpuhint.go): (node << 12) | cpu.
// ok is false when LSL finds no such segment.
TEXT ·segmentCPU(SB),NOSPLIT,$0-5
	XORL AX, AX
	MOVL $0x7b, CX
	BYTE $0x0f; BYTE $0x03; BYTE $0xc1 // LSL %ecx, %eax: EAX = the limit, ZF when valid
	JNE invalid
	MOVL AX, cpu+0(FP)
	MOVB $1, ok+4(FP)
	RET
invalid:
	MOVL $0, cpu+0(FP)
	MOVB $0, ok+4(FP)
	RET
