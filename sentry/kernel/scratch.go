package kernel

import "sync"

// Scratch buffers for system calls that copy between files or sockets and
// application memory. A task keeps one of up to keepScratch bytes between
// calls; a larger one (a 1 MiB write, a 4 MiB datagram) is held only for
// the call that asked for it and then goes back to a pool all tasks share.
// The sentry's memory counts against the pod's limit: a task that kept
// the largest buffer it ever used would make a pod of 500 threads that
// each once wrote 1 MiB hold 500 MiB for nothing.

const (
	keepScratch = 64 << 10
	// bigScratch is the size of the pooled buffers, that of the largest
	// chunk a read or write copies at once; larger ones are not pooled.
	bigScratch = 1 << 20
)

var bigScratches = sync.Pool{New: func() any {
	b := make([]byte, bigScratch)
	return &b
}}

// Buffer returns a scratch buffer of n bytes, valid until the next call
// or the end of the system call.
func (t *Task) Buffer(n int) []byte {
	if n <= keepScratch {
		if cap(t.buf) < n {
			t.buf = make([]byte, n)
		}
		return t.buf[:n]
	}
	if t.big == nil || cap(*t.big) < n {
		t.releaseScratch()
		if n <= bigScratch {
			t.big = bigScratches.Get().(*[]byte)
		} else {
			b := make([]byte, n)
			t.big = &b
		}
	}
	return (*t.big)[:n]
}

// releaseScratch gives back the large scratch buffer the task holds, at
// the end of a system call.
func (t *Task) releaseScratch() {
	if t.big == nil {
		return
	}
	if cap(*t.big) == bigScratch {
		bigScratches.Put(t.big)
	}
	t.big = nil
}
