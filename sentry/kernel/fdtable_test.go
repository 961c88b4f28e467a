package kernel_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// countingImpl is a vfs.FileImpl that counts Close calls.
type countingImpl struct{ closed int }

func (*countingImpl) ReadAt([]byte, int64) (int, error)  { return 0, nil }
func (*countingImpl) WriteAt([]byte, int64) (int, error) { return 0, nil }
func (*countingImpl) Stat() (unix.Stat_t, error)         { return unix.Stat_t{}, nil }
func (c *countingImpl) Close() error                     { c.closed++; return nil }

// newFile returns a file whose only reference belongs to the table once
// installed: the caller's reference from NewFile is dropped by install.
func newFile() (*vfs.File, *countingImpl) {
	impl := &countingImpl{}
	return vfs.NewFile(impl, nil, unix.O_RDONLY), impl
}

const noLimit = 1 << 20

// install puts a fresh file at the lowest free descriptor >= min and drops
// the creator's reference, as the open path does.
func install(t *testing.T, tab *kernel.FDTable, min int32, cloexec bool) (int32, *vfs.File, *countingImpl) {
	t.Helper()
	f, impl := newFile()
	fd, err := tab.NewFD(f, min, cloexec, noLimit)
	if err != nil {
		t.Fatalf("NewFD(min %d): %v", min, err)
	}
	f.DecRef()
	return fd, f, impl
}

func TestNewFDLowestFree(t *testing.T) {
	tab := kernel.NewFDTable()
	for want := int32(0); want < 3; want++ {
		if fd, _, _ := install(t, tab, 0, false); fd != want {
			t.Errorf("NewFD = %d, want %d", fd, want)
		}
	}
	if err := tab.Remove(1); err != nil {
		t.Fatal(err)
	}
	if fd, _, _ := install(t, tab, 0, false); fd != 1 {
		t.Errorf("NewFD after closing 1 = %d, want 1", fd)
	}
	// F_DUPFD-style minimum.
	if fd, _, _ := install(t, tab, 10, false); fd != 10 {
		t.Errorf("NewFD(min 10) = %d, want 10", fd)
	}
	if fd, _, _ := install(t, tab, 10, false); fd != 11 {
		t.Errorf("NewFD(min 10) again = %d, want 11", fd)
	}
	if fd, _, _ := install(t, tab, 0, false); fd != 3 {
		t.Errorf("NewFD(min 0) = %d, want 3: the gap below 10", fd)
	}
	if fd, _, _ := install(t, tab, 2, false); fd != 4 {
		t.Errorf("NewFD(min 2) = %d, want 4", fd)
	}
}

func TestNewFDLimit(t *testing.T) {
	tab := kernel.NewFDTable()
	f, impl := newFile()
	for i := range 3 {
		if _, err := tab.NewFD(f, 0, false, 3); err != nil {
			t.Fatalf("NewFD %d: %v", i, err)
		}
	}
	if fd, err := tab.NewFD(f, 0, false, 3); err != unix.EMFILE {
		t.Errorf("NewFD with 3 of 3 in use = %d, %v; want EMFILE", fd, err)
	}
	if fd, err := tab.NewFD(f, 5, false, 3); err != unix.EMFILE {
		t.Errorf("NewFD with min past the limit = %d, %v; want EMFILE", fd, err)
	}
	// A failed NewFD takes no reference: closing the three descriptors
	// and the caller's reference closes the file.
	tab.Release()
	if impl.closed != 0 {
		t.Fatalf("closed while the caller still holds it")
	}
	f.DecRef()
	if impl.closed != 1 {
		t.Errorf("closed %d times, want 1", impl.closed)
	}
	if err := tab.Remove(0); err != unix.EBADF {
		t.Errorf("Remove after Release: %v, want EBADF", err)
	}
}

func TestFDReferences(t *testing.T) {
	tab := kernel.NewFDTable()
	fd, f, impl := install(t, tab, 0, false)
	// Two descriptors for one description (dup).
	fd2, err := tab.NewFD(f, 0, false, noLimit)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := tab.Get(fd2)
	if !ok || got != f {
		t.Fatalf("Get(%d) = %v, %v", fd2, got, ok)
	}
	got.DecRef()
	if err := tab.Remove(fd); err != nil {
		t.Fatal(err)
	}
	if impl.closed != 0 {
		t.Fatalf("closing one of two descriptors closed the file")
	}
	// A reference from Get keeps the file open past the last close.
	held, _ := tab.Get(fd2)
	if err := tab.Remove(fd2); err != nil {
		t.Fatal(err)
	}
	if impl.closed != 0 {
		t.Fatalf("closed while a Get reference is held")
	}
	held.DecRef()
	if impl.closed != 1 {
		t.Errorf("closed %d times, want 1", impl.closed)
	}
	for _, bad := range []int32{-1, fd, fd2, 1000} {
		if _, ok := tab.Get(bad); ok {
			t.Errorf("Get(%d) found a file", bad)
		}
		if err := tab.Remove(bad); err != unix.EBADF {
			t.Errorf("Remove(%d): %v, want EBADF", bad, err)
		}
	}
}

