//go:build linux && amd64

package main

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// testChild is a child whose memory is a Go buffer: generate only writes
// the arena, so the calls can be made and compared without making them.
func testChild(seed uint64) *child {
	arena := make([]byte, arenaSize)
	c := &child{
		seed:       seed,
		arena:      arena,
		arenaBase:  uint64(uintptr(unsafe.Pointer(&arena[0]))),
		roPage:     0x10000,
		scratch:    0x7e0000000000,
		pid:        1,
		tid:        1,
		ownPIDNS:   true,
		interrupts: 0,
		fds:        []int32{3, 4, 5, 6, 7},
		dirFDs:     []int32{6},
		paths:      []string{"/etc/passwd", "f", "/tmp"},
	}
	return c
}

// TestCallsAreAFunctionOfSeedAndIndex is what makes a logged batch
// replayable: the same seed and index give the same call, whatever ran
// before it in the generator.
func TestCallsAreAFunctionOfSeedAndIndex(t *testing.T) {
	a, b := testChild(7), testChild(7)
	b.arena, b.arenaBase = a.arena, a.arenaBase
	want := make([]call, 3000)
	for i := range want {
		want[i] = a.generate(uint64(i))
	}
	for i := len(want) - 1; i >= 0; i-- {
		if got := b.generate(uint64(i)); got != want[i] {
			t.Fatalf("call %d: %v, then %v", i, want[i], got)
		}
	}
	other := testChild(8)
	other.arena, other.arenaBase = a.arena, a.arenaBase
	same := 0
	for i := range want {
		if other.generate(uint64(i)) == want[i] {
			same++
		}
	}
	if same > len(want)/10 {
		t.Errorf("seeds 7 and 8 share %d of %d calls", same, len(want))
	}
}

// TestCallsStayInsideTheChild checks the sanitiser's promises: no call
// ends the batch on purpose, memory calls stay in the scratch region, and
// the log descriptor and the interrupting timer survive.
func TestCallsStayInsideTheChild(t *testing.T) {
	c := testChild(1)
	seen := map[uint64]bool{}
	for i := uint64(0); i < 200000; i++ {
		cl := c.generate(i)
		seen[cl.nr] = true
		a := cl.args
		switch cl.nr {
		case unix.SYS_EXIT, unix.SYS_EXIT_GROUP, unix.SYS_REBOOT:
			t.Fatalf("call %d ends the process: %v", i, cl)
		case unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_MADVISE, unix.SYS_MREMAP:
			if c.inScratch(a[0]) && a[1] < 1<<63 && a[0]+a[1] > c.scratch+scratchSize {
				t.Fatalf("call %d reaches past the scratch region: %v", i, cl)
			}
			if a[0] >= c.arenaBase && a[0] < c.arenaBase+arenaSize {
				t.Fatalf("call %d changes the arena's mapping: %v", i, cl)
			}
		case unix.SYS_CLOSE, unix.SYS_DUP2, unix.SYS_DUP3:
			if a[0] == logFD || (cl.nr != unix.SYS_CLOSE && a[1] == logFD) {
				t.Fatalf("call %d touches the log descriptor: %v", i, cl)
			}
		case unix.SYS_TIMER_DELETE, unix.SYS_TIMER_SETTIME:
			if int(a[0]) == c.interrupts {
				t.Fatalf("call %d changes the interrupting timer: %v", i, cl)
			}
		case unix.SYS_RT_SIGACTION:
			if unix.Signal(a[0]) == unix.SIGALRM && a[1] != 0 {
				t.Fatalf("call %d replaces the SIGALRM handler: %v", i, cl)
			}
		case unix.SYS_KILL:
			if !c.ownPIDNS && (int64(a[0]) == -1 || a[0] == 1) {
				t.Fatalf("call %d signals outside the child: %v", i, cl)
			}
		}
	}
	if len(seen) < len(specs) {
		t.Errorf("only %d different calls in 200000, of %d modelled", len(seen), len(specs))
	}
}
