package kernel

import "github.com/cocoonrt/cocoon/sentry/mm"

// Peak resident set size (getrusage's and wait4's ru_maxrss), kept as
// Linux keeps it: an address space records its own peak (the mm's
// hiwater_rss); a thread leaving an address space, by exiting or because
// execve replaces it, folds that peak into its process's maxRSS
// (signal->maxrss), so the peak of the image before an execve still
// counts after it; reaping a child folds the child's peak, and its own
// children's, into the parent's childMaxRSS (signal->cmaxrss).

// foldMaxRSS records the peak of m, an address space t leaves, in t's
// process.
func (t *Task) foldMaxRSS(m *mm.MemoryManager) {
	peak := m.PeakResidentPages()
	t.k.mu.Lock()
	t.tg.maxRSS = max(t.tg.maxRSS, peak)
	t.k.mu.Unlock()
}

// MaxRSS returns ru_maxrss in pages: with children (RUSAGE_CHILDREN) the
// largest peak of the process's reaped descendants, otherwise
// (RUSAGE_SELF, RUSAGE_THREAD) the process's own peak, the address spaces
// it left included.
func (t *Task) MaxRSS(children bool) uint64 {
	t.k.mu.Lock()
	n := t.tg.maxRSS
	if children {
		n = t.tg.childMaxRSS
	}
	t.k.mu.Unlock()
	if !children && t.mm != nil {
		n = max(n, t.mm.PeakResidentPages())
	}
	return n
}
