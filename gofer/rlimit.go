package gofer

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// RaiseFileLimit raises the soft limit on open descriptors to the hard
// limit: every file the sandbox has looked up holds a descriptor (in the
// gofer) or two (in the sentry), and the soft limit is often far below
// what the node allows. A failure is logged and the lower limit kept.
func RaiseFileLimit(logw io.Writer) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintf(logw, "cocoon: reading RLIMIT_NOFILE: %v\n", err)
		return
	}
	if lim.Cur >= lim.Max {
		return
	}
	lim.Cur = lim.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintf(logw, "cocoon: raising RLIMIT_NOFILE to %d: %v (keeping the lower limit)\n", lim.Max, err)
	}
}
