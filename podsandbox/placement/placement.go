// Package placement chooses the host CPUs a pod's threads run on: the
// threads of its sentry, its gofer and its platform's stub processes,
// which are all the threads of its cgroup.
//
// # Why
//
// A sandbox is a chain of hand-offs. An application thread traps to the
// sentry and waits for its answer; the sentry's goroutines wake one
// another (a packet's arrival wakes the reader, the reader's answer wakes
// the stub). Between threads on different CPUs each hand-off is a
// wake-up interrupt; on a virtual machine that interrupt is an exit to
// the hypervisor, and if the woken CPU was idle its halt has to end
// first. On one CPU the same hand-off is a plain context switch. Measured
// on the 2-CPU development VM (netbench over loopback inside one sandbox,
// all on one CPU against left to the kernel): a UDP round trip of 295 µs
// against 657 µs, 1,110 TCP connect+close per second against 485, TCP
// at 11.4 against 7.1 Gbit/s. The kernel does not find this placement by
// itself: it puts a woken thread near its waker only some of the time,
// and its load balancer spreads busy threads apart.
//
// # Policy
//
// Every pod the Placer sees starts consolidated: all its threads are bound
// to one CPU of those its cgroup's cpuset allows. It stays so while its
// time goes to the sentry in hand-offs that carry work (network I/O,
// files), however busy it is, since that work is a chain and runs faster
// on one CPU. It is spread (each thread gets back the affinity it had, and
// the kernel places them) when it fills its CPU (saturatedUse for
// saturatedTicks) either with application code (applicationHeavy of its
// time in application user mode), because parallel application threads
// need CPUs of their own, or with hand-offs so frequent (trapHeavy system
// calls and faults per CPU-second, as the sentry counts them) that they
// leave little work in each: on one CPU each is a pair of context
// switches, where on two the stub and the sentry spin for each other's
// answers. A spread pod is consolidated again when it uses less than
// lightUse CPUs for a second; otherwise it is consolidated after a backoff
// (minBackoff, doubling to maxBackoff while each probe confirms the
// spread) and judged anew. Application time is judged only while the pod
// is consolidated: spread, the systrap platform's stubs spin in user mode
// waiting for the sentry, which would count as application time.
//
// The CPU is the allowed one that has been least busy lately, counting
// the consolidated pods already placed there, so that idle pods spread
// over the node. A consolidated pod moves when the rest of the node's
// load on its CPU exceeds another allowed CPU's by moveMargin.
//
// # Steering
//
// The host's processing of the frames a pod sends (its veth, the bridge,
// the host's TCP) runs inside the sentry's writes, on the pod's CPU. While
// a consolidated pod sends in bulk, the Placer has the kernel do it on the
// pod's other allowed CPUs instead, with Receive Packet Steering on the
// host's end of its veth (steer.go says when, and what it measured).
//
// # The node's limits
//
// Consolidation never widens what a pod may use: the CPU comes from the
// cgroup's effective cpuset (kubelet's static CPU manager and
// UpdateContainerResources set it) and the daemon's own affinity; a pod
// allowed fewer than two CPUs is left alone. The CPU quota is the
// cgroup's, whatever the placement. A daemon told to leave placement to
// the kernel lets go, once, of the threads an earlier one bound
// (Release).
package placement

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"time"

	"golang.org/x/sys/unix"
)

// Cgroup is what the Placer reads of a pod's cgroup
// (podsandbox/cgroup.Cgroup).
type Cgroup interface {
	// CPUNanos is the CPU time its processes have used.
	CPUNanos() (uint64, error)
	// Processes and Threads list its PIDs and its threads' IDs.
	Processes() ([]int, error)
	Threads() ([]int, error)
	// EffectiveCPUs is its cpuset's CPUs, false without a cpuset.
	EffectiveCPUs() (unix.CPUSet, bool, error)
}

// Target is a running pod to place.
type Target struct {
	ID     string
	Cgroup Cgroup
	// Sentry is the sentry's PID, and Runtime the PIDs of the sentry and
	// gofer: every other process in the cgroup runs application code.
	Sentry  int
	Runtime []int
	// Traps counts the times the pod's tasks came back from application
	// code to its sentry (control.OpTraps); nil where it cannot be asked.
	Traps func() (uint64, error)
	// NetNS is the pod's network namespace, "" for a pod on the host's
	// network: the host's ends of its veths are steered (steer.go).
	NetNS string
}

