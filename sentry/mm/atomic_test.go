package mm_test

import (
	"encoding/binary"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCompareAndSwapUint32 checks the futex word primitive: it swaps only
// a matching word and reports what the word held, needs write access,
// breaks copy-on-write like a write, and is atomic against concurrent
// swaps.
func TestCompareAndSwapUint32(t *testing.T) {
	m, _, _ := newTestMM(t)
	addr := mustMMap(t, m, anon(base, 2, rw))
	ro := mustMMap(t, m, anon(pg(base, 4), 1, r))

	// An untouched page reads zero.
	if got, err := m.CompareAndSwapUint32(addr+8, 1, 2); err != nil || got != 0 {
		t.Fatalf("CAS(1->2) on a zero word = %d, %v; want 0 and no swap", got, err)
	}
	if got, err := m.CompareAndSwapUint32(addr+8, 0, 42); err != nil || got != 0 {
		t.Fatalf("CAS(0->42) = %d, %v", got, err)
	}
	if got := binary.LittleEndian.Uint32(mustCopyIn(t, m, addr+8, 4)); got != 42 {
		t.Fatalf("word after CAS = %d, want 42", got)
	}
	if got, err := m.LoadUint32(addr + 8); err != nil || got != 42 {
		t.Fatalf("LoadUint32 = %d, %v; want 42", got, err)
	}
	for _, tc := range []struct {
		name string
		addr uint64
		err  error
	}{
		{"unaligned", addr + 2, unix.EFAULT},
		{"read-only", ro, unix.EFAULT},
		{"unmapped", pg(base, 3), unix.EFAULT},
	} {
		if _, err := m.CompareAndSwapUint32(tc.addr, 0, 1); err != tc.err {
			t.Errorf("CAS on %s word: %v, want %v", tc.name, err, tc.err)
		}
	}
	if got, err := m.LoadUint32(ro); err != nil || got != 0 {
		t.Errorf("LoadUint32 of a read-only word = %d, %v", got, err)
	}

	// After fork the page is shared copy-on-write: a swap in the child
	// changes the child's copy only.
	child := m.Fork(newFakeAS(t))
	if got, err := child.CompareAndSwapUint32(addr+8, 42, 7); err != nil || got != 42 {
		t.Fatalf("child CAS(42->7) = %d, %v", got, err)
	}
	if got, _ := m.LoadUint32(addr + 8); got != 42 {
		t.Errorf("parent's word = %d after the child's swap, want 42", got)
	}
	if got, _ := child.LoadUint32(addr + 8); got != 7 {
		t.Errorf("child's word = %d, want 7", got)
	}

	// Concurrent increments through CAS loops lose nothing.
	const workers, rounds = 4, 1000
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for {
					old, err := m.LoadUint32(addr + 16)
					if err != nil {
						t.Error(err)
						return
					}
					if cur, err := m.CompareAndSwapUint32(addr+16, old, old+1); err == nil && cur == old {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if got, _ := m.LoadUint32(addr + 16); got != workers*rounds {
		t.Errorf("counter = %d, want %d", got, workers*rounds)
	}
}
