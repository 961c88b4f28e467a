package vfs

// InDentryCache tells whether d is in the dentry cache.
func InDentryCache(d *Dentry) bool {
	dcache.mu.Lock()
	defer dcache.mu.Unlock()
	_, ok := dcache.set[d]
	return ok
}
