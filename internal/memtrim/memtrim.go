// Package memtrim hands a process's free heap back to the host once it has
// gone quiet.
//
// A sentry or gofer allocates most of what it ever will while a pod
// starts (spec and image parsing, ELF loading, the first walks), then
// idles for hours. The Go runtime does not collect until the heap reaches
// its goal (at least 4 MiB), and scavenges freed pages back to the host
// only gradually, so that start-up garbage would stay resident in every
// pod. A trim after the burst collects it and returns the pages, and drops
// the mappings of executable pages the burst touched (dropExecutablePages).
package memtrim

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Trimmer trims once activity has stopped for a quiet period. Touch is
// cheap enough to call for every request a server handles.
type Trimmer struct {
	quiet time.Duration
	// touched is set by Touch and cleared by each check.
	touched atomic.Bool
	// armed is set while a check is scheduled.
	armed atomic.Bool
}

// New returns a Trimmer that trims between quiet and twice quiet after the
// last Touch.
func New(quiet time.Duration) *Trimmer { return &Trimmer{quiet: quiet} }

// Touch records activity: a trim follows once it stops.
func (t *Trimmer) Touch() {
	t.touched.Store(true)
	// A load first: on the busy path a check is already armed, and the
	// load spares the swap's locked instruction on every request.
	if !t.armed.Load() && !t.armed.Swap(true) {
		time.AfterFunc(t.quiet, t.check)
	}
}

// check trims if nothing touched t since the last check, and looks again
// later if something did.
func (t *Trimmer) check() {
	if t.touched.Swap(false) {
		time.AfterFunc(t.quiet, t.check)
		return
	}
	t.armed.Store(false)
	debug.FreeOSMemory()
	dropExecutablePages()
	// A Touch that ran between the two stores above found t armed and
	// scheduled nothing: look again for it.
	if t.touched.Load() && !t.armed.Swap(true) {
		time.AfterFunc(t.quiet, t.check)
	}
}
