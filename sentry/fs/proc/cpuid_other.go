//go:build !amd64

package proc

// cpuid reports nothing where there is no CPUID instruction.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32) { return 0, 0, 0, 0 }
