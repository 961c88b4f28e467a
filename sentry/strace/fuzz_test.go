package strace

import (
	"math/rand/v2"
	"testing"
)

// randMem is a Memory whose reads fail, come up short or return random
// bytes, chosen by a seeded generator.
type randMem struct {
	r *rand.Rand
}

func (m *randMem) CopyIn(addr uint64, dst []byte) (int, error) {
	switch m.r.IntN(4) {
	case 0:
		return 0, errFault
	case 1:
		n := 0
		if len(dst) > 0 {
			n = m.r.IntN(len(dst) + 1)
		}
		m.fill(dst[:n])
		return n, errFault
	case 2:
		// A misbehaving implementation reporting an impossible count.
		m.fill(dst)
		return len(dst) + 1 + m.r.IntN(8), nil
	}
	m.fill(dst)
	return len(dst), nil
}

func (m *randMem) fill(b []byte) {
	for i := range b {
		switch m.r.IntN(4) {
		case 0:
			b[i] = 0
		case 1:
			b[i] = byte(m.r.IntN(256))
		default:
			b[i] = byte(m.r.IntN(32))
		}
	}
}

func (m *randMem) CopyInString(addr uint64, maxLen int) (string, error) {
	if m.r.IntN(3) == 0 {
		return "", errFault
	}
	n := m.r.IntN(maxLen + 16) // sometimes longer than asked
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(m.r.IntN(256))
	}
	return string(b), nil
}

func FuzzFormat(f *testing.F) {
	f.Add(uint64(0), uint64(3), uint64(0x1000), uint64(4096), uint64(0), uint64(0), uint64(0), uint64(6), uint64(1))
	f.Add(uint64(257), uint64(0xffffffffffffff9c), uint64(0x1000), uint64(0x80241), uint64(0644), uint64(0), uint64(0), uint64(3), uint64(2))
	f.Add(uint64(217), uint64(3), uint64(0x1000), uint64(32768), uint64(0), uint64(0), uint64(0), uint64(1<<20), uint64(3))
	f.Add(uint64(59), uint64(0x1000), uint64(0x2000), uint64(0x3000), uint64(0), uint64(0), uint64(0), uint64(0), uint64(4))
	f.Add(uint64(20), uint64(1), uint64(0x1000), ^uint64(0), uint64(0), uint64(0), uint64(0), uint64(1<<62), uint64(5))
	f.Add(uint64(13), uint64(2), uint64(0x1000), uint64(0x2000), uint64(8), uint64(0), uint64(0), ^uint64(0)-1, uint64(6))
	f.Add(^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), uint64(7))
	for n := uint64(0); n < uint64(len(table)); n++ {
		f.Add(n, uint64(0x1000), uint64(0x2000), uint64(64), uint64(0x3000), uint64(16), uint64(0x4000), uint64(32), n)
	}
	f.Fuzz(func(t *testing.T, nr, a0, a1, a2, a3, a4, a5, ret, seed uint64) {
		mem := &randMem{r: rand.New(rand.NewPCG(seed, nr))}
		args := [6]uint64{a0, a1, a2, a3, a4, a5}
		if s := Entry(mem, nr, args); s == "" {
			t.Fatal("empty Entry")
		}
		if s := Exit(mem, nr, args, ret); s == "" {
			t.Fatal("empty Exit")
		}
		// The same call with every table kind in every slot.
		if nr < uint64(len(table)) {
			for k := argKind(0); k <= aOmit; k++ {
				info := sysInfo{name: "x", argc: 6}
				for i := range info.args {
					info.args[i] = (k + argKind(i)) % (aOmit + 1)
				}
				for _, ph := range []phase{atEntry, atExitOK, atExitErr, atExitHex} {
					p := printer{mem: mem}
					p.call(info, &args, ph, ret)
				}
			}
		}
	})
}
