//go:build race

// Package race says whether the race detector is built in: under it,
// sync.Pool drops items at random on purpose, so tests that count
// allocations of pooled paths skip.
package race

// Enabled is true in a build with -race.
const Enabled = true
