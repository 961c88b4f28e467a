package goroutine

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// The ID is the same for one goroutine whatever it does in between (it
// may run on another thread after blocking or yielding), and differs
// between goroutines alive at once.
func TestIDIdentifiesTheGoroutine(t *testing.T) {
	const n = 64
	ids := make([]uintptr, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := ID()
			ids[i] = first
			<-start
			for range 50 {
				runtime.Gosched()
				time.Sleep(10 * time.Microsecond)
				if got := ID(); got != first {
					errs <- "the ID of a goroutine changed"
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	seen := map[uintptr]bool{ID(): true}
	for _, id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("goroutines alive at once share ID %#x (or it is 0)", id)
		}
		seen[id] = true
	}
}
