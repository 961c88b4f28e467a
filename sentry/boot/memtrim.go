package boot

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Giving the heap back after a busy spell.
//
// The sentry's heap grows with what the pod does, and some of it stays
// alive for a while after the work is done: a connection the pod closed
// keeps its whole gVisor endpoint (~7 KiB) for the minute of TIME-WAIT.
// Go returns freed memory to the host only after a collection has found it
// free, and a quiet sentry allocates next to nothing, so no collection
// starts until the runtime forces one (every two minutes), and the
// scavenger gives the pages back after that. The pod's memory, as the
// kubelet sees it, stayed high for minutes: after 20 s of HTTP load
// (busybox httpd, wrk -c8) the sentry's RSS was 186 MiB, still 186 MiB
// 130 s later, once the TIME-WAIT endpoints were long gone, and 45 MiB
// only after ~280 s.
//
// trimMemory looks every trimEvery: once the sentry has been quiet (it
// allocated less than trimQuietAlloc since the last look) and its heap
// holds more than trimFloor, it collects and returns the free pages at
// once (debug.FreeOSMemory). A trim that frees little (the heap is alive:
// idle connections, caches) doubles the wait before the next, up to the
// runtime's own forced period, so an idle pod with a large live heap is
// not collected more often than Go would anyway; new activity starts
// over. TCP connections leaving TIME-WAIT are the one large release that
// happens while the sentry is quiet, so trimClosedEndpoints of them gone
// since the last trim call one at once.
//
// The application memory the pod's processes freed is the other half:
// the memory file keeps up to 32 MiB of it for reuse before giving it
// back (memfile.dirtyLimit), which saves host faults while the pod is
// busy and nothing once it is quiet. An idle pod kept it for good: after
// a burst of exec'd probes, 34 MiB of the sentry's resident memory, and
// of the pod's cgroup, was freed application memory. Every quiet look
// gives it back (releaseFreed).
const (
	trimEvery           = 15 * time.Second
	trimQuietAlloc      = 4 << 20
	trimFloor           = 32 << 20
	trimMaxWait         = 2 * time.Minute
	trimClosedEndpoints = 1024
)

// The sentry's heap under the pod's memory limit.
//
// The pod's cgroup holds the sandbox whole: the applications' memory
// (the memory file), the sentry, the gofer and the stubs. Nothing kept
// the sentry's Go heap inside what the applications leave of the limit,
// so garbage the collector had not yet freed could take the pod past its
// cgroup limit, and the host's OOM killer then takes the sentry and
// every container with it. limitHeap keeps the heap's soft limit
// (debug.SetMemoryLimit) at what the limit leaves after the memory file's
// pages and a reserve for the gofer and stubs, following the
// applications' use: the collector works harder, and returns memory
// sooner, only as the pod nears its limit. A live heap past it still
// grows (the limit is soft), as it would without one.
const (
	// heapReserve is what is left for the gofer and the platform's
	// stubs (~10-20 MiB between them).
	heapReserve = 32 << 20
	// heapFloor is the lowest limit set: below it the collector would
	// run without pause for little gain, the pod being at its limit.
	heapFloor = 16 << 20
	// heapLimitEvery is how often the limit follows the applications.
	heapLimitEvery = time.Second
)

// sentryHeapLimit is the heap's soft limit in a pod whose cgroup allows
// cgroupBytes, of which the memory file holds appBytes.
func sentryHeapLimit(cgroupBytes, appBytes uint64) int64 {
	left := int64(cgroupBytes) - int64(appBytes) - heapReserve
	return max(left, heapFloor)
}

// limitHeap keeps the heap's soft limit under a cgroup limit of
// cgroupBytes until the process ends; held returns what the memory file
// holds.
func limitHeap(cgroupBytes uint64, held func() uint64) {
	for {
		debug.SetMemoryLimit(sentryHeapLimit(cgroupBytes, held()))
		time.Sleep(heapLimitEvery)
	}
}

// memSample is what the trimmer reads at each look.
type memSample struct {
	// allocated is the heap's cumulative allocation (bytes).
	allocated uint64
	// heap is the heap memory the sentry holds from the host: objects
	// (live or not yet collected), unused parts of spans, and free
	// spans not yet returned.
	heap uint64
	// closing is the TCP connections past ESTABLISHED not yet gone
	// (TIME-WAIT, mostly); -1 without a network stack.
	closing int64
}

// memTrimmer decides when to trim; used by one goroutine.
type memTrimmer struct {
	last memSample
	// quietFor is how long the sentry has been quiet since the last
	// trim or activity; wait is how long it waits before the next trim.
	quietFor, wait time.Duration
	// closingAtTrim is closing as of the last trim or activity.
	closingAtTrim int64
}

func newMemTrimmer(s memSample) *memTrimmer {
	return &memTrimmer{last: s, wait: trimEvery, closingAtTrim: s.closing}
}

// look takes the sample of one look, trimEvery after the previous, and
// reports whether to trim now.
func (m *memTrimmer) look(s memSample) bool {
	busy := s.allocated-m.last.allocated >= trimQuietAlloc
	m.last = s
	if busy {
		m.quietFor, m.wait = 0, trimEvery
		m.closingAtTrim = max(m.closingAtTrim, s.closing)
		return false
	}
	m.quietFor += trimEvery
	if s.heap < trimFloor {
		return false
	}
	released := s.closing >= 0 && m.closingAtTrim-s.closing >= trimClosedEndpoints
	return released || m.quietFor >= m.wait
}

// trimmed records a trim: before is the sample that called it, after the
// one taken once it returned.
func (m *memTrimmer) trimmed(before, after memSample) {
	m.last, m.quietFor, m.closingAtTrim = after, 0, after.closing
	if after.heap > before.heap/4*3 {
		m.wait = min(2*m.wait, trimMaxWait)
	} else {
		m.wait = trimEvery
	}
}

// trimMemory runs the trimmer until the process ends; closing returns the
// sample's closing count, releaseFreed gives the application memory freed
// and kept for reuse back to the host.
func trimMemory(closing func() int64, releaseFreed func()) {
	samples := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	read := func() memSample {
		metrics.Read(samples)
		v := func(i int) uint64 {
			if samples[i].Value.Kind() != metrics.KindUint64 {
				return 0
			}
			return samples[i].Value.Uint64()
		}
		return memSample{allocated: v(0), heap: v(1) + v(2) + v(3), closing: closing()}
	}
	m := newMemTrimmer(read())
	for range time.Tick(trimEvery) {
		before := read()
		trim := m.look(before)
		if m.quietFor > 0 {
			releaseFreed()
		}
		if trim {
			debug.FreeOSMemory()
			m.trimmed(before, read())
		}
	}
}
