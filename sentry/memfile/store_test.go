package memfile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// attachStore attaches a store in a new file of dir to a new memory file.
func attachStore(t *testing.T, dir string) (mf, store *memfile.File, path string) {
	t.Helper()
	mf = newFile(t, 64<<20)
	path = filepath.Join(dir, "store")
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	store, err = mf.AttachStore(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("AttachStore: %v", err)
	}
	return mf, store, path
}

func blocksOf(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks
}

func TestStoreRangesFollowTheMemoryFile(t *testing.T) {
	mf, store, path := attachStore(t, t.TempDir())
	if mf.Store() != store {
		t.Fatal("Store does not return the attached store")
	}
	if store.Base() <= mf.Size() {
		t.Fatalf("store base %#x within the memory file's %#x bytes", store.Base(), mf.Size())
	}
	mem := mustAllocate(t, mf, 4*pageSize)
	r := mustAllocate(t, store, 4*pageSize)
	if r.Start < store.Base() || r.End > store.Base()+store.Size() {
		t.Fatalf("store range %#x-%#x outside [%#x, +%#x)", r.Start, r.End, store.Base(), store.Size())
	}
	if inStore, _ := mf.StoreOf(mem); inStore {
		t.Error("StoreOf says a memory range is in the store")
	}
	inStore, off := mf.StoreOf(r)
	if !inStore || off != r.Start-store.Base() {
		t.Errorf("StoreOf(store range) = %v, %#x; want true, %#x", inStore, off, r.Start-store.Base())
	}
	// The allocation reserved the range's blocks on disk.
	if b := blocksOf(t, path); b < 4*pageSize/512 {
		t.Errorf("store file has %d blocks after a 4-page allocation", b)
	}

	// Writes through the memory file's Slice and WriteNew land in the
	// store's file, at the offset StoreOf gives.
	fill(mf.Slice(r)[:pageSize], 0xab)
	if err := mf.WriteNew([]byte("written with pwrite"), r.Start+pageSize); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, 2*pageSize)
	if _, err := f.ReadAt(got, int64(off)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:pageSize], bytes.Repeat([]byte{0xab}, pageSize)) {
		t.Error("a store through the mapping is not in the file")
	}
	if !bytes.HasPrefix(got[pageSize:], []byte("written with pwrite")) {
		t.Errorf("WriteNew's data not in the file: %q", got[pageSize:pageSize+19])
	}
	if s := store.Slice(memfile.Range{Start: r.Start + pageSize, End: r.Start + 2*pageSize}); !bytes.HasPrefix(s, []byte("written with pwrite")) {
		t.Error("WriteNew's data not seen through the mapping")
	}
	if store.InUse() != 4*pageSize || mf.InUse() != 4*pageSize {
		t.Errorf("InUse: store %d, memory %d; want %d each", store.InUse(), mf.InUse(), 4*pageSize)
	}

	// Released through the memory file, the range's blocks go at once
	// and it comes back zeroed.
	mf.Release(r)
	if store.InUse() != 0 || mf.InUse() != 4*pageSize {
		t.Errorf("after Release: InUse store %d, memory %d", store.InUse(), mf.InUse())
	}
	if b := blocksOf(t, path); b != 0 {
		t.Errorf("store file keeps %d blocks after its only range was released", b)
	}
	again := mustAllocate(t, store, 4*pageSize)
	if !isZero(store.Slice(again)) {
		t.Error("a reused store range is not zero")
	}
}

// TestStoreFullDiskIsNoMemory: the store's disk filling up is the
// allocation's failure, as ErrNoMemory (ENOSPC to programs), never a
// hole that would fault later.
func TestStoreFullDiskIsNoMemory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("cocoon-store-test", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mounting tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	_, store, _ := attachStore(t, dir)
	if store.Size() != 1<<20 {
		t.Errorf("store size %#x, want the file system's %#x", store.Size(), 1<<20)
	}
	if _, err := store.Allocate(2 << 20); !errors.Is(err, memfile.ErrNoMemory) {
		t.Errorf("allocating beyond the file system's size: %v, want ErrNoMemory", err)
	}
	// Another file takes most of the space: the address range is there,
	// the blocks are not.
	if err := os.WriteFile(filepath.Join(dir, "filler"), make([]byte, 900<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Allocate(512 << 10); !errors.Is(err, memfile.ErrNoMemory) {
		t.Errorf("allocating more than the disk has left: %v, want ErrNoMemory", err)
	}
	if store.InUse() != 0 {
		t.Errorf("a failed allocation left %d bytes in use", store.InUse())
	}
	r := mustAllocate(t, store, 16*pageSize)
	fill(store.Slice(r), 1)
}
