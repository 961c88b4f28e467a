package kernel

import "sync/atomic"

// Page fault counts: getrusage's ru_minflt and ru_majflt, the min_flt,
// cmin_flt, maj_flt and cmaj_flt of /proc/PID/stat, /proc/vmstat's
// pgfault and pgmajfault.
//
// They count the faults the sandbox's kernel serves for a task (major
// when the fault read file data, as Linux counts one that needed I/O).
// Pages the sentry populates ahead of a fault (its fault-around window,
// a copy into a buffer, the pages a fork copies) take none, so programs
// see fewer faults than on Linux, which counts a fault for each page a
// program first touches; a system call's copies into untouched memory
// are not counted either.

// faultCounts are a task's, or a process's, fault counts.
type faultCounts struct {
	minor, major uint64
}

func (c *faultCounts) add(o faultCounts) {
	c.minor += o.minor
	c.major += o.major
}

// taskFaults is embedded in Task: its own counts, which only its
// goroutine adds to and others read.
type taskFaults struct {
	minFlt, majFlt atomic.Uint64
}

func (f *taskFaults) pageFaults() faultCounts {
	return faultCounts{minor: f.minFlt.Load(), major: f.majFlt.Load()}
}

// countFault records a fault served for the task.
func (t *Task) countFault(major bool) {
	if major {
		t.majFlt.Add(1)
		t.k.majFaults.Add(1)
	} else {
		t.minFlt.Add(1)
	}
	t.k.faults.Add(1)
}

// processFaultsLocked returns the faults of the group's tasks, the exited
// ones included.
//
// Preconditions: k.mu is held.
func (tg *ThreadGroup) processFaultsLocked() faultCounts {
	c := tg.exitedFaults
	for t := range tg.tasks {
		c.add(t.pageFaults())
	}
	return c
}

// Faults returns the fault counts getrusage reports for who: the
// calling thread (RUSAGE_THREAD), its process (RUSAGE_SELF) or the
// process's reaped children and their descendants (RUSAGE_CHILDREN).
func (t *Task) Faults(who int32) (minor, major uint64) {
	var c faultCounts
	switch who {
	case rusageThread:
		c = t.pageFaults()
	case rusageChildren:
		t.k.mu.Lock()
		c = t.tg.childFaults
		t.k.mu.Unlock()
	default:
		t.k.mu.Lock()
		c = t.tg.processFaultsLocked()
		t.k.mu.Unlock()
	}
	return c.minor, c.major
}

// Values of getrusage's who.
const (
	rusageChildren = -1
	rusageThread   = 1
)

// PageFaults returns every fault the kernel served since boot, and the
// major ones among them (/proc/vmstat's pgfault and pgmajfault).
func (k *Kernel) PageFaults() (all, major uint64) {
	return k.faults.Load(), k.majFaults.Load()
}
