package kvm

import (
	"encoding/binary"
	"testing"
)

func TestGDTDescriptors(t *testing.T) {
	const tssBase = 0x7fffc0010080
	g := buildGDT(tssBase)
	for _, c := range []struct {
		sel  uint16
		dpl  uint8
		code bool
	}{
		{kernelCS, 0, true},
		{kernelSS, 0, false},
		{userSS, 3, false},
		{userCS, 3, true},
	} {
		d := decodeDescriptor(g[c.sel>>3])
		if d.base != 0 || d.limit != 0xfffff || !d.gran || !d.present || !d.s || d.dpl != c.dpl {
			t.Errorf("selector %#x: %+v", c.sel, d)
		}
		if d.typ&1 == 0 {
			t.Errorf("selector %#x: accessed bit clear: the CPU would write the GDT", c.sel)
		}
		if c.code {
			// Execute/read code, 64-bit (L=1, D=0: SDM 3.4.5).
			if d.typ != 0xb || !d.long || d.db {
				t.Errorf("code selector %#x: type %#x L %v D %v", c.sel, d.typ, d.long, d.db)
			}
		} else if d.typ != 0x3 || d.long {
			t.Errorf("data selector %#x: type %#x L %v", c.sel, d.typ, d.long)
		}
	}
	// Null entries: 0, 0x08, 0x20 (no 32-bit user code), 0x38.
	for _, i := range []int{0, 1, 4, 7} {
		if g[i] != 0 {
			t.Errorf("GDT[%d] = %#x, want null", i, g[i])
		}
	}
	// The TSS descriptor: 16 bytes, type busy 64-bit TSS, S=0, DPL 0.
	d := decodeDescriptor(g[tssSel>>3])
	base := d.base | g[tssSel>>3+1]<<32
	if base != tssBase || d.limit != tssLimit || d.typ != 0xb || d.s || d.dpl != 0 || !d.present || d.gran {
		t.Errorf("TSS descriptor %+v base %#x", d, base)
	}
	if gdtLimit != 8*gdtEntries-1 || tssSel>>3+1 >= gdtEntries {
		t.Error("GDT limit does not cover the TSS descriptor")
	}
	// Linux's encodings of the same descriptors.
	for sel, want := range map[uint16]uint64{
		kernelCS: 0x00af9b000000ffff,
		kernelSS: 0x00cf93000000ffff,
		userSS:   0x00cff3000000ffff,
		userCS:   0x00affb000000ffff,
	} {
		if g[sel>>3] != want {
			t.Errorf("GDT[%#x] = %#x, Linux has %#x", sel, g[sel>>3], want)
		}
	}
}

// TestSTAR checks SYSCALL's and SYSRET's selector arithmetic (SDM Vol. 2B
// "SYSCALL", "SYSRET") against the GDT.
func TestSTAR(t *testing.T) {
	g := buildGDT(0)
	star := uint64(starValue)
	syscallCS := uint16(star>>32) & 0xfffc
	syscallSS := uint16(star>>32) + 8
	sysretCS := (uint16(star>>48) + 16) | 3
	sysretSS := (uint16(star>>48) + 8) | 3
	if syscallCS != kernelCS || syscallSS != kernelSS || sysretCS != userCS || sysretSS != userSS {
		t.Fatalf("STAR %#x gives syscall %#x/%#x, sysret %#x/%#x", starValue, syscallCS, syscallSS, sysretCS, sysretSS)
	}
	// IRET reads the descriptors SYSRET does not: they must agree with
	// SYSRET's fixed attributes (64-bit DPL 3 code, writable DPL 3 data).
	if d := decodeDescriptor(g[sysretCS>>3]); !d.long || d.dpl != 3 || d.typ&0x8 == 0 {
		t.Errorf("sysret CS descriptor %+v", d)
	}
	if d := decodeDescriptor(g[sysretSS>>3]); d.dpl != 3 || d.typ&0xa != 0x2 {
		t.Errorf("sysret SS descriptor %+v", d)
	}
	if d := decodeDescriptor(g[syscallCS>>3]); !d.long || d.dpl != 0 || d.typ&0x8 == 0 {
		t.Errorf("syscall CS descriptor %+v", d)
	}
	if d := decodeDescriptor(g[syscallSS>>3]); d.dpl != 0 || d.typ&0xa != 0x2 {
		t.Errorf("syscall SS descriptor %+v", d)
	}
	for _, f := range []uint64{rflagsTF, rflagsIF, rflagsDF, rflagsIOPL, rflagsNT, rflagsAC} {
		if sfmaskValue&f != f {
			t.Errorf("SFMASK %#x lacks %#x", uint64(sfmaskValue), f)
		}
	}
	if sfmaskValue != 0x47700 {
		t.Errorf("SFMASK %#x, Linux uses 0x47700", uint64(sfmaskValue))
	}
}

