package vfs

import (
	"sync"
	"sync/atomic"
)

// maxCachedDentries bounds the dentries the VFS keeps for names it looked
// up. Each cached gofer dentry holds a FID, a descriptor in the gofer, so
// the bound keeps the gofer well inside its descriptor limit (goferfs
// lowers it for a gofer with a low one: SetCachedDentryLimit); the working
// set of most programs is far smaller.
var maxCachedDentries atomic.Int64

const defaultCachedDentries = 8000

func init() { maxCachedDentries.Store(defaultCachedDentries) }

// SetCachedDentryLimit bounds the dentry cache to min(n, 8000) entries,
// at least 64.
func SetCachedDentryLimit(n int) {
	maxCachedDentries.Store(int64(max(min(n, defaultCachedDentries), 64)))
}

// dentryCache tracks every cached child dentry and evicts the ones not
// used recently (a clock without a hand: Go's map order stands in for
// it). A dentry is evicted only when nothing depends on its identity: it
// has no cached children, nothing is mounted on it, and no open file
// refers to it.
type dentryCache struct {
	// mu protects set, shrinkAt and passes. Lock order: Dentry.mu, then
	// mu; eviction takes dentry locks only after releasing mu.
	mu  sync.Mutex
	set map[*Dentry]struct{}
	// shrinkAt is the size past which the next eviction pass runs: a
	// tenth of the bound above what the last pass left. A pass walks
	// the whole set, so when little of it can go (directories with
	// cached children, open files, mount points) one per new dentry
	// would make every lookup cost the size of the cache: a sandbox
	// removing a tree of 50,000 names after a long fuzzing run took
	// minutes.
	shrinkAt int
	// passes counts the eviction passes, for tests.
	passes int
}

var dcache = dentryCache{set: make(map[*Dentry]struct{})}

// add records a new cached dentry.
func (c *dentryCache) add(d *Dentry) {
	c.mu.Lock()
	c.set[d] = struct{}{}
	c.mu.Unlock()
}

// remove forgets a dentry that left the cache another way (a negative
// entry replaced by a new file).
func (c *dentryCache) remove(d *Dentry) {
	c.mu.Lock()
	delete(c.set, d)
	c.mu.Unlock()
}

// shrink evicts unused dentries while the cache is over its bound. It
// takes no lock on entry; callers hold none.
func (c *dentryCache) shrink() {
	c.mu.Lock()
	limit := int(maxCachedDentries.Load())
	over := len(c.set) - limit
	if over <= 0 || len(c.set) <= c.shrinkAt {
		c.mu.Unlock()
		return
	}
	c.passes++
	// Evict a tenth more than needed so that shrinking is amortised.
	want := over + limit/10
	var cands []*Dentry
	for d := range c.set {
		// A pinned dentry cannot go; counting it among the candidates
		// would leave evictable ones behind at random.
		if d.pins.Load() != 0 || d.referenced.Swap(false) {
			continue
		}
		cands = append(cands, d)
		if len(cands) >= want {
			break
		}
	}
	c.mu.Unlock()
	for _, d := range cands {
		if d.tryEvict() {
			c.mu.Lock()
			delete(c.set, d)
			c.mu.Unlock()
		}
	}
	c.mu.Lock()
	c.shrinkAt = len(c.set) + limit/10
	c.mu.Unlock()
}

// tryEvict removes d from its parent's cache if nothing depends on it;
// it reports whether d is out of the cache (evicted now, or removed
// before by an unlink or rename).
func (d *Dentry) tryEvict() bool {
	if d.pins.Load() != 0 {
		return false
	}
	d.mu.Lock()
	parent, name := d.parent, d.name
	d.mu.Unlock()
	if parent == nil {
		return true
	}
	parent.mu.Lock()
	defer parent.mu.Unlock()
	if parent.children[name] != d {
		return true // no longer cached under that name
	}
	d.mu.Lock()
	busy := len(d.children) != 0 || d.mounted != nil || d.mountpoint != nil
	d.mu.Unlock()
	if busy || d.pins.Load() != 0 {
		return false
	}
	delete(parent.children, name)
	if d.inode == nil {
		parent.negatives--
	}
	return true
}

// pinCount is embedded in Dentry: open files pin their dentry so that it
// stays the one the tree refers to (renames then move it, and /proc shows
// its current path).
type pinCount struct {
	pins       atomic.Int32
	referenced atomic.Bool
	// forgotten is set once the inode was told the dentry is gone
	// (Forgetter).
	forgotten atomic.Bool
}

// Pin keeps d in the cache.
func (d *Dentry) Pin() { d.pins.Add(1) }

// Unpin releases a Pin. The last Unpin of a removed dentry lets its
// inode give back what it holds (Forgetter).
func (d *Dentry) Unpin() {
	if d.pins.Add(-1) == 0 && d.deleted.Load() {
		d.forget()
	}
}

// markDeleted records that d lost its name: it leaves the cache (so that
// neither the cache nor its parent keeps its inode alive) and, once no
// open file refers to it, its inode is told to let go of its resources.
// Cached negative children of a removed directory go too.
func (d *Dentry) markDeleted() {
	d.deleted.Store(true)
	dcache.remove(d)
	d.mu.Lock()
	for name, c := range d.children {
		if c.inode == nil {
			delete(d.children, name)
			d.negatives--
			dcache.remove(c)
		}
	}
	d.mu.Unlock()
	if d.pins.Load() == 0 {
		d.forget()
	}
}

// forget tells d's inode, once, that nothing reaches it through d.
func (d *Dentry) forget() {
	if !d.forgotten.CompareAndSwap(false, true) {
		return
	}
	if f, ok := d.inode.(Forgetter); ok {
		f.Forget()
	}
}
