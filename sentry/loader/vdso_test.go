package loader

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/vdso"
)

func testVDSO(t *testing.T) *vdso.VDSO {
	t.Helper()
	mf, err := memfile.New(filepath.Join(t.TempDir(), "mem"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	v, err := vdso.New(mf, platform.HostVDSO{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVDSOMapped(t *testing.T) {
	file := baseELF()
	mem := newFakeMem()
	args := testArgs(file)
	args.VDSO = testVDSO(t)
	res := mustLoad(t, mem, args)
	st := checkStack(t, mem, args, res)

	// ARCH_DLINFO: AT_SYSINFO_EHDR first, then AT_MINSIGSTKSZ.
	if len(st.auxv) != numAuxv+1 || st.auxv[0][0] != AtSysinfoEHdr || st.auxv[1][0] != AtMinSigStkSz {
		t.Fatalf("auxv %v", st.auxv)
	}
	base := st.auxv[0][1]
	if base != res.SysinfoEHdr || base == 0 || base%arch.PageSize != 0 {
		t.Fatalf("AT_SYSINFO_EHDR %#x, Result %#x", base, res.SysinfoEHdr)
	}
	img, data := mem.find(base), mem.find(base-vdso.DataSize)
	if img == nil || img.start != base || img.end != base+vdso.ImageSize || img.opts.Name != "[vdso]" || img.opts.Object == nil ||
		img.opts.Perms != platform.Read|platform.Execute || img.opts.MaxPerms != allPerms || !img.opts.Private {
		t.Errorf("[vdso] mapping %+v", img)
	}
	if data == nil || data.end != base || data.opts.Name != "[vvar]" || data.opts.Object == nil ||
		data.opts.Perms != platform.Read || data.opts.MaxPerms != platform.Read {
		t.Errorf("[vvar] mapping %+v", data)
	}
	if data != nil && img != nil && data.opts.Object == img.opts.Object {
		t.Error("[vvar] and [vdso] map the same object")
	}
	// The stack is laid out for the extra entry.
	const top = testMaxAddr
	if want := ((top-8-10-4-2-5)&^15 - 7 - 16 - 21*16 - 6*8) &^ 15; res.StackPointer != uint64(want) {
		t.Errorf("sp %#x, want %#x", res.StackPointer, want)
	}
	if !bytes.HasPrefix(vdso.Image(), []byte("\x7fELF")) {
		t.Error("image")
	}
}

func TestVDSOMapFailure(t *testing.T) {
	file := baseELF()
	v := testVDSO(t)
	for n := 1; ; n++ {
		mem := newFakeMem()
		args := testArgs(file)
		args.VDSO = v
		mem.failMMap = n
		_, err := Load(mem, args)
		if err == nil {
			if n < 4 {
				t.Fatalf("Load succeeded with MMap call %d failing", n)
			}
			return
		}
		if len(mem.bugs) > 0 {
			t.Fatalf("bad requests: %q", mem.bugs)
		}
		if n > 100 {
			t.Fatal("Load keeps failing")
		}
	}
}

func TestVDSOHint(t *testing.T) {
	const max = 0x7f0000000000
	// No gap: wherever an unhinted mmap goes.
	if h := vdsoHint(max, max, 12345); h != 0 {
		t.Errorf("no gap: %#x", h)
	}
	if h := vdsoHint(max, max-vdso.BlockSize+arch.PageSize, 12345); h != 0 {
		t.Errorf("small gap: %#x", h)
	}
	// A gap of exactly the block: one place.
	for _, rnd := range []uint64{0, 1, 4096, ^uint64(0)} {
		if h := vdsoHint(max, max-vdso.BlockSize, rnd); h != max-vdso.BlockSize {
			t.Errorf("exact gap, rnd %#x: %#x", rnd, h)
		}
	}
	// A large gap: every place is page-aligned, in the gap, and several
	// are used.
	top := uint64(max - 16<<20)
	seen := map[uint64]bool{}
	for i := uint64(0); i < 2000; i++ {
		rnd := i * 7919 * arch.PageSize
		h := vdsoHint(max, top, rnd)
		if h%arch.PageSize != 0 || h < top || h+vdso.BlockSize > max {
			t.Fatalf("rnd %#x: hint %#x outside [%#x, %#x)", rnd, h, top, uint64(max))
		}
		seen[h] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d places", len(seen))
	}
}