func TestSetFD(t *testing.T) {
	tab := kernel.NewFDTable()
	fd, _, impl := install(t, tab, 0, false)
	g, gImpl := newFile()

	// Onto a free descriptor far up: the table grows.
	if err := tab.SetFD(100, g, true, noLimit); err != nil {
		t.Fatal(err)
	}
	if cloexec, ok := tab.GetFlags(100); !ok || !cloexec {
		t.Errorf("GetFlags(100) = %v, %v; want cloexec", cloexec, ok)
	}
	// Replacing closes the old file (its last reference).
	if err := tab.SetFD(fd, g, false, noLimit); err != nil {
		t.Fatal(err)
	}
	if impl.closed != 1 {
		t.Errorf("replaced file closed %d times, want 1", impl.closed)
	}
	if got, _ := tab.Get(fd); got != g {
		t.Errorf("Get(%d) after SetFD is not the new file", fd)
	} else {
		got.DecRef()
	}
	if cloexec, _ := tab.GetFlags(fd); cloexec {
		t.Errorf("SetFD without cloexec left cloexec set")
	}
	// Onto itself (dup2(fd, fd) reaching the table): nothing closes.
	if err := tab.SetFD(fd, g, false, noLimit); err != nil {
		t.Fatal(err)
	}
	g.DecRef() // the creator's reference
	if gImpl.closed != 0 {
		t.Fatalf("file closed while installed twice")
	}
	for _, bad := range []int32{-1, noLimit, noLimit + 1} {
		if err := tab.SetFD(bad, g, false, noLimit); err != unix.EBADF {
			t.Errorf("SetFD(%d): %v, want EBADF", bad, err)
		}
	}
	tab.Release()
	if gImpl.closed != 1 {
		t.Errorf("after Release the file closed %d times, want 1", gImpl.closed)
	}
}

func TestFDFlags(t *testing.T) {
	tab := kernel.NewFDTable()
	fd, _, _ := install(t, tab, 0, true)
	if cloexec, ok := tab.GetFlags(fd); !ok || !cloexec {
		t.Errorf("GetFlags = %v, %v; want true, true", cloexec, ok)
	}
	if !tab.SetFlags(fd, false) {
		t.Fatal("SetFlags failed")
	}
	if cloexec, _ := tab.GetFlags(fd); cloexec {
		t.Errorf("cloexec still set")
	}
	for _, bad := range []int32{-1, fd + 1, 1000} {
		if _, ok := tab.GetFlags(bad); ok {
			t.Errorf("GetFlags(%d) ok", bad)
		}
		if tab.SetFlags(bad, true) {
			t.Errorf("SetFlags(%d) ok", bad)
		}
	}
	// A freed slot has no flags.
	if err := tab.Remove(fd); err != nil {
		t.Fatal(err)
	}
	if _, ok := tab.GetFlags(fd); ok {
		t.Errorf("GetFlags of a closed descriptor ok")
	}
	// A new file in the slot does not inherit the old cloexec.
	fd2, _, _ := install(t, tab, 0, false)
	if cloexec, _ := tab.GetFlags(fd2); fd2 != fd || cloexec {
		t.Errorf("reused slot %d has cloexec %v", fd2, cloexec)
	}
}

