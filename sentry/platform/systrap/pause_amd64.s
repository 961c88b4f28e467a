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