func TestSegmentRegisters(t *testing.T) {
	for _, c := range []struct {
		name string
		seg  kvmSegment
		want kvmSegment
	}{
		{"kernel CS", segKernelCode, kvmSegment{Limit: 0xffffffff, Selector: kernelCS, Type: 0xb, Present: 1, S: 1, L: 1, G: 1}},
		{"kernel SS", segKernelData, kvmSegment{Limit: 0xffffffff, Selector: kernelSS, Type: 0x3, Present: 1, S: 1, DB: 1, G: 1}},
		{"user CS", segUserCode, kvmSegment{Limit: 0xffffffff, Selector: userCS, Type: 0xb, Present: 1, DPL: 3, S: 1, L: 1, G: 1}},
		{"user SS", segUserData, kvmSegment{Limit: 0xffffffff, Selector: userSS, Type: 0x3, Present: 1, DPL: 3, S: 1, DB: 1, G: 1}},
		{"TR", trSegment(0x1234), kvmSegment{Base: 0x1234, Limit: 103, Selector: tssSel, Type: 0xb, Present: 1}},
		{"null FS", userDataSegment(0, 0x5000), kvmSegment{Base: 0x5000, Unusable: 1}},
		{"user DS", userDataSegment(userSS, 0), segUserData},
		{"bad selector", userDataSegment(kernelSS, 7), kvmSegment{Base: 7, Unusable: 1}},
	} {
		if c.seg != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, c.seg, c.want)
		}
	}
}

func TestTSS(t *testing.T) {
	tss := buildTSS(0x1000, [7]uint64{0x2000, 0x3000, 0x4000})
	le := binary.LittleEndian
	if le.Uint64(tss[4:]) != 0x1000 {
		t.Error("RSP0 not at offset 4")
	}
	for i, want := range []uint64{0x2000, 0x3000, 0x4000, 0, 0, 0, 0} {
		if got := le.Uint64(tss[36+8*i:]); got != want {
			t.Errorf("IST%d = %#x, want %#x", i+1, got, want)
		}
	}
	if iomap := le.Uint16(tss[102:]); iomap <= tssLimit {
		t.Errorf("I/O map base %d within the TSS limit %d: user I/O would consult a bitmap", iomap, tssLimit)
	}
}

func TestIDT(t *testing.T) {
	idt := buildIDT()
	for v := 0; v < numVectors; v++ {
		g := decodeGate(idt[16*v : 16*v+16])
		if g.offset != vectorStubVA(v) || g.selector != kernelCS || g.typ != gateTypeInterrupt || !g.present {
			t.Fatalf("vector %d: %+v", v, g)
		}
		wantIST := map[int]uint8{vectorDF: 1, vectorNMI: 2, vectorMC: 3}[v]
		if g.ist != wantIST {
			t.Errorf("vector %d: IST %d, want %d", v, g.ist, wantIST)
		}
		wantDPL := uint8(0)
		if v == vectorBP || v == vectorOF {
			wantDPL = 3
		}
		if g.dpl != wantDPL {
			t.Errorf("vector %d: DPL %d, want %d", v, g.dpl, wantDPL)
		}
		for _, b := range idt[16*v+12 : 16*v+16] {
			if b != 0 {
				t.Fatalf("vector %d: reserved bytes set", v)
			}
		}
	}
}

// TestVCPUArea checks the GDT and TSS a vCPU's area gets, as the CPU reads
// them: from guest physical memory through the area's mapping.
func TestVCPUArea(t *testing.T) {
	mf := newTestMemfile(t, 1<<30)
	m := newTestMachine(t, mf, true)
	v, err := m.pool.acquire(nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := m.pool.acquire(nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	w := mmu{t, mf}
	for _, v := range []*vCPU{v, v2} {
		var s kvmSregs
		m.initialSregs(&s, v.id)
		gdtPhys := w.walk(m.idleRoot, s.GDT.Base).phys
		read := func(phys uint64, n int) []byte {
			off := phys - physBase
			return mf.Slice(memfileRange(off, uint64(n)))
		}
		gdt := read(gdtPhys, gdtEntries*8)
		want := buildGDT(s.TR.Base)
		for i := range want {
			if got := binary.LittleEndian.Uint64(gdt[8*i:]); got != want[i] {
				t.Errorf("vCPU %d GDT[%d] = %#x, want %#x", v.id, i, got, want[i])
			}
		}
		tss := read(w.walk(m.idleRoot, s.TR.Base).phys, tssSize)
		le := binary.LittleEndian
		if rsp0 := le.Uint64(tss[4:]); rsp0 != stackTop(v.id, stackRSP0) || !w.walk(m.idleRoot, rsp0-8).write {
			t.Errorf("vCPU %d RSP0 %#x", v.id, rsp0)
		}
		for i, k := range []int{stackIST1, stackIST2, stackIST3} {
			ist := le.Uint64(tss[36+8*i:])
			if ist != stackTop(v.id, k) || !w.walk(m.idleRoot, ist-8).write || ist%16 != 0 {
				t.Errorf("vCPU %d IST%d %#x", v.id, i+1, ist)
			}
			// The page above each stack top is a guard.
			if w.walk(m.idleRoot, ist).present {
				t.Errorf("vCPU %d IST%d top %#x is followed by a mapped page", v.id, i+1, ist)
			}
		}
		if s.IDT.Base != idtVA || s.IDT.Limit != idtLimit || s.GDT.Limit != gdtLimit {
			t.Errorf("descriptor tables %+v %+v", s.GDT, s.IDT)
		}
		if s.CR0 != 0x80050033 || s.EFER != eferSCE|eferLME|eferLMA|eferNXE || s.CR4&cr4PAE == 0 {
			t.Errorf("control registers cr0 %#x cr4 %#x efer %#x", s.CR0, s.CR4, s.EFER)
		}
		if s.CS != segKernelCode || s.SS != segKernelData || s.TR != trSegment(vcpuPageVA(v.id, 0)+tssOffset) {
			t.Errorf("segments %+v %+v", s.CS, s.SS)
		}
	}
	if v.area.Start == v2.area.Start {
		t.Fatal("vCPUs share their area")
	}
}
