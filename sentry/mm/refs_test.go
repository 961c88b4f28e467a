package mm_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
)

// A mapping holds its file: the descriptor it was mapped through may be
// closed, and the file must stay open (no last DecRef) until the last
// page of the mapping is gone, however the mapping was split, moved or
// replaced on the way; then it must be released exactly once.
func TestMappedFileReferences(t *testing.T) {
	const n = 8
	for _, tc := range []struct {
		name string
		// op changes the mapping at addr and returns the address of a
		// page that still maps the file, or 0 when none does.
		op func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64
	}{
		{"munmap all", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			if err := m.Munmap(addr, n*pageSize); err != nil {
				t.Fatal(err)
			}
			return 0
		}},
		{"munmap the middle", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			if err := m.Munmap(pg(addr, 3), 2*pageSize); err != nil {
				t.Fatal(err)
			}
			return pg(addr, 6)
		}},
		{"munmap the middle, then the rest", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			if err := m.Munmap(pg(addr, 3), 2*pageSize); err != nil {
				t.Fatal(err)
			}
			if err := m.Munmap(addr, n*pageSize); err != nil {
				t.Fatal(err)
			}
			return 0
		}},
		{"mprotect the middle", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			if err := m.Mprotect(pg(addr, 2), 3*pageSize, r, false); err != nil {
				t.Fatal(err)
			}
			return pg(addr, 3)
		}},
		{"mmap fixed over the middle", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			mustMMap(t, m, anon(pg(addr, 2), 2, rw))
			return pg(addr, 7)
		}},
		{"mmap fixed over all of it", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			mustMMap(t, m, anon(addr, n, rw))
			return 0
		}},
		{"refused mmap fixed noreplace", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			opts := anon(addr, 1, rw)
			opts.NoReplace = true
			if _, err := m.MMap(opts); err != unix.EEXIST {
				t.Fatalf("NoReplace: %v", err)
			}
			return addr
		}},
		{"mremap shrink", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			if _, err := m.Mremap(addr, n*pageSize, 2*pageSize, 0, 0); err != nil {
				t.Fatal(err)
			}
			return pg(addr, 1)
		}},
		{"mremap grow in place", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			if _, err := m.Mremap(addr, n*pageSize, (n+2)*pageSize, 0, 0); err != nil {
				t.Fatal(err)
			}
			return pg(addr, n-1)
		}},
		{"mremap maymove", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			mustMMap(t, m, anon(pg(addr, n), 1, rw)) // forces a move
			to, err := m.Mremap(addr, n*pageSize, (n+4)*pageSize, mm.MremapMaymove, 0)
			if err != nil {
				t.Fatal(err)
			}
			return to
		}},
		{"mremap maymove part of it", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			mustMMap(t, m, anon(pg(addr, n), 1, rw))
			to, err := m.Mremap(pg(addr, 4), 4*pageSize, 8*pageSize, mm.MremapMaymove, 0)
			if err != nil {
				t.Fatal(err)
			}
			return to
		}},
		{"mremap fixed", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			to, err := m.Mremap(addr, n*pageSize, n*pageSize, mm.MremapMaymove|mm.MremapFixed, pg(addr, 64))
			if err != nil {
				t.Fatal(err)
			}
			return to
		}},
		{"madvise dontneed", func(t *testing.T, m *mm.MemoryManager, addr uint64) uint64 {
			if err := m.Madvise(addr, n*pageSize, mm.MadvDontneed); err != nil {
				t.Fatal(err)
			}
			return addr
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTestMM(t)
			f := &fakeFile{t: t, data: pattern(n*pageSize, 1), refs: 1}
			file := refFile{f}
			addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: n * pageSize, Perms: rw, Private: true, File: file})
			expectFault(t, m, addr, r, faultOK)
			// The application closes the descriptor.
			file.DecRef()
			if f.closes != 0 {
				t.Fatalf("closing the descriptor closed a mapped file")
			}

			live := tc.op(t, m, addr)
			if live != 0 {
				if f.refs <= 0 || f.closes != 0 {
					t.Fatalf("after the operation: %d references, closed %d times, with the file still mapped", f.refs, f.closes)
				}
				// The remaining mapping can still read the file.
				reads := f.reads
				if err := m.Madvise(live&^(pageSize-1), pageSize, mm.MadvDontneed); err != nil {
					t.Fatal(err)
				}
				if _, err := m.CopyIn(live, make([]byte, 1)); err != nil {
					t.Fatalf("CopyIn from the remaining mapping: %v", err)
				}
				if f.reads == reads {
					t.Errorf("the remaining mapping did not read the file")
				}
			} else if f.refs != 0 || f.closes != 1 {
				t.Errorf("file unmapped: %d references, closed %d times; want 0 and 1", f.refs, f.closes)
			}

			m.Release()
			if f.refs != 0 || f.closes != 1 {
				t.Errorf("after Release: %d references, closed %d times; want 0 and 1", f.refs, f.closes)
			}
		})
	}
}

// A Mappable without IncRef and DecRef is fine too.
func TestMappedFileWithoutReferences(t *testing.T) {
	m, _, _ := newTestMM(t)
	f := &fakeFile{t: t, data: pattern(2*pageSize, 1)}
	addr := mustMMap(t, m, mm.MMapOpts{Addr: base, Fixed: true, Length: 2 * pageSize, Perms: r, Private: true, File: f})
	if err := m.Munmap(pg(addr, 1), pageSize); err != nil {
		t.Fatal(err)
	}
	if got := mustCopyIn(t, m, addr, 8); string(got) != string(f.data[:8]) {
		t.Errorf("read %x", got)
	}
	m.Release()
}
