package goferfs

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cocoonrt/cocoon/gofer"
)

// fidReaper returns the FIDs of unreachable inodes to the gofer in batches
// and keeps the number the sandbox holds bounded: every FID is an open
// descriptor in the gofer, whose descriptor limit is finite.
type fidReaper struct {
	client *gofer.Client
	// live counts FIDs held by inodes; gcAt is the count at which the
	// next collection is forced.
	live atomic.Int64
	gcAt atomic.Int64

	// mu protects pending and running.
	mu      sync.Mutex
	pending []gofer.FID
	running bool
}

// reapers holds one reaper per client, shared by its trees.
var (
	reapersMu sync.Mutex
	reapers   = map[*gofer.Client]*fidReaper{}
)

// liveFIDSoftLimit is how many FIDs may be live before the reaper forces a
// garbage collection to find unreachable inodes; well under common
// descriptor limits (the gofer gets 20,000 on many hosts).
const liveFIDSoftLimit = 10000

// closeBatch bounds the FIDs of one Close request (the protocol's limit
// is far larger).
const closeBatch = 1024

func reaperFor(c *gofer.Client) *fidReaper {
	reapersMu.Lock()
	defer reapersMu.Unlock()
	r, ok := reapers[c]
	if !ok {
		r = &fidReaper{client: c}
		r.gcAt.Store(liveFIDSoftLimit)
		reapers[c] = r
	}
	return r
}

// track counts a new FID and, past the soft limit, starts a collection so
// that the cleanups of unreachable inodes run.
func (r *fidReaper) track() {
	n := r.live.Add(1)
	at := r.gcAt.Load()
	if n >= at && r.gcAt.CompareAndSwap(at, n+liveFIDSoftLimit/2) {
		go runtime.GC()
	}
}

// release queues fid to be closed (called from inode cleanups).
func (r *fidReaper) release(fid gofer.FID) {
	r.live.Add(-1)
	if at := r.gcAt.Load(); at > liveFIDSoftLimit && r.live.Load() < at-liveFIDSoftLimit {
		r.gcAt.CompareAndSwap(at, max(liveFIDSoftLimit, r.live.Load()+liveFIDSoftLimit/2))
	}
	r.mu.Lock()
	r.pending = append(r.pending, fid)
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		go r.closePending()
	}
}

// closePending closes queued FIDs until none are left.
func (r *fidReaper) closePending() {
	for {
		r.mu.Lock()
		batch := r.pending
		r.pending = nil
		if len(batch) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), closeBatch)
			_ = r.client.Close(batch[:n]...)
			batch = batch[n:]
		}
	}
}
