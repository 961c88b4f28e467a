package goferfs

import "github.com/cocoonrt/cocoon/sentry/vfs"

// LearnNamesAcrossChange learns the names of in, a directory, as if one of
// its names changed while its listing was read, and reports whether it
// kept them.
func LearnNamesAcrossChange(in vfs.Inode, changed string) bool {
	i := in.(*inode)
	i.mu.Lock()
	gen := i.namesGen
	i.mu.Unlock()
	i.removeName(changed)
	i.learnNames(gen)
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.names != nil
}

// MapAfterReads is how many reads a descriptor serves before it is mapped.
const MapAfterReads = mapAfterReads

// Mapped reports whether f, an open regular file, reads through a mapping.
func Mapped(f vfs.FileImpl) bool {
	h := f.(*regularFile).h.Load()
	return h != nil && !h.refused.Load() && h.rmap.Load() != nil
}

// CopyFrom is copyFrom.
var CopyFrom = copyFrom

// PassFaulting is passFaulting.
var PassFaulting = passFaulting

// WrittenBehind reports whether f, an open regular file, is written
// behind: it has no host descriptor yet.
func WrittenBehind(f vfs.FileImpl) bool { return f.(*regularFile).h.Load() == nil }