// Constants of the CPU choice.
const (
	// checkTicks is how often a consolidated pod's CPU is reconsidered.
	checkTicks = 4
	// moveMargin is how much busier, in CPUs, the rest of the node must
	// make a pod's CPU than another allowed CPU before the pod moves.
	moveMargin = 0.3
	// placedWeight is what one consolidated pod weighs in the choice of
	// a CPU, on top of the CPU's measured load: enough to separate idle
	// pods, too little to outweigh a tenth of a CPU of real load.
	placedWeight = 0.05
)

// Placer places the threads of the pods targets lists, every tick, until
// Run's context ends.
type Placer struct {
	log     *slog.Logger
	targets func() []Target
	// everywhere is the daemon's affinity when the Placer was made:
	// what a thread of a pod gets back when it was born bound.
	everywhere unix.CPUSet

	// links finds the host's ends of the links of a pod's network
	// namespace (hostLinks, outside tests).
	links func(netns string) ([]link, error)

	// The fields below are used only by Run's goroutine.
	cpus *hostCPUs
	pods map[string]*pod
}

// pod is the Placer's state of one pod.
type pod struct {
	pol   policy
	bound binding
	// lastNanos and lastAt are the cgroup's CPU time at the last tick.
	lastNanos uint64
	lastAt    time.Time
	// sinceCheck counts ticks since the pod's CPU was last considered.
	sinceCheck int
	// failing is set once an error placing the pod was logged, and
	// cleared by a tick that succeeds, so an error is logged once.
	failing bool
	// links are the host's ends of the pod's links, looked for at
	// linksAt (zero: not yet); steerFailing is failing's like for them.
	links        []steered
	linksAt      time.Time
	steerFailing bool
}

// steered is one host link of a pod and its steering.
type steered struct {
	link link
	pol  steerPolicy
	// cpus is what was last written to the link, once written is set.
	cpus    unix.CPUSet
	written bool
}

// linksRetry is how long after failing to find a pod's links they are
// looked for again.
const linksRetry = 4 * time.Second

// New returns a Placer of the pods targets returns; targets is called
// once a tick, from Run's goroutine.
func New(targets func() []Target, log *slog.Logger) (*Placer, error) {
	p := &Placer{log: log, targets: targets, links: hostLinks, cpus: newHostCPUs(), pods: map[string]*pod{}}
	if err := unix.SchedGetaffinity(0, &p.everywhere); err != nil {
		return nil, err
	}
	return p, nil
}

// Run places the pods every tick until ctx ends.
func (p *Placer) Run(ctx context.Context) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p.tick(now)
		}
	}
}

// tick places every pod once.
func (p *Placer) tick(now time.Time) {
	if err := p.cpus.sample(); err != nil {
		p.log.Debug("cpu placement: reading /proc/stat", "err", err)
	}
	placed := map[int]int{}
	for _, q := range p.pods {
		if q.bound.cpu >= 0 {
			placed[q.bound.cpu]++
		}
	}
	seen := map[string]bool{}
	for _, t := range p.targets() {
		seen[t.ID] = true
		q := p.pods[t.ID]
		if q == nil {
			q = &pod{pol: newPolicy(), bound: newBinding()}
			p.pods[t.ID] = q
		}
		cpu, allowed, err := p.place(t, q, now, placed)
		// A pod that could not be placed counts as not consolidated.
		p.steer(t, q, now, cpu, allowed)
		switch {
		case err != nil && !q.failing:
			p.log.Warn("cpu placement: cannot place the pod's threads; they stay where they are", "pod", t.ID, "err", err)
			q.failing = true
		case err == nil && q.failing:
			p.log.Info("cpu placement: placing the pod's threads again", "pod", t.ID)
			q.failing = false
		}
	}
	for id := range p.pods {
		if !seen[id] {
			delete(p.pods, id) // stopped: its threads are gone
		}
	}
}

