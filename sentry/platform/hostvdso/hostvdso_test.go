package hostvdso

import (
	"encoding/binary"
	"os"
	"testing"
)

func TestFindBlock(t *testing.T) {
	maps := []mapping{
		{0x400000, 0x401000, "/stub"},
		{0x7f0000000000, 0x7f0000004000, "[vvar]"},
		{0x7f0000004000, 0x7f0000006000, "[vvar_vclock]"},
		{0x7f0000006000, 0x7f0000008000, "[vdso]"},
		{0x7ffd00000000, 0x7ffd00021000, "[stack]"},
	}
	block, vdso, err := findBlock(maps)
	if err != nil || len(block) != 3 || block[0].name != "[vvar]" || vdso.name != "[vdso]" {
		t.Fatalf("findBlock: %v %v %v", block, vdso, err)
	}
	// Not contiguous: the data pages are not part of the block.
	maps[2].end = 0x7f0000005000
	if block, _, err := findBlock(maps); err != nil || len(block) != 1 {
		t.Errorf("gap below the vDSO: %v %v", block, err)
	}
	if _, _, err := findBlock(maps[:1]); err == nil {
		t.Error("no vDSO found one")
	}
	bad := []mapping{{0x1000, 0x2000, "[vdso]"}, {0x2000, 0x3000, "[vvar]"}}
	if _, _, err := findBlock(bad); err == nil {
		t.Error("data pages above the code accepted")
	}
}

// TestOwnVDSO reads this process's own maps and host vDSO: the layout
// Relocate expects from every stub.
func TestOwnVDSO(t *testing.T) {
	maps, err := readMaps(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	block, vdso, err := findBlock(maps)
	if err != nil {
		t.Skipf("host: %v", err)
	}
	if len(block) < 2 {
		t.Errorf("no data pages below the vDSO: %v", block)
	}
	auxv, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		t.Fatal(err)
	}
	var ehdr uint64
	for i := 0; i+16 <= len(auxv); i += 16 {
		if binary.LittleEndian.Uint64(auxv[i:]) == 33 { // AT_SYSINFO_EHDR
			ehdr = binary.LittleEndian.Uint64(auxv[i+8:])
		}
	}
	if ehdr != vdso.start {
		t.Fatalf("AT_SYSINFO_EHDR %#x, [vdso] at %#x", ehdr, vdso.start)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	img := make([]byte, vdso.end-vdso.start)
	if _, err := mem.ReadAt(img, int64(ehdr)); err != nil {
		t.Fatal(err)
	}
	o, err := Symbols(img)
	if err != nil {
		t.Fatal(err)
	}
	if o.ClockGettime == 0 || o.Gettimeofday == 0 || o.Time == 0 || o.ClockGetres == 0 {
		t.Errorf("symbols: %+v", o)
	}
	for _, off := range []uint64{o.ClockGettime, o.Gettimeofday, o.Time, o.ClockGetres} {
		if off >= vdso.end-vdso.start {
			t.Errorf("offset %#x outside the vDSO", off)
		}
	}
}
