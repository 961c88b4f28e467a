//go:build !amd64

package gofer

// The gofer's seccomp allow-list exists for amd64 only; elsewhere a
// confined gofer refuses to start (installSeccomp) rather than run without
// one.
const seccompArch = 0

var seccompRules []seccompRule
