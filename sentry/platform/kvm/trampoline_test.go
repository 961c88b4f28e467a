package kvm

import (
	"fmt"
	"testing"
)

// insn is one decoded trampoline instruction.
type insn struct {
	text string
	len  int
	// target is a jump's destination offset, or -1.
	target int
}

// decode decodes the instruction at off in code, knowing only the few
// encodings the trampoline may use (Intel SDM Vol. 2); anything else fails
// the test.
func decode(t *testing.T, code []byte, off int) insn {
	t.Helper()
	b := code[off:]
	switch {
	case b[0] == 0xe6:
		return insn{fmt.Sprintf("out %%al,$%#x", b[1]), 2, -1}
	case b[0] == 0xe7:
		return insn{fmt.Sprintf("out %%eax,$%#x", b[1]), 2, -1}
	case b[0] == 0xf4:
		return insn{"hlt", 1, -1}
	case b[0] == 0xeb:
		return insn{"jmp", 2, off + 2 + int(int8(b[1]))}
	case b[0] == 0xcc:
		return insn{"int3", 1, -1}
	case b[0] == 0x58:
		return insn{"pop %rax", 1, -1}
	case b[0] == 0x0f && b[1] == 0x22 && b[2] == 0xd8:
		// 0F 22 /r: MOV CRn, r64; ModRM d8 = 11 011 000: CR3 <- RAX.
		return insn{"mov %rax,%cr3", 3, -1}
	case b[0] == 0x48 && b[1] == 0x0f && b[2] == 0x07:
		return insn{"sysretq", 3, -1}
	case b[0] == 0x48 && b[1] == 0xcf:
		return insn{"iretq", 2, -1}
	}
	t.Fatalf("offset %#x: unknown encoding % x", off, b[:4])
	return insn{}
}

// disasm decodes n instructions from off.
func disasm(t *testing.T, code []byte, off, n int) []insn {
	t.Helper()
	var out []insn
	for i := 0; i < n; i++ {
		in := decode(t, code, off)
		out = append(out, in)
		off += in.len
	}
	return out
}

func TestTrampolineStubs(t *testing.T) {
	code := buildCodePage()
	covered := make([]bool, len(code))
	mark := func(off int, ins []insn) {
		for _, in := range ins {
			for i := 0; i < in.len; i++ {
				covered[off+i] = true
			}
			off += in.len
		}
	}
	for v := 0; v < numVectors; v++ {
		off := v * vectorStubSize
		ins := disasm(t, code[:], off, 3)
		want := []string{fmt.Sprintf("out %%al,$%#x", v), "hlt", "jmp"}
		for i := range want {
			if ins[i].text != want[i] {
				t.Fatalf("vector %d stub: %v, want %v", v, ins, want)
			}
		}
		// The out is 2 bytes (outLen), the jmp goes back to the hlt.
		if ins[0].len != outLen || ins[2].target != off+2 {
			t.Fatalf("vector %d stub: out length %d, jmp target %#x", v, ins[0].len, ins[2].target)
		}
		if uint64(off)+codeVA != vectorStubVA(v) {
			t.Fatalf("vector %d: stub at %#x, vectorStubVA %#x", v, off, vectorStubVA(v))
		}
		mark(off, ins)
	}

	sys := disasm(t, code[:], syscallStubOffset, 2)
	if sys[0].text != "out %eax,$0x0" || sys[1].text != "sysretq" || syscallPort != 0 || syscallIOSize != 4 {
		t.Fatalf("syscall stub: %v", sys)
	}
	if syscallStubVA+uint64(sys[0].len) != sysretVA {
		t.Fatal("sysretVA is not the instruction after the syscall stub's out")
	}
	mark(syscallStubOffset, sys)

	halt := disasm(t, code[:], haltStubOffset, 2)
	if halt[0].text != "hlt" || halt[1].text != "jmp" || halt[1].target != haltStubOffset {
		t.Fatalf("halt stub: %v", halt)
	}
	mark(haltStubOffset, halt)

	iret := disasm(t, code[:], iretStubOffset, 1)
	if iret[0].text != "iretq" {
		t.Fatalf("iret stub: %v", iret)
	}
	mark(iretStubOffset, iret)

	cr3 := disasm(t, code[:], cr3IretStubOffset, 4)
	for i, want := range []string{"pop %rax", "mov %rax,%cr3", "pop %rax", "iretq"} {
		if cr3[i].text != want {
			t.Fatalf("cr3+iret stub: %v", cr3)
		}
	}
	mark(cr3IretStubOffset, cr3)
	// Frame sizes: the iret stub pops 5 words, the cr3 stub 2 more.
	if iretFrameWords != 5 || cr3IretFrameWords != iretFrameWords+2 {
		t.Fatal("frame sizes")
	}

	// Everything else is int3 padding (including the 3 bytes after each
	// vector stub's jmp).
	for i, c := range covered {
		if !c && code[i] != opInt3 {
			t.Fatalf("offset %#x: stray byte %#x", i, code[i])
		}
	}
	// The stubs do not overlap.
	if numVectors*vectorStubSize > syscallStubOffset ||
		syscallStubOffset+len(syscallStub) > haltStubOffset ||
		haltStubOffset+len(haltStub) > iretStubOffset ||
		iretStubOffset+len(iretStub) > cr3IretStubOffset ||
		cr3IretStubOffset+len(cr3IretStub) > pageSize {
		t.Fatal("stubs overlap")
	}
}

func TestVectorOfStub(t *testing.T) {
	for _, c := range []struct {
		rip      uint64
		v        int
		afterOut bool
		ok       bool
	}{
		{vectorStubVA(0), 0, false, true},
		{vectorStubVA(14), 14, false, true},
		{vectorStubVA(14) + outLen, 14, true, true},
		{vectorStubVA(255), 255, false, true},
		{vectorStubVA(14) + 1, 0, false, false},
		{vectorStubVA(14) + 3, 0, false, false},
		{syscallStubVA, 0, false, false},
		{codeVA - 8, 0, false, false},
	} {
		v, after, ok := vectorOfStub(c.rip)
		if ok != c.ok || (ok && (v != c.v || after != c.afterOut)) {
			t.Errorf("vectorOfStub(%#x) = %d %v %v", c.rip, v, after, ok)
		}
	}
}

func TestLayout(t *testing.T) {
	if maxUserAddress != 0x7f8000000000 || maxUserAddress>>39 != kernelPML4Index {
		t.Fatal("maxUserAddress is not the start of PML4 entry 255")
	}
	if trampolineBase>>39 != kernelPML4Index || (trampolineBase>>30)&511 != 511 {
		t.Fatal("trampoline not in PML4 entry 255, PDPT entry 511")
	}
	if vcpuAreaVA(maxVCPUSlots-1)+vcpuAreaSize > 1<<47 {
		t.Fatal("vCPU areas overflow the lower half")
	}
	if vcpuPageVA(0, vcpuPages-1)+pageSize > vcpuAreaVA(1) {
		t.Fatal("a vCPU's pages overflow its area")
	}
	if tssOffset < gdtOffset+gdtEntries*8 || tssOffset+tssSize > pageSize {
		t.Fatal("GDT and TSS overlap or overflow their page")
	}
	if stackTop(3, stackRSP0)%16 != 0 {
		t.Fatal("stack tops not 16-byte aligned")
	}
}
