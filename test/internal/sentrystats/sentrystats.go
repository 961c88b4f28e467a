// Package sentrystats reads the figures a `cocoon do` sentry prints on
// its standard error when $COCOON_SENTRY_STATS is set
// (sentry/boot/debugstats.go): one line at start, one after every task
// has exited, then the goroutines and heap sites still alive.
package sentrystats

import (
	"strconv"
	"strings"
)

// Env is the variable that turns the figures on.
const Env = "COCOON_SENTRY_STATS"

// linePrefix starts every line of the figures.
const linePrefix = "cocoon sentry stats:"

const prefix = linePrefix + " phase="

// Parse returns the numeric NAME=VALUE pairs of the start and exit lines
// of stderr; ok is false unless both are there.
func Parse(stderr string) (start, end map[string]int, ok bool) {
	for _, line := range strings.Split(stderr, "\n") {
		rest, found := strings.CutPrefix(line, prefix)
		if !found {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		m := map[string]int{}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			if n, err := strconv.Atoi(v); err == nil {
				m[k] = n
			}
		}
		switch fields[0] {
		case "start":
			start = m
		case "exit":
			end = m
		}
	}
	return start, end, start != nil && end != nil
}

// Summary is stderr without the goroutine dump that follows the exit
// figures, but with the heap sites after it.
func Summary(stderr string) string {
	before, after, found := strings.Cut(stderr, linePrefix+" goroutines at exit follow")
	if !found {
		return stderr
	}
	if _, heap, ok := strings.Cut(after, linePrefix+" live heap"); ok {
		return before + linePrefix + " live heap" + heap
	}
	return before
}
