package placement

import (
	"errors"

	"golang.org/x/sys/unix"
)

// binding is the affinity the Placer has given one pod's threads.
//
// It is used only by the Placer's goroutine.
type binding struct {
	// cpu is the CPU the pod is bound to, -1 when it is not bound.
	cpu int
	// original is, for each thread bound, the affinity it had before,
	// which unbinding gives back: the sentry may have narrowed a
	// thread's affinity itself.
	original map[int]unix.CPUSet
}

func newBinding() binding { return binding{cpu: -1, original: map[int]unix.CPUSet{}} }

// bind binds every thread in tids to cpu; threads already bound to it
// are left alone, so a tick costs one system call per new thread.
// Threads that have exited are forgotten. It returns the first error
// other than a thread having exited.
func (b *binding) bind(tids []int, cpu int, fallback unix.CPUSet) error {
	if cpu != b.cpu {
		if err := b.unbind(tids, nil, fallback); err != nil {
			return err
		}
		b.cpu = cpu
	}
	var one unix.CPUSet
	one.Set(cpu)
	live := make(map[int]bool, len(tids))
	var first error
	for _, tid := range tids {
		live[tid] = true
		if _, done := b.original[tid]; done {
			continue
		}
		var was unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &was); err != nil {
			first = firstReal(first, err)
			continue
		}
		if was.Count() == 1 {
			// Born of a bound thread, or bound by a daemon before
			// a restart: what it would have had is the pod's usual
			// affinity. (A thread the ptrace platform pinned with its
			// tracer gets it too, and runs unpinned once spread.)
			was = fallback
		}
		if err := unix.SchedSetaffinity(tid, &one); err != nil {
			first = firstReal(first, err)
			continue
		}
		b.original[tid] = was
	}
	for tid := range b.original {
		if !live[tid] {
			delete(b.original, tid)
		}
	}
	return first
}

// unbind gives every thread in tids its original affinity back; a
// thread born bound since the last tick gets fallback. A thread the pod
// starts meanwhile, of a thread still bound, is born bound and is in no
// list read before: relist, when given, lists the pod's threads again
// after each round, and unbind goes on until a round finds no such
// thread (a thread started after its parent was unbound is born free).
func (b *binding) unbind(tids []int, relist func() ([]int, error), fallback unix.CPUSet) error {
	if b.cpu < 0 {
		return nil
	}
	var one unix.CPUSet
	one.Set(b.cpu)
	var first error
	done := make(map[int]bool, len(tids))
	for round := 0; round < maxUnbindRounds; round++ {
		found := false
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			done[tid] = true
			was, known := b.original[tid]
			if !known {
				var now unix.CPUSet
				if err := unix.SchedGetaffinity(tid, &now); err != nil || now != one {
					first = firstReal(first, err)
					continue
				}
				was = fallback
			}
			found = true
			err := unix.SchedSetaffinity(tid, &was)
			if errors.Is(err, unix.EINVAL) {
				// The cpuset changed and the original is outside it.
				err = unix.SchedSetaffinity(tid, &fallback)
			}
			first = firstReal(first, err)
		}
		if !found || relist == nil {
			break
		}
		var err error
		if tids, err = relist(); err != nil {
			first = firstReal(first, err)
			break
		}
	}
	clear(b.original)
	b.cpu = -1
	return first
}

// maxUnbindRounds bounds unbind's rounds: each frees the threads the
// previous round's list was the first to show, and a pod that starts
// threads faster than that keeps its newest ones bound.
const maxUnbindRounds = 8

// firstReal keeps the first error that is not ESRCH (the thread exited,
// which is normal).
func firstReal(first, err error) error {
	if first != nil || err == nil || errors.Is(err, unix.ESRCH) {
		return first
	}
	return err
}
