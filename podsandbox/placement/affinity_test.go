package placement

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnbindFreesThreadsBornMeanwhile binds a thread (standing for a
// pod's), then starts one bound to the same CPU that the first list of
// threads lacks, as a thread the pod starts while it is being unbound
// is: unbind's second look at the threads must free it too, or it stays
// on one CPU while the pod is spread.
func TestUnbindFreesThreadsBornMeanwhile(t *testing.T) {
	everywhere := needTwoCPUs(t)
	tids := make(chan int)
	release := make(chan struct{})
	defer close(release)
	onThread := func() {
		runtime.LockOSThread()
		tids <- unix.Gettid()
		<-release
	}
	go onThread()
	first := <-tids
	b := newBinding()
	if err := b.bind([]int{first}, 1, everywhere); err != nil {
		t.Fatal(err)
	}
	go onThread()
	born := <-tids
	var one unix.CPUSet
	one.Set(1)
	if err := unix.SchedSetaffinity(born, &one); err != nil {
		t.Fatal(err)
	}
	listed := 0
	relist := func() ([]int, error) {
		listed++
		return []int{first, born}, nil
	}
	if err := b.unbind([]int{first}, relist, everywhere); err != nil {
		t.Fatal(err)
	}
	for _, tid := range []int{first, born} {
		var s unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &s); err != nil {
			t.Fatal(err)
		}
		if s != everywhere {
			t.Errorf("thread %d has %d CPUs after unbind, want %d", tid, s.Count(), everywhere.Count())
		}
	}
	if listed != 2 {
		t.Errorf("the threads were listed %d times, want 2 (the second finds none bound)", listed)
	}
}
