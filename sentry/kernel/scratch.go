package kernel

import "sync"

// Scratch buffers for system calls that copy between files or sockets and
// application memory. A task keeps one of up to keepScratch bytes between
// calls; a larger one (a 1 MiB write, a 4 MiB datagram) is held only for
// the call that asked for it and then goes back to a pool all tasks share.
// The sentry's memory counts against the pod's limit: a task that kept
// the largest buffer it ever used would make a pod of 500 threads that
// each once wrote 1 MiB hold 500 MiB for nothing.
//
// A kept buffer over smallScratch comes from a pool, and goes back to it
// when the task exits: a server that forks a child per request has each
// child sendfile its answer through a 64 KiB buffer, and allocating one per
// child made the sentry allocate 85 MB/s at 1,300 requests a second, most
// of what its garbage collector then had to do.

const (
	// smallScratch is the largest kept buffer allocated for the task
	// alone.
	smallScratch = 4 << 10
	keepScratch  = 64 << 10
	// bigScratch is the size of the pooled buffers, that of the largest
	// chunk a read or write copies at once; larger ones are not pooled.
	bigScratch = 1 << 20
)

var (
	keepScratches = sync.Pool{New: func() any {
		b := make([]byte, keepScratch)
		return &b
	}}
	bigScratches = sync.Pool{New: func() any {
		b := make([]byte, bigScratch)
		return &b
	}}
)

// Buffer returns a scratch buffer of n bytes, valid until the next call
// or the end of the system call.
func (t *Task) Buffer(n int) []byte {
	if n <= keepScratch {
		if cap(t.buf) < n {
			if n <= smallScratch {
				t.buf = make([]byte, n)
			} else {
				t.kept = keepScratches.Get().(*[]byte)
				t.buf = *t.kept
			}
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

// releaseKeptScratch gives back the pooled buffer the task kept, when it
// exits.
func (t *Task) releaseKeptScratch() {
	if t.kept != nil {
		keepScratches.Put(t.kept)
		t.kept = nil
	}
	t.buf = nil
}