func TestRemoveRange(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, last uint32
		onlyCloexec bool
		wantOpen    []bool // for descriptors 0..7
		wantCloexec []bool
	}{
		{"middle", 2, 4, false, []bool{true, true, false, false, false, true, true, true}, nil},
		{"to the end", 5, ^uint32(0), false, []bool{true, true, true, true, true, false, false, false}, nil},
		{"one", 3, 3, false, []bool{true, true, true, false, true, true, true, true}, nil},
		{"past the table", 100, 200, false, []bool{true, true, true, true, true, true, true, true}, nil},
		{"first after last", 5, 2, false, []bool{true, true, true, true, true, true, true, true}, nil},
		{"cloexec only", 2, 4, true, []bool{true, true, true, true, true, true, true, true},
			[]bool{false, true, true, true, true, true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := kernel.NewFDTable()
			var impls []*countingImpl
			for i := range 8 {
				_, _, impl := install(t, tab, 0, i%2 == 1) // odd descriptors cloexec
				impls = append(impls, impl)
			}
			tab.RemoveRange(tc.first, tc.last, tc.onlyCloexec)
			for fd, want := range tc.wantOpen {
				cloexec, open := tab.GetFlags(int32(fd))
				if open != want {
					t.Errorf("fd %d open = %v, want %v", fd, open, want)
				}
				if closed := impls[fd].closed == 1; closed == want {
					t.Errorf("fd %d file closed = %v", fd, closed)
				}
				if tc.wantCloexec != nil && cloexec != tc.wantCloexec[fd] {
					t.Errorf("fd %d cloexec = %v, want %v", fd, cloexec, tc.wantCloexec[fd])
				}
			}
		})
	}
}

func TestRemoveCloexec(t *testing.T) {
	tab := kernel.NewFDTable()
	var impls []*countingImpl
	for i := range 6 {
		_, _, impl := install(t, tab, 0, i%3 == 0)
		impls = append(impls, impl)
	}
	tab.RemoveCloexec()
	for fd, impl := range impls {
		wantOpen := fd%3 != 0
		if _, open := tab.GetFlags(int32(fd)); open != wantOpen {
			t.Errorf("fd %d open = %v, want %v", fd, open, wantOpen)
		}
		if (impl.closed == 1) == wantOpen {
			t.Errorf("fd %d closed %d times", fd, impl.closed)
		}
	}
	// The freed numbers are reused lowest first.
	if fd, _, _ := install(t, tab, 0, false); fd != 0 {
		t.Errorf("NewFD after exec = %d, want 0", fd)
	}
}

func TestFDTableForkAndRefs(t *testing.T) {
	tab := kernel.NewFDTable()
	fd, _, impl := install(t, tab, 0, true)
	child := tab.Fork()
	if cloexec, ok := child.GetFlags(fd); !ok || !cloexec {
		t.Errorf("child GetFlags = %v, %v; want the parent's descriptor and flag", cloexec, ok)
	}
	// Closing in the parent leaves the child's copy open.
	if err := tab.Remove(fd); err != nil {
		t.Fatal(err)
	}
	if impl.closed != 0 {
		t.Fatalf("closed while the child still has it")
	}
	// A shared table (CLONE_FILES) closes its files with the last
	// reference only.
	child.IncRef()
	child.DecRef()
	if impl.closed != 0 {
		t.Fatalf("closed while a reference to the table is left")
	}
	child.DecRef()
	if impl.closed != 1 {
		t.Errorf("closed %d times after the table's last reference, want 1", impl.closed)
	}
}

func TestDefaultLimits(t *testing.T) {
	l := kernel.DefaultLimits()
	for i, lim := range l {
		if lim.Cur > lim.Max {
			t.Errorf("limit %d: soft %d above hard %d", i, lim.Cur, lim.Max)
		}
	}
	nofile := l[unix.RLIMIT_NOFILE]
	// Finite (so EMFILE can happen), at least the traditional 1024, and
	// within Linux's fs.nr_open default.
	if nofile.Cur == kernel.Infinity || nofile.Cur < 1024 || nofile.Max > 1<<20 {
		t.Errorf("RLIMIT_NOFILE = %+v", nofile)
	}
	if l[unix.RLIMIT_STACK].Cur != 8<<20 {
		t.Errorf("RLIMIT_STACK soft = %d, want 8 MiB", l[unix.RLIMIT_STACK].Cur)
	}
	if l[unix.RLIMIT_CORE].Cur != 0 {
		t.Errorf("RLIMIT_CORE soft = %d, want 0", l[unix.RLIMIT_CORE].Cur)
	}
	for _, r := range []int{unix.RLIMIT_AS, unix.RLIMIT_DATA, unix.RLIMIT_FSIZE, unix.RLIMIT_CPU} {
		if l[r].Cur != kernel.Infinity {
			t.Errorf("limit %d soft = %d, want unlimited", r, l[r].Cur)
		}
	}
	if len(l) != unix.RLIMIT_RTTIME+1 {
		t.Errorf("%d limits, want %d", len(l), unix.RLIMIT_RTTIME+1)
	}
}
