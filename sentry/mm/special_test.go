package mm_test

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// Mappings of kernel objects (MMapOpts.Object): the vDSO's [vdso] and
// [vvar].
func TestObjectMapping(t *testing.T) {
	m, as, mf := newTestMM(t)
	obj := mm.NewSharedMemory()
	contents := pattern(pageSize, 7)
	if _, err := obj.WriteAt(mf, contents, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { obj.DecRef(mf) })
	rx, all := platform.Read|platform.Execute, platform.Read|platform.Write|platform.Execute
	opts := mm.MMapOpts{Addr: base, Fixed: true, Length: pageSize, Perms: rx, MaxPerms: all, Private: true, Object: obj, Name: "[vdso]"}

	shared := opts
	shared.Private = false
	_, err := m.MMap(shared)
	expectErr(t, "shared object mapping", err, unix.EINVAL)
	withFile := opts
	withFile.File = &fakeFile{data: contents}
	_, err = m.MMap(withFile)
	expectErr(t, "object mapping with a file", err, unix.EINVAL)

	mustMMap(t, m, opts)
	// Peek reads the object before anything is populated.
	got := make([]byte, 16)
	if n, err := m.Peek(base+8, got); err != nil || n != 16 || !bytes.Equal(got, contents[8:24]) {
		t.Errorf("Peek = %d %v %x", n, err, got)
	}
	expectFault(t, m, base, platform.Read, mm.FaultResult{})
	as.expectMapped(t, base, base+pageSize, rx)
	if b := mustCopyIn(t, m, base, pageSize); !bytes.Equal(b, contents) {
		t.Error("mapping does not show the object")
	}
	vmas := m.VMAs(false)
	if len(vmas) != 1 || vmas[0].Name != "[vdso]" || vmas[0].File != nil || !vmas[0].Private {
		t.Errorf("VMAs %+v", vmas)
	}

	// It never grows, in place or moving; it moves whole.
	_, err = m.Mremap(base, pageSize, 2*pageSize, 0, 0)
	expectErr(t, "growing in place", err, unix.EFAULT)
	_, err = m.Mremap(base, pageSize, 2*pageSize, mm.MremapMaymove, 0)
	expectErr(t, "growing by moving", err, unix.EFAULT)
	to := pg(base, 64)
	if got, err := m.Mremap(base, pageSize, pageSize, mm.MremapMaymove|mm.MremapFixed, to); err != nil || got != to {
		t.Fatalf("move: %#x %v", got, err)
	}
	if vmas := m.VMAs(false); len(vmas) != 1 || vmas[0].Start != to || vmas[0].Name != "[vdso]" {
		t.Errorf("after the move: %+v", vmas)
	}

	// Made writable, a write gets a private copy: the object (and so
	// every other process) keeps its contents.
	child := m.Fork(newFakeAS(t))
	t.Cleanup(child.Release)
	if err := m.Mprotect(to, pageSize, all, false); err != nil {
		t.Fatal(err)
	}
	expectFault(t, m, to, platform.Write, mm.FaultResult{})
	mustCopyOut(t, m, to, []byte("changed"))
	if b := mustCopyIn(t, m, to, 7); string(b) != "changed" {
		t.Errorf("write lost: %q", b)
	}
	objNow := make([]byte, pageSize)
	if _, err := obj.ReadAt(mf, objNow, 0); err != nil || !bytes.Equal(objNow, contents) {
		t.Error("a write reached the object")
	}
	if b := mustCopyIn(t, child, to, pageSize); !bytes.Equal(b, contents) {
		t.Error("the forked copy sees the parent's write")
	}

	// A read-only object mapping ([vvar]) can never become writable.
	ro := opts
	ro.Addr, ro.Perms, ro.MaxPerms, ro.Name = pg(base, 128), platform.Read, platform.Read, "[vvar]"
	mustMMap(t, m, ro)
	expectErr(t, "mprotect([vvar], write)", m.Mprotect(ro.Addr, pageSize, platform.Read|platform.Write, false), unix.EACCES)
	expectFault(t, m, ro.Addr, platform.Write, mm.FaultResult{Signo: int(unix.SIGSEGV), Code: mm.SegvAccErr})
}

// TestForkMapsObjectPagesAhead: a forked child starts with the vDSO pages
// its parent had mapped already mapped (a child's first clock_gettime
// would fault on both otherwise, each a platform round trip).
func TestForkMapsObjectPagesAhead(t *testing.T) {
	m, _, mf := newTestMM(t)
	obj := mm.NewSharedMemory()
	contents := pattern(2*pageSize, 5)
	if _, err := obj.WriteAt(mf, contents, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { obj.DecRef(mf) })
	rx := platform.Read | platform.Execute
	mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 2 * pageSize, Perms: rx, MaxPerms: rx, Private: true, Object: obj, Name: "[vdso]"})
	expectFault(t, m, base, platform.Read, mm.FaultResult{})
	childAS := newFakeAS(t)
	child := m.Fork(childAS)
	defer child.DecUsers()
	childAS.expectMapped(t, base, pg(base, 2), rx)
	if b := mustCopyIn(t, child, base, 2*pageSize); !bytes.Equal(b, contents) {
		t.Error("the child's mapping does not show the object")
	}
}
