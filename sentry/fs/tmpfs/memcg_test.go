package tmpfs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// useAccount makes acct the account of every caller (the kernel would
// give each task its container's) for the rest of the test.
func useAccount(t *testing.T, acct mm.Account) {
	t.Helper()
	mm.SetCallerAccount(func() mm.Account { return acct })
	t.Cleanup(func() { mm.SetCallerAccount(func() mm.Account { return mm.Account{} }) })
}

func expectCharged(t *testing.T, what string, c *mm.MemCgroup, pages int) {
	t.Helper()
	if got := c.Usage(); got != uint64(pages)*pageSize {
		t.Errorf("%s: charged %d pages, want %d", what, got/pageSize, pages)
	}
}

// The pages a file's write(2) and fallocate(2) allocate are charged to the
// writer's memory account, and uncharged when truncation, a punched hole
// or the release of an unlinked file frees them.
func TestMemcgChargesFileData(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	c := mm.NewMemCgroup()
	useAccount(t, mm.Account{Memcg: c})
	d := root(fs)
	in, f := create(t, fs.Root(), "f")

	write(t, f, pattern(4*pageSize, 1), 0)
	expectCharged(t, "after writing 4 pages", c, 4)
	write(t, f, pattern(2*pageSize, 2), pageSize)
	expectCharged(t, "after overwriting", c, 4)
	write(t, f, []byte("x"), 6*pageSize)
	expectCharged(t, "after writing past a hole", c, 5)

	al := f.(vfs.Allocator)
	if err := al.Allocate(0, 4*pageSize, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	expectCharged(t, "after fallocate", c, 7)
	if err := al.Allocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	expectCharged(t, "after punching 2 pages", c, 5)
	if err := f.(vfs.Truncater).Truncate(5 * pageSize); err != nil {
		t.Fatal(err)
	}
	expectCharged(t, "after truncating to 5 pages", c, 3)

	// Unlinked while open: the data stays charged until the last close.
	f2, err := in.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlink("f"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	expectCharged(t, "unlinked, still open", c, 3)
	f2.Close()
	expectCharged(t, "after the last close", c, 0)

	// A name keeps the data charged with no file open.
	_, g := create(t, fs.Root(), "g")
	write(t, g, pattern(2*pageSize, 3), 0)
	g.Close()
	expectCharged(t, "closed, still named", c, 2)
	if err := d.Unlink("g"); err != nil {
		t.Fatal(err)
	}
	expectCharged(t, "after unlinking the closed file", c, 0)
}

// A write or fallocate whose pages do not fit under the limit runs the
// account's OOM path without the file's locks, retries while it makes
// room, and fails with ENOMEM, writing nothing, when it cannot.
func TestMemcgLimit(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	c := mm.NewMemCgroup()
	c.SetLimit(4 * pageSize)
	d := root(fs)
	_, big := create(t, fs.Root(), "big")
	in, f := create(t, fs.Root(), "f")
	defer f.Close()
	var ooms int
	// The OOM path frees memory once: another "process" gives back
	// its file (taking the file's locks, which the caller must not
	// hold), then there is nothing left to kill.
	useAccount(t, mm.Account{Memcg: c, OOM: func(pages int64) bool {
		ooms++
		if ooms > 1 {
			return false
		}
		if err := f.(vfs.Truncater).Truncate(0); err != nil {
			t.Error(err)
		}
		big.Close()
		if err := d.Unlink("big"); err != nil {
			t.Error(err)
		}
		return true
	}})
	write(t, big, pattern(3*pageSize, 1), 0)
	write(t, f, []byte("a"), 0)
	expectCharged(t, "at the limit", c, 4)

	if n, err := f.WriteAt(pattern(2*pageSize, 2), pageSize); err != nil || n != 2*pageSize {
		t.Fatalf("write after the OOM path made room = %d, %v", n, err)
	}
	if ooms != 1 {
		t.Errorf("OOM path ran %d times, want 1", ooms)
	}
	expectCharged(t, "after the retried write", c, 2)
	if c.Over() || c.Peak() > 4*pageSize {
		t.Errorf("over %v, peak %d pages", c.Over(), c.Peak()/pageSize)
	}

	n, err := f.WriteAt(pattern(3*pageSize, 3), 3*pageSize)
	if n != 0 || err != unix.ENOMEM {
		t.Errorf("write past the limit = %d, %v; want 0, ENOMEM", n, err)
	}
	if st := stat(t, in); st.Size != 3*pageSize {
		t.Errorf("size after the failed write %d", st.Size)
	}
	expectErr(t, "fallocate past the limit", f.(vfs.Allocator).Allocate(0, 3*pageSize, 3*pageSize), unix.ENOMEM)
	expectCharged(t, "after the failed calls", c, 2)
	if got := fs.Usage(); got != 2*tmpfs.InodeCharge+2*pageSize {
		t.Errorf("file system usage %d after the failed calls", got)
	}
	// Overwrites allocate nothing and so are never refused.
	if n, err := f.WriteAt(pattern(2*pageSize, 4), pageSize); err != nil || n != 2*pageSize {
		t.Errorf("overwrite at the limit = %d, %v", n, err)
	}
}

// A full file system fails a write with ENOSPC before the memory account
// is asked, as Linux's shmem accounts blocks before charging the cgroup.
func TestMemcgSizeLimitFirst(t *testing.T) {
	// The root's inode, f's, and two pages.
	fs, _ := newFS(t, tmpfs.Options{SizeLimit: 2*tmpfs.InodeCharge + 2*pageSize})
	c := mm.NewMemCgroup()
	useAccount(t, mm.Account{Memcg: c, OOM: func(int64) bool {
		t.Error("OOM path ran for a write the size limit refuses")
		return false
	}})
	_, f := create(t, fs.Root(), "f")
	defer f.Close()
	write(t, f, pattern(2*pageSize, 1), 0)
	c.SetLimit(2 * pageSize)
	if n, err := f.WriteAt(pattern(pageSize, 2), 2*pageSize); n != 0 || err != unix.ENOSPC {
		t.Errorf("write to a full file system at the memory limit = %d, %v; want 0, ENOSPC", n, err)
	}
	expectErr(t, "fallocate on a full file system", f.(vfs.Allocator).Allocate(0, 2*pageSize, pageSize), unix.ENOSPC)
	expectCharged(t, "after the refused calls", c, 2)
}
