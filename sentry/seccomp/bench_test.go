package seccomp

import "testing"

func benchAllowList(n int) []Instruction {
	nrs := make([]uint32, n)
	for i := range nrs {
		nrs[i] = uint32(i)
	}
	return allowList(eperm, nrs...)
}

// BenchmarkEvaluateCached is an allowed call answered by the cache.
func BenchmarkEvaluateCached(b *testing.B) {
	f, _ := (Filters{}).Install(mustCompile(b, benchAllowList(250)...), false)
	d := call(200)
	for b.Loop() {
		f.Evaluate(d)
	}
}

// BenchmarkEvaluateChain is a denied call at the end of a 250-entry jeq
// chain, which the filter runs in full.
func BenchmarkEvaluateChain(b *testing.B) {
	f, _ := (Filters{}).Install(mustCompile(b, benchAllowList(250)...), false)
	d := call(300)
	for b.Loop() {
		f.Evaluate(d)
	}
}

// BenchmarkInstallWorstCase installs a 4096-instruction program the
// cache emulation must walk in full for every number.
func BenchmarkInstallWorstCase(b *testing.B) {
	insns := repeat(Jump(Jmp|Jeq|K, 0xffffffff, 0, 0), MaxInstructions-1)
	insns = append(insns, Stmt(Ret|K, RetAllow))
	p := mustCompile(b, insns...)
	for b.Loop() {
		if _, err := (Filters{}).Install(p, false); err != nil {
			b.Fatal(err)
		}
	}
}
