package mm_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCopyAcrossPages(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 3, rw))
	data := pattern(pageSize+200, 4)
	at := addr + pageSize - 100
	mustCopyOut(t, m, at, data)
	if got := mustCopyIn(t, m, at, len(data)); string(got) != string(data) {
		t.Errorf("CopyIn across pages read back different bytes")
	}
	// Neighbouring bytes are untouched.
	if got := mustCopyIn(t, m, at-10, 10); !isZero(got) {
		t.Errorf("bytes before the copy changed: %v", got)
	}
	if got := mustCopyIn(t, m, at+uint64(len(data)), 10); !isZero(got) {
		t.Errorf("bytes after the copy changed: %v", got)
	}
	if n, err := m.CopyOut(addr, nil); n != 0 || err != nil {
		t.Errorf("empty CopyOut = %d, %v", n, err)
	}
}

func TestCopyFaults(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 2, rw))
	mustMMap(t, m, anon(pg(base, 2), 1, r))
	mustMMap(t, m, anon(pg(base, 3), 1, 0))
	mustMMap(t, m, anon(pg(base, 4), 1, w))
	mustMMap(t, m, anon(pg(base, 6), 1, rw))
	for _, tc := range []struct {
		name    string
		in      bool
		addr    uint64
		len     int
		wantN   int
		wantErr error
	}{
		{"out, runs into a read-only page", false, pg(addr, 2) - 10, 20, 10, unix.EFAULT},
		{"out, to a read-only page", false, pg(addr, 2), 1, 0, unix.EFAULT},
		{"in, from a read-only page", true, pg(addr, 2), 10, 10, nil},
		{"in, runs into a PROT_NONE page", true, pg(addr, 3) - 4, 8, 4, unix.EFAULT},
		{"out, to PROT_NONE", false, pg(addr, 3), 1, 0, unix.EFAULT},
		{"in, from a write-only page (x86 implies read)", true, pg(addr, 4), 8, 8, nil},
		{"in, runs into a hole", true, pg(addr, 5) - 3, 8, 3, unix.EFAULT},
		{"out, into a hole", false, pg(addr, 5), 1, 0, unix.EFAULT},
		{"in, at address 0", true, 0, 1, 0, unix.EFAULT},
		{"in, wrapping the address space", true, ^uint64(0) - 3, 8, 0, unix.EFAULT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, tc.len)
			var n int
			var err error
			if tc.in {
				n, err = m.CopyIn(tc.addr, buf)
			} else {
				for i := range buf {
					buf[i] = 0xaa
				}
				n, err = m.CopyOut(tc.addr, buf)
			}
			if n != tc.wantN || err != tc.wantErr {
				t.Errorf("got %d, %v; want %d, %v", n, err, tc.wantN, errString(tc.wantErr))
			}
		})
	}
	// The partial CopyOut wrote exactly the bytes it reported.
	if got := mustCopyIn(t, m, pg(addr, 2)-10, 10); string(got) != strings.Repeat("\xaa", 10) {
		t.Errorf("partial CopyOut wrote %x", got)
	}
}

func TestCopyInString(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 2, rw))
	end := pg(addr, 2)
	put := func(at uint64, s string) {
		t.Helper()
		mustCopyOut(t, m, at, []byte(s))
	}
	put(addr, "hello\x00")
	put(addr+pageSize-3, "abcdef\x00")
	put(addr+100, "\x00")
	put(end-4, "tail") // no NUL before the end of the mapping
	put(addr+200, "0123456789\x00")
	for _, tc := range []struct {
		name    string
		addr    uint64
		max     int
		want    string
		wantErr error
	}{
		{"simple", addr, 100, "hello", nil},
		{"across a page boundary", addr + pageSize - 3, 100, "abcdef", nil},
		{"empty", addr + 100, 100, "", nil},
		{"exactly max bytes", addr + 200, 10, "0123456789", nil},
		{"one byte over max", addr + 200, 9, "", unix.ENAMETOOLONG},
		{"far over max", addr + 200, 2, "", unix.ENAMETOOLONG},
		{"max zero, empty string", addr + 100, 0, "", nil},
		{"runs off the mapping", end - 4, 100, "", unix.EFAULT},
		{"too long before running off", end - 4, 3, "", unix.ENAMETOOLONG},
		{"unmapped", end, 100, "", unix.EFAULT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.CopyInString(tc.addr, tc.max)
			if got != tc.want || err != tc.wantErr {
				t.Errorf("CopyInString(%#x, %d) = %q, %v; want %q, %v", tc.addr, tc.max, got, err, tc.want, errString(tc.wantErr))
			}
		})
	}
}

// A string longer than a page (a long path) is read whole.
func TestCopyInStringLong(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 3, rw))
	s := strings.Repeat("p", 2*pageSize+17)
	mustCopyOut(t, m, addr+5, append([]byte(s), 0))
	got, err := m.CopyInString(addr+5, 4*pageSize)
	if err != nil || got != s {
		t.Errorf("CopyInString of %d bytes = %d bytes, %v", len(s), len(got), err)
	}
}
