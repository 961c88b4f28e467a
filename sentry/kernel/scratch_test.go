package kernel

import "testing"

// TestScratchLargeBuffersAreNotKept: a task keeps a small scratch buffer
// across calls, and holds a large one only until the call ends.
func TestScratchLargeBuffersAreNotKept(t *testing.T) {
	var task Task
	small := task.Buffer(4096)
	if again := task.Buffer(100); &again[0] != &small[0] {
		t.Fatalf("a smaller request did not reuse the small buffer")
	}
	for _, n := range []int{keepScratch + 1, bigScratch, 3 * bigScratch} {
		b := task.Buffer(n)
		if len(b) != n {
			t.Fatalf("Buffer(%d) has %d bytes", n, len(b))
		}
		if m := max(n-1, keepScratch+1); &task.Buffer(m)[0] != &b[0] {
			t.Fatalf("Buffer(%d) in the same call did not reuse its buffer", m)
		}
		task.releaseScratch()
		if task.big != nil || cap(task.buf) > keepScratch {
			t.Fatalf("after a call that used %d bytes the task keeps %d and %v", n, cap(task.buf), task.big != nil)
		}
		if b := task.Buffer(100); &b[0] != &small[0] {
			t.Fatalf("the small buffer was lost to a large request")
		}
	}
}

// TestScratchKeptBuffersGoBackToAPool: a task that needed a kept buffer
// over smallScratch gives it back when it exits, so a fork per request
// does not allocate one per child.
func TestScratchKeptBuffersGoBackToAPool(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		var task Task
		if b := task.Buffer(keepScratch); len(b) != keepScratch {
			t.Fatalf("Buffer(%d) has %d bytes", keepScratch, len(b))
		}
		task.releaseKeptScratch()
	})
	if allocs >= 1 {
		t.Errorf("a task's kept buffer costs %.1f allocations, want it from the pool", allocs)
	}
	var task Task
	if b := task.Buffer(100); cap(b) > smallScratch {
		t.Errorf("a small request got a %d-byte buffer", cap(b))
	}
}
