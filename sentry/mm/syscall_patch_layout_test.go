package mm

import (
	"encoding/binary"
	"testing"
)

// TestTrapSlotsTrap checks the table's layout: for every slot a site may
// jump through, each byte of the jump that lands where an instruction of
// the old code started is an invalid instruction.
func TestTrapSlotsTrap(t *testing.T) {
	check := func(slot uint64, stops []int) {
		var jump [8]byte
		jump[0], jump[1], jump[2] = 0xff, 0x24, 0x25
		binary.LittleEndian.PutUint32(jump[3:], uint32(slot))
		for _, at := range stops {
			if !invalidOpcode(jump[at]) {
				t.Fatalf("jump through %#x has %#x at offset %d", slot, jump[at], at)
			}
		}
	}
	for i := 1; i < trapEntries; i++ {
		check(trapTableAddr+uint64(i)*trapEntrySize, []int{5})
	}
	for _, b := range raxBlockList {
		for _, f := range siteForms {
			var stops []int
			for _, at := range f.stops {
				if at < 7 {
					stops = append(stops, at)
				}
			}
			check(trapTableAddr+uint64(b)*raxBlockSize+raxSlotOffset, stops)
		}
	}
	if len(raxBlockList) < 8 {
		t.Errorf("only %d blocks for run-time-number sites", len(raxBlockList))
	}
	if trapTableAddr+trapTableSize > 1<<31 {
		t.Fatal("the table is out of reach of jmp *abs32")
	}
	for _, f := range siteForms {
		if len(f.code) < f.patchLen || f.patchLen < 7 || f.code[len(f.code)-2] != 0x0f || f.code[len(f.code)-1] != 0x05 {
			t.Errorf("form %s: bad shape", f.name)
		}
		if f.stops[len(f.stops)-1] != f.patchLen-2 {
			t.Errorf("form %s: the last stop is not the syscall", f.name)
		}
		// The jump alone must say what a SIGILL at each stop means.
		for i, at := range f.stops {
			call, ok := stopCall[uint64(at)]
			if !ok || call != (i == len(f.stops)-1) {
				t.Errorf("form %s: stop %d is %v/%v in stopCall", f.name, at, call, ok)
			}
		}
		if f.prologue == nil && len(f.code)-f.patchLen < 0 {
			t.Errorf("form %s: nothing to replay", f.name)
		}
	}
}

// TestPatchWritesKeepInstructions replays the writes of every form's patch
// and checks, after each, that every instruction start of the site holds
// its old instruction whole or an invalid opcode: a thread running the
// site meanwhile never executes a mix.
func TestPatchWritesKeepInstructions(t *testing.T) {
	type shape struct {
		name  string
		orig  []byte
		stops []int
		slots []uint64
	}
	shapes := []shape{{"mov $nr,%eax; syscall", []byte{0xb8, 39, 0, 0, 0, 0x0f, 0x05}, []int{5}, []uint64{trapTableAddr + trapEntrySize}}}
	var raxSlots []uint64
	for _, b := range raxBlockList {
		raxSlots = append(raxSlots, trapTableAddr+uint64(b)*raxBlockSize+raxSlotOffset)
	}
	for _, f := range siteForms {
		shapes = append(shapes, shape{f.name, f.code[len(f.code)-f.patchLen:], f.stops, raxSlots})
	}
	for _, sh := range shapes {
		for _, slot := range sh.slots {
			n := len(sh.orig)
			jump := append([]byte(nil), sh.orig...)
			jump[0], jump[1], jump[2] = 0xff, 0x24, 0x25
			binary.LittleEndian.PutUint32(jump[3:], uint32(slot))
			for i := 7; i < n-1; i++ {
				jump[i] = 0x06
			}
			starts := append([]int{0}, sh.stops...)
			end := func(i int) int {
				if i+1 < len(starts) {
					return starts[i+1]
				}
				return n
			}
			mem := append([]byte(nil), sh.orig...)
			for step, w := range patchWrites(jump, sh.stops) {
				copy(mem[w.at:], w.b)
				for i, at := range starts {
					whole := string(mem[at:end(i)]) == string(sh.orig[at:end(i)])
					if !whole && !invalidOpcode(mem[at]) && !(step == len(sh.stops)+2 && at == 0) {
						t.Errorf("%s, slot %#x: after write %d the instruction at +%d is % x", sh.name, slot, step, at, mem[at:end(i)])
					}
				}
			}
			if string(mem) != string(jump) {
				t.Errorf("%s: the writes leave % x, want % x", sh.name, mem, jump)
			}
		}
	}
}
