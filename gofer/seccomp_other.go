//go:build !amd64

package gofer

import hs "github.com/cocoonrt/cocoon/internal/hostseccomp"

// The gofer's seccomp allow-list exists for amd64 only; elsewhere a
// confined gofer refuses to start (installSeccomp) rather than run without
// one.
const seccompArch = 0

func goferRules(pid uint32) []hs.Rule { return nil }
