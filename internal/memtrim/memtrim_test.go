package memtrim

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSoonReturnsGarbage checks that a trim collects garbage the runtime
// would otherwise keep: the heap in use drops once the quiet period ends.
func TestSoonReturnsGarbage(t *testing.T) {
	var sink [][]byte
	for range 256 {
		sink = append(sink, make([]byte, 8<<10))
	}
	sink = nil
	_ = sink
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	tr := New(10 * time.Millisecond)
	tr.Touch()
	tr.Touch() // one burst: one trim
	deadline := time.Now().Add(10 * time.Second)
	for {
		var now runtime.MemStats
		runtime.ReadMemStats(&now)
		if now.NumGC > before.NumGC && now.HeapReleased > before.HeapReleased {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no trim: GCs %d→%d, released %d→%d", before.NumGC, now.NumGC, before.HeapReleased, now.HeapReleased)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReadOnlySegments checks the segments found through the auxiliary
// vector against /proc/self/maps: each is mapped without write permission,
// and one of them holds this function's code.
func TestReadOnlySegments(t *testing.T) {
	segs := readOnlySegments()
	if len(segs) == 0 {
		t.Fatal("no read-only segments found")
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	code := reflect.ValueOf(TestReadOnlySegments).Pointer()
	found := false
	for _, s := range segs {
		if s[0] <= code && code < s[1] {
			found = true
		}
		for _, line := range strings.Split(string(maps), "\n") {
			var lo, hi uintptr
			var perms string
			if _, err := fmt.Sscanf(line, "%x-%x %s", &lo, &hi, &perms); err != nil {
				continue
			}
			if lo < s[1] && s[0] < hi && perms[1] == 'w' {
				t.Errorf("segment %#x-%#x overlaps writable mapping %q", s[0], s[1], line)
			}
		}
	}
	if !found {
		t.Errorf("no segment holds code address %#x: %#x", code, segs)
	}
}

// TestDropExecutablePages checks that dropping the mappings lowers the
// process's resident file pages, and that code and read-only data work
// on afterwards (mapped back from the page cache).
func TestDropExecutablePages(t *testing.T) {
	before := rssFileKiB(t)
	dropExecutablePages()
	after := rssFileKiB(t)
	if after >= before {
		t.Errorf("RssFile %d KiB before, %d KiB after: nothing dropped", before, after)
	}
	t.Logf("RssFile %d KiB → %d KiB", before, after)
	if got := strings.ToUpper("read-only data survives"); got != "READ-ONLY DATA SURVIVES" {
		t.Fatalf("got %q", got)
	}
}

func rssFileKiB(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			var n int
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
