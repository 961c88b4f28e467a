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

// func cpuidRDTSCP() bool
// Reports CPUID.80000001H:EDX[27], RDTSCP.
TEXT ·cpuidRDTSCP(SB),NOSPLIT,$0-1
	MOVL $0x80000000, AX
	CPUID
	CMPL AX, $0x80000001
	JB none
	MOVL $0x80000001, AX
	XORL CX, CX
	CPUID
	SHRL $27, DX
	ANDL $1, DX
	MOVB DX, ret+0(FP)
	RET
none:
	MOVB $0, ret+0(FP)
	RET

// func rdtscpAux() uint32
// Returns IA32_TSC_AUX as RDTSCP reads it.
TEXT ·rdtscpAux(SB),NOSPLIT,$0-4
	BYTE $0x0f; BYTE $0x01; BYTE $0xf9 // RDTSCP: ECX = TSC_AUX (EDX:EAX the TSC)
	MOVL CX, ret+0(FP)
	RET
