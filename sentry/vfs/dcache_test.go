package vfs

import (
	"fmt"
	"testing"
)

// When what is over the bound cannot be evicted (here: open files pin
// it), the cache does not walk itself again for every new dentry, only
// once it grew by a tenth of the bound; what can go still goes.
func TestDentryCacheShrinkBacksOff(t *testing.T) {
	old := maxCachedDentries.Load()
	maxCachedDentries.Store(100)
	defer maxCachedDentries.Store(old)
	c := dentryCache{set: make(map[*Dentry]struct{})}
	root := &Dentry{children: map[string]*Dentry{}}
	add := func(name string, pinned bool) *Dentry {
		d := &Dentry{parent: root, name: name}
		root.children[name] = d
		if pinned {
			d.Pin()
		}
		c.add(d)
		return d
	}
	for i := range 300 {
		add(fmt.Sprint("pinned", i), true)
	}
	c.shrink()
	if c.passes != 1 || len(c.set) != 300 {
		t.Fatalf("first pass: %d passes, %d cached", c.passes, len(c.set))
	}
	for i := range 100 {
		add(fmt.Sprint("new", i), false)
		c.shrink()
	}
	// 100 new dentries, a pass at most every 10 (a tenth of the bound).
	if c.passes > 11 {
		t.Errorf("%d passes for 100 new dentries over a cache it could not shrink", c.passes)
	}
	// The unpinned ones are evicted by those passes.
	if len(c.set) > 300+10 {
		t.Errorf("%d cached, want the pinned 300 and fewer than 10 more", len(c.set))
	}
}
