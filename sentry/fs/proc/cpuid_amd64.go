package proc

// cpuid executes the CPUID instruction. Application code in the sandbox
// runs on the host CPU and sees the same answers.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
