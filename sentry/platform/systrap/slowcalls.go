package systrap

import "sync/atomic"

// Which system calls the sentry answers too slowly for the stub's spin.
//
// A stub thread spins for the sentry's answer for stubSpinBudget before it
// sleeps. For a call the sentry takes longer to serve (a fork, a write that
// pushes packets through the host's network, a file read from the gofer)
// the spin is pure loss: it runs out anyway, and on a machine with few
// CPUs it holds one that the sentry, or whatever the call waits for,
// could use. Blocking calls already cut the spin (context.Blocking); the
// others are told apart only by what the sentry took before.
//
// slowCalls keeps, per system call number and for the whole sandbox (its
// processes are often short-lived: a server that forks a child per
// connection makes a new stub thread for every one, which never runs
// long enough to learn by itself), a two-bit saturating counter moved up
// by every answer that took the budget or longer and down by every quicker
// one. A call whose counter is in its upper half has its spin cut as soon
// as the sentry sees it; the stub then sleeps at once and is woken by the
// answer. Guessing wrong either way costs about the same (a spin that runs
// out, or a wake-up the spin would have saved), so the counter follows
// the recent majority and changes its guess after at most two answers
// against it.
type slowCalls struct {
	// score holds a counter per call number. Updates are a load and a
	// store, not atomic as a whole: a lost update among racing threads
	// only delays the guess by one answer.
	score [slowCallNumbers]atomic.Uint32
}

const (
	// slowCallNumbers bounds the call numbers tracked: every x86-64
	// system call number is below it. Others (x32, nonsense) are never
	// guessed slow.
	slowCallNumbers = 512
	slowScoreMax    = 3
	// slowGuessFrom is the lowest score guessed slow.
	slowGuessFrom = 2
)

// slow reports whether the sentry is expected to take stubSpinBudget or
// longer to answer call number no.
func (s *slowCalls) slow(no uint64) bool {
	return no < slowCallNumbers && s.score[no].Load() >= slowGuessFrom
}

// note records that an answer to call number no took the budget or longer
// (took) or not.
func (s *slowCalls) note(no uint64, took bool) {
	if no >= slowCallNumbers {
		return
	}
	c := &s.score[no]
	v := c.Load()
	switch {
	case took && v < slowScoreMax:
		c.Store(v + 1)
	case !took && v > 0:
		c.Store(v - 1)
	}
}
