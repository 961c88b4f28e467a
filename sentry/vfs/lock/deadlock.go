package lock

import (
	"sync"

	"golang.org/x/sys/unix"
)

// waitRecord says that owner is blocked (in F_SETLKW) on a request that
// conflicts with locks held by blockers. It is Linux's entry in
// blocked_hash, except that it names every conflicting owner rather than
// only the first, so that a cycle through any of them is detected at once.
type waitRecord struct {
	owner    ownerKey
	blockers []ownerKey
}

var (
	// graphMu protects graph. It is Linux's blocked_lock_lock: it is global
	// because deadlocks span inodes. It may be taken with a Locks.mu held,
	// never the other way round.
	graphMu sync.Mutex

	// graph is the waits-for graph of POSIX owners: for each owner blocked
	// in F_SETLKW, the set of its waitRecords (an owner is a thread group,
	// several of whose threads may be blocked at once). Empty sets are
	// deleted. A record is in graph iff it is in the blocked set of the
	// Locks it waits on.
	graph = make(map[ownerKey]map[*waitRecord]struct{})
)

// graphRemove removes rec from graph.
//
// Preconditions: graphMu is held.
func graphRemove(rec *waitRecord) {
	recs := graph[rec.owner]
	delete(recs, rec)
	if len(recs) == 0 {
		delete(graph, rec.owner)
	}
}

// wouldDeadlock reports whether owner waiting for blockers closes a cycle in
// the waits-for graph, i.e. whether some blocker is (transitively) waiting
// for owner.
//
// Preconditions: graphMu is held.
func wouldDeadlock(owner ownerKey, blockers []ownerKey) bool {
	visited := make(map[ownerKey]struct{})
	stack := append([]ownerKey(nil), blockers...)
	for len(stack) != 0 {
		o := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if o == owner {
			return true
		}
		if _, ok := visited[o]; ok {
			continue
		}
		visited[o] = struct{}{}
		for rec := range graph[o] {
			stack = append(stack, rec.blockers...)
		}
	}
	return false
}

// block records that owner is about to wait on l for blockers, replacing
// old (its previous record, which may already have been removed by a
// wake-up), and returns the new record. It fails with EDEADLK, leaving
// owner out of the graph, if the wait would deadlock.
//
// Preconditions: l.mu is held.
func (l *Locks) block(old *waitRecord, owner ownerKey, blockers []ownerKey) (*waitRecord, error) {
	graphMu.Lock()
	defer graphMu.Unlock()
	if old != nil {
		if _, ok := l.blocked[old]; ok {
			delete(l.blocked, old)
			graphRemove(old)
		}
	}
	if wouldDeadlock(owner, blockers) {
		return nil, unix.EDEADLK
	}
	rec := &waitRecord{owner: owner, blockers: blockers}
	recs := graph[owner]
	if recs == nil {
		recs = make(map[*waitRecord]struct{})
		graph[owner] = recs
	}
	recs[rec] = struct{}{}
	if l.blocked == nil {
		l.blocked = make(map[*waitRecord]struct{})
	}
	l.blocked[rec] = struct{}{}
	return rec, nil
}

// withdraw removes rec, if not nil and still present, from the graph.
//
// Preconditions: l.mu is held.
func (l *Locks) withdraw(rec *waitRecord) {
	if rec == nil {
		return
	}
	if _, ok := l.blocked[rec]; !ok {
		return // Already removed by a wake-up.
	}
	delete(l.blocked, rec)
	graphMu.Lock()
	graphRemove(rec)
	graphMu.Unlock()
}
