package syscalls

import (
	"github.com/cocoonrt/cocoon/internal/hostseccomp"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// The host's amd64 numbers are the sandbox's: this table names the host
// system calls the sentry's and the gofer's seccomp filters refuse.
func init() {
	hostseccomp.SetNames(func(nr int) string {
		if nr >= 0 && nr < kernel.MaxSyscall {
			return AMD64.Entries[nr].Name
		}
		return ""
	})
}
