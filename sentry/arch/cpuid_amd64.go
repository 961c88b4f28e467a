package arch

// CPUID executes the CPUID instruction. Application code in the sandbox
// runs on the host CPU and sees the same answers.
func CPUID(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 returns XCR0, the state components the host kernel enabled.
// Only call it when CPUID says OSXSAVE.
func xgetbv0() uint64
