//go:build !amd64

package hostseccomp

import "errors"

// InstallReporter exists on amd64 only, the one architecture with
// allow-lists; elsewhere confinement refuses to start before this.
func InstallReporter(who string, name func(nr int) string) error {
	return errors.New("the SIGSYS reporter is amd64-only")
}

// SetNames is a no-op where there is no reporter.
func SetNames(name func(nr int) string) {}