// place runs one tick of pod t: its policy, then its threads' affinity.
// placed counts the consolidated pods of each CPU, and is kept up to
// date. It returns the CPU the pod is consolidated on (-1 when it is
// not) and the CPUs it may use.
func (p *Placer) place(t Target, q *pod, now time.Time, placed map[int]int) (int, unix.CPUSet, error) {
	nanos, err := t.Cgroup.CPUNanos()
	if err != nil {
		return -1, unix.CPUSet{}, err
	}
	var use float64
	if !q.lastAt.IsZero() && now.After(q.lastAt) && nanos >= q.lastNanos {
		use = float64(nanos-q.lastNanos) / float64(now.Sub(q.lastAt))
	}
	q.lastNanos, q.lastAt = nanos, now

	allowed, err := p.allowed(t.Cgroup)
	if err != nil {
		return -1, allowed, err
	}
	tids, err := t.Cgroup.Threads()
	if err != nil {
		return -1, allowed, err
	}
	unbind := func() (int, unix.CPUSet, error) {
		if q.bound.cpu >= 0 {
			placed[q.bound.cpu]--
		}
		return -1, allowed, q.bound.unbind(tids, t.Cgroup.Threads, p.everywhere)
	}
	if allowed.Count() < 2 {
		return unbind()
	}
	wasSpread := q.pol.spread
	spread := q.pol.step(now, use, func() (times, bool) {
		pids, err := t.Cgroup.Processes()
		if err != nil {
			return times{}, false
		}
		tm, ok := podTimes(pids, t.Sentry, t.Runtime)
		if ok && t.Traps != nil {
			if n, err := t.Traps(); err == nil {
				tm.traps, tm.trapsKnown = n, true
			} else {
				p.log.Debug("cpu placement: counting the pod's traps", "pod", t.ID, "err", err)
			}
		}
		return tm, ok
	})
	if spread {
		if !wasSpread {
			p.log.Debug("cpu placement: spreading the pod", "pod", t.ID, "busy with", q.pol.why, "cpus", use)
		}
		return unbind()
	}
	cpu := q.bound.cpu
	q.sinceCheck++
	if cpu < 0 || !allowed.IsSet(cpu) || q.sinceCheck >= checkTicks {
		q.sinceCheck = 0
		if cpu >= 0 {
			placed[cpu]--
		}
		cpu = p.choose(allowed, placed, cpu, use)
		placed[cpu]++
		if cpu != q.bound.cpu {
			p.log.Debug("cpu placement: consolidating the pod", "pod", t.ID, "cpu", cpu, "was", q.bound.cpu)
		}
	}
	if err := q.bound.bind(tids, cpu, p.everywhere); err != nil {
		return -1, allowed, err
	}
	return cpu, allowed, nil
}

// steer runs one tick of the steering of pod t's links (steer.go): a pod
// consolidated on cpu has the host's work on the frames it sends in bulk
// done on the other CPUs it may use; any other's is done where it is
// sent.
func (p *Placer) steer(t Target, q *pod, now time.Time, cpu int, allowed unix.CPUSet) {
	if t.NetNS == "" || p.links == nil {
		return
	}
	if q.linksAt.IsZero() || (q.links == nil && q.steerFailing && now.Sub(q.linksAt) >= linksRetry) {
		q.linksAt = now
		links, err := p.links(t.NetNS)
		if err != nil {
			p.steerFailed(t, q, err)
			return
		}
		q.links = make([]steered, len(links))
		for i, l := range links {
			q.links[i].link = l
		}
	}
	others := allowed
	if cpu >= 0 {
		others.Clear(cpu)
	}
	consolidated := cpu >= 0 && others.Count() > 0
	var failed error
	for i := range q.links {
		s := &q.links[i]
		sent, received, err := s.link.counters()
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone with the pod's network, as it stops
		}
		if err != nil {
			failed = err
			continue
		}
		var want unix.CPUSet
		if s.pol.step(now, sent, received, consolidated) {
			want = others
		}
		if s.written && want == s.cpus {
			continue
		}
		if err := s.link.steer(want); err != nil {
			failed = err
			continue
		}
		if want.Count() > 0 {
			p.log.Debug("cpu placement: the host's work on the pod's frames goes to other CPUs", "pod", t.ID, "link", s.link.name(), "cpus", cpuMask(want))
		} else if s.written {
			p.log.Debug("cpu placement: the host's work on the pod's frames stays where they are sent", "pod", t.ID, "link", s.link.name())
		}
		s.cpus, s.written = want, true
	}
	if failed != nil {
		p.steerFailed(t, q, failed)
	} else if q.steerFailing {
		q.steerFailing = false
		p.log.Info("cpu placement: steering the pod's frames again", "pod", t.ID)
	}
}

