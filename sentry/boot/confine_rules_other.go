//go:build !amd64

package boot

import hs "github.com/cocoonrt/cocoon/internal/hostseccomp"

// sentryRules: the allow-list exists for amd64 only; elsewhere a sentry
// asked to confine itself refuses to run (confineSelf).
func sentryRules(platform string, hostNetwork bool) []hs.Rule { return nil }
