package goferfs

import "golang.org/x/sys/unix"

// On an exclusive tree, a directory the sandbox made starts empty and
// changes only through its inode, so the inode can know every name in it
// and answer a lookup of any other name with ENOENT without asking the
// gofer. That is the lookup each new file costs otherwise: creating a
// file looks its name up first, and in a directory being filled (tar,
// git checkout, a compiler's output) the name is always missing, which
// the VFS's negative cache cannot know until it has asked once.

//
// A directory that was there before is learned instead, from its listing,
// once lookups in it have missed learnAfterMisses distinct names: the
// lookups a program makes while it fills a directory of the image (a
// package manager's /usr/bin, a build's output directory) or searches a
// path list (the dynamic loader, Python's imports) then cost no round
// trip either. A directory of more than maxLearnedNames entries is not
// learned: its listing would cost more than the lookups it saves.

// maxKnownNames bounds the names a directory remembers; past it the
// directory forgets them and looks names up through the gofer again, so
// that a huge directory does not keep a second copy of its listing.
const maxKnownNames = 1 << 14

const (
	learnAfterMisses = 2
	maxLearnedNames  = 1024
	// learnListBytes is the listing fetched per request; a directory of
	// maxLearnedNames short names fits in one or two.
	learnListBytes = 32 << 10
)

// noteMiss counts a lookup of name that the gofer answered with ENOENT,
// and learns i's names once enough have missed.
func (i *inode) noteMiss() {
	if !i.fs.opts.Exclusive {
		return
	}
	i.mu.Lock()
	learn := i.names == nil && !i.namesTooMany && i.misses < learnAfterMisses
	if learn {
		i.misses++
		learn = i.misses == learnAfterMisses
	}
	gen := i.namesGen
	i.mu.Unlock()
	if learn {
		i.learnNames(gen)
	}
}

// learnNames reads i's listing and, if no change of its names was noted
// since gen, remembers them: a change made meanwhile may or may not be in
// the listing.
func (i *inode) learnNames(gen uint64) {
	names := make(map[string]struct{})
	var off uint64
	for {
		ents, err := i.fs.client.Getdents(i.fid, off, learnListBytes)
		if err != nil {
			i.mu.Lock()
			i.misses = 0
			i.mu.Unlock()
			return
		}
		if len(ents) == 0 {
			break
		}
		for _, e := range ents {
			if e.Name != "." && e.Name != ".." {
				names[e.Name] = struct{}{}
			}
		}
		if len(names) > maxLearnedNames {
			i.mu.Lock()
			i.namesTooMany = true
			i.mu.Unlock()
			return
		}
		off = ents[len(ents)-1].Off
	}
	i.mu.Lock()
	if i.names == nil && i.namesGen == gen {
		i.names = names
	} else {
		// Learned again after as many more misses.
		i.misses = 0
	}
	i.mu.Unlock()
}

// startNames makes i, a directory just made by the sandbox on an
// exclusive tree, one whose names are all known: none yet.
func (i *inode) startNames() {
	if !i.fs.opts.Exclusive {
		return
	}
	i.mu.Lock()
	i.names = make(map[string]struct{})
	i.mu.Unlock()
}

// knownMissing reports whether name is known not to exist in i.
func (i *inode) knownMissing(name string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.names == nil {
		return false
	}
	_, ok := i.names[name]
	return !ok
}

// addName records that name now exists in i.
func (i *inode) addName(name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.namesGen++
	if i.names == nil {
		return
	}
	if len(i.names) >= maxKnownNames {
		i.names = nil
		return
	}
	i.names[name] = struct{}{}
}

// removeName records that name no longer exists in i.
func (i *inode) removeName(name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.namesGen++
	if i.names != nil {
		delete(i.names, name)
	}
}

// forgetNames stops answering lookups in i from memory, after a change
// whose outcome on the host is not certain (a failed request may have
// done part of its work, or the host disagreed with what i knew).
func (i *inode) forgetNames() {
	i.mu.Lock()
	i.names = nil
	i.namesGen++
	i.misses = 0
	i.mu.Unlock()
}

// noteCreate records the outcome of making name in i.
func (i *inode) noteCreate(name string, err error) {
	switch err {
	case nil:
		i.addName(name)
	case unix.ENAMETOOLONG, unix.EMFILE, unix.ENFILE:
		// Refused before anything was made on the host.
	default:
		i.forgetNames()
	}
}

// noteRemove records the outcome of removing name from i.
func (i *inode) noteRemove(name string, err error) {
	if err == nil {
		i.removeName(name)
	} else {
		i.forgetNames()
	}
}