// steerFailed logs a failure of pod t's steering, once until it works
// again: the pod runs on, its frames processed where they are sent.
func (p *Placer) steerFailed(t Target, q *pod, err error) {
	if !q.steerFailing {
		p.log.Warn("cpu placement: cannot steer the host's work on the pod's frames; it is done where they are sent", "pod", t.ID, "err", err)
		q.steerFailing = true
	}
}

// allowed returns the CPUs pod threads may be bound to: the cgroup's
// cpuset within the daemon's affinity.
func (p *Placer) allowed(cg Cgroup) (unix.CPUSet, error) {
	set, ok, err := cg.EffectiveCPUs()
	if err != nil || !ok {
		return p.everywhere, err
	}
	for i := range set {
		set[i] &= p.everywhere[i]
	}
	return set, nil
}

// choose returns the CPU for a consolidated pod: the allowed CPU with
// the least load, a CPU's load being its recent busy share plus
// placedWeight per pod placed on it. The pod's current CPU cur (-1 for
// none), where it used use CPUs, is kept unless another is better by
// moveMargin once the pod's own use is taken out of cur's load.
func (p *Placer) choose(allowed unix.CPUSet, placed map[int]int, cur int, use float64) int {
	load := func(cpu int) float64 { return p.cpus.busy[cpu] + placedWeight*float64(placed[cpu]) }
	best := -1
	for cpu := 0; cpu < len(allowed)*64; cpu++ {
		if allowed.IsSet(cpu) && cpu != cur && (best < 0 || load(cpu) < load(best)) {
			best = cpu
		}
	}
	if cur < 0 || !allowed.IsSet(cur) {
		return best
	}
	if best < 0 || load(cur)-use <= load(best)+moveMargin {
		return cur
	}
	return best
}

// Release gives every thread of the targets that is bound to a single
// CPU the daemon's affinity: a daemon that leaves placement to the kernel
// undoes what an earlier daemon's Placer bound, once, when it starts. (A
// thread the ptrace platform pinned with its tracer is let go too.)
func Release(targets []Target, log *slog.Logger) {
	var everywhere unix.CPUSet
	if err := unix.SchedGetaffinity(0, &everywhere); err != nil {
		log.Warn("cpu placement: reading the daemon's affinity", "err", err)
		return
	}
	if everywhere.Count() < 2 {
		return // nothing was bound
	}
	for _, t := range targets {
		tids, err := t.Cgroup.Threads()
		if err != nil {
			log.Warn("cpu placement: listing the pod's threads", "pod", t.ID, "err", err)
			continue
		}
		released := 0
		for _, tid := range tids {
			var now unix.CPUSet
			if unix.SchedGetaffinity(tid, &now) != nil || now.Count() != 1 {
				continue
			}
			if unix.SchedSetaffinity(tid, &everywhere) == nil {
				released++
			}
		}
		if released > 0 {
			log.Info("cpu placement: the pod's threads may use every CPU again", "pod", t.ID, "threads", released)
		}
		unsteer(t, log)
	}
}

// unsteer lets the host process the frames of pod t where they are sent
// again, on each of its links an earlier daemon may have steered.
func unsteer(t Target, log *slog.Logger) {
	if t.NetNS == "" {
		return
	}
	links, err := hostLinks(t.NetNS)
	if err != nil {
		log.Warn("cpu placement: finding the pod's links to undo their steering", "pod", t.ID, "err", err)
		return
	}
	for _, l := range links {
		if err := l.steer(unix.CPUSet{}); err != nil {
			log.Warn("cpu placement: undoing the steering of the pod's frames", "pod", t.ID, "link", l.name(), "err", err)
		}
	}
}
