package goferfs

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// fidReaper returns the FIDs of unreachable inodes to the gofer in batches
// and keeps the number the sandbox holds bounded: every FID is an open
// descriptor in the gofer, whose descriptor limit is finite.
//
// An inode gives its FID back from a cleanup, when a garbage collection
// finds it unreachable (the VFS's dentry cache forgot it and nothing else
// refers to it). Collections come when the heap grows, which a walk over
// many files hardly makes it do, so the reaper forces them: one in the
// background each time the held count passes gcAt, and, should the
// count still reach reclaimAt, one the FID's creator waits for, with
// the cleanups and closes it brings. (Before the second, a find(1) over
// /usr drove the gofer to 16,000 of its 20,000 descriptors, and a run
// over more files made lookups fail with EMFILE.)
type fidReaper struct {
	client *gofer.Client
	// held counts the FIDs the gofer keeps open for this client: those
	// of inodes, and those given back whose Close has not returned.
	held atomic.Int64
	// gcAt is the count at which the next background collection starts;
	// reclaimAt the one at which a FID's creator collects and waits.
	gcAt, reclaimAt atomic.Int64
	// reclaimMu serialises waiting reclaims.
	reclaimMu sync.Mutex

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

// FID thresholds, set by FitDescriptorLimit: past softFIDs held FIDs the
// reaper starts a collection in the background, past hardFIDs a FID's
// creator waits for one. Until then they fit a limit of defaultLimit.
var softFIDs, hardFIDs atomic.Int64

const defaultLimit = 20000

func init() {
	soft, hard := thresholds(defaultLimit)
	softFIDs.Store(soft)
	hardFIDs.Store(hard)
}

// maxSoftFIDs bounds the background threshold whatever the limit: every
// FID also pins a dentry and an inode in the host's kernel.
const maxSoftFIDs = 10000

// FitDescriptorLimit sizes the reaper's thresholds and the VFS's dentry
// cache for a gofer whose RLIMIT_NOFILE is limit: a reserve for the
// gofer's other descriptors, a waiting reclaim at three quarters of the
// rest, background collections from half of that, and no more cached
// dentries than the background threshold, so that a collection can
// always bring the count under it. Call it before the first tree is
// made.
func FitDescriptorLimit(limit uint64) {
	soft, hard := thresholds(limit)
	softFIDs.Store(soft)
	hardFIDs.Store(hard)
	vfs.SetCachedDentryLimit(int(soft))
}

// thresholds returns the soft and hard FID thresholds for a gofer whose
// descriptor limit is limit.
func thresholds(limit uint64) (soft, hard int64) {
	l := int64(min(limit, 1<<30))
	reserve := min(l/8, 1024)
	budget := max((l-reserve)*3/4, 64)
	soft = min(budget/2, maxSoftFIDs)
	return soft, min(budget, 4*soft)
}

// closeBatch bounds the FIDs of one Close request (the protocol's limit
// is far larger).
const closeBatch = 1024

// reclaimWait bounds how long a FID's creator waits for a reclaim.
const reclaimWait = 100 * time.Millisecond

func reaperFor(c *gofer.Client) *fidReaper {
	reapersMu.Lock()
	defer reapersMu.Unlock()
	r, ok := reapers[c]
	if !ok {
		r = &fidReaper{client: c}
		r.gcAt.Store(softFIDs.Load())
		r.reclaimAt.Store(hardFIDs.Load())
		reapers[c] = r
	}
	return r
}

// track counts a new FID: past gcAt it starts a collection in the
// background so that the cleanups of unreachable inodes run; past
// reclaimAt it collects and waits for the FIDs to come back.
func (r *fidReaper) track() {
	n := r.held.Add(1)
	if n >= r.reclaimAt.Load() {
		r.reclaim()
		return
	}
	at := r.gcAt.Load()
	if n >= at && r.gcAt.CompareAndSwap(at, n+softFIDs.Load()/2) {
		go runtime.GC()
	}
}

// reclaim collects garbage and waits, reclaimWait at most, until the held
// count falls back under the hard threshold less a margin. If it does
// not (the FIDs belong to files in use), the next waiting reclaim comes
// only after another half of the soft threshold, so that a sandbox that
// really uses that many files is not slowed on every lookup.
func (r *fidReaper) reclaim() {
	r.reclaimMu.Lock()
	defer r.reclaimMu.Unlock()
	hard, soft := hardFIDs.Load(), softFIDs.Load()
	if r.held.Load() < r.reclaimAt.Load() {
		return // reclaimed while this one waited for the lock
	}
	runtime.GC()
	// The cleanups run on the runtime's goroutine after the collection,
	// and the closes on closePending's after them.
	for deadline := time.Now().Add(reclaimWait); r.held.Load() >= hard-soft/2 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Microsecond)
	}
	r.reclaimAt.Store(max(hard, r.held.Load()+soft/2))
}

// release queues fid to be closed (called from inode cleanups).
func (r *fidReaper) release(fid gofer.FID) {
	r.mu.Lock()
	r.pending = append(r.pending, fid)
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		go r.closePending()
	}
}

// closed accounts for n FIDs the gofer has closed, moving the thresholds
// back down as the count falls.
func (r *fidReaper) closed(n int) {
	held := r.held.Add(-int64(n))
	soft, hard := softFIDs.Load(), hardFIDs.Load()
	if at := r.gcAt.Load(); at > soft && held < at-soft {
		r.gcAt.CompareAndSwap(at, max(soft, held+soft/2))
	}
	if at := r.reclaimAt.Load(); at > hard && held < hard-soft/2 {
		r.reclaimAt.CompareAndSwap(at, hard)
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
			r.closed(n)
			batch = batch[n:]
		}
	}
}
