//go:build amd64

package hostseccomp

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A filter whose deny action is SECCOMP_RET_TRAP raises SIGSYS in the
// thread that made the refused call. The Go runtime would turn that into
// a crash whose traceback names the call only as a number in some frame;
// InstallReporter instead installs a handler of its own, in assembly
// (report_amd64.s), since it runs on whatever thread the runtime was
// using and must not touch the Go scheduler: it writes one prepared line
// naming the call to standard error and then makes killNr, which every
// filter Build makes kills the process, so that it still ends by SIGSYS.

// reportSlots are the prepared lines: one per system call number below
// len-1, the last for any other number. Each is a length byte and the
// text. A global array, so the handler can address it statically.
var reportLines [reportSlots][reportLineBytes]byte

const (
	reportSlots     = 513
	reportLineBytes = 128
)

// Implemented in report_amd64.s.
func sigsysHandler()
func sigsysRestorer()
func reportAddrs() (handler, restorer uintptr)

// registeredNames names system calls for reporters given none
// (SetNames).
var registeredNames func(nr int) string

// SetNames registers the names of the host's system calls, for
// InstallReporter calls without a name function: the binary's system
// call table registers them at init.
func SetNames(name func(nr int) string) { registeredNames = name }

// InstallReporter prepares the lines ("<who>: host system call NAME
// (NR) refused by the seccomp filter") with names from name (or the
// registered ones when nil), which may return "", and makes the handler SIGSYS's. Install it after the Go
// runtime's own handlers (any time after start-up) and never call
// os/signal on SIGSYS afterwards, which would put the runtime's back.
func InstallReporter(who string, name func(nr int) string) error {
	for nr := 0; nr < reportSlots; nr++ {
		var s string
		switch n := ""; {
		case nr == reportSlots-1:
			s = fmt.Sprintf("%s: a host system call beyond the table was refused by the seccomp filter; exiting\n", who)
		default:
			if name == nil {
				name = registeredNames
			}
			if name != nil {
				n = name(nr)
			}
			if n == "" {
				n = "#" + fmt.Sprint(nr)
			}
			s = fmt.Sprintf("%s: host system call %s (%d) refused by the seccomp filter; exiting\n", who, n, nr)
		}
		if len(s) > reportLineBytes-1 {
			s = s[:reportLineBytes-2] + "\n"
		}
		reportLines[nr][0] = byte(len(s))
		copy(reportLines[nr][1:], s)
	}
	handler, restorer := reportAddrs()
	// struct kernel_sigaction on x86-64.
	act := struct {
		handler, flags, restorer, mask uint64
	}{
		handler:  uint64(handler),
		flags:    saSiginfo | saOnstack | saRestorer,
		restorer: uint64(restorer),
		mask:     ^uint64(0),
	}
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGSYS), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	if e != 0 {
		return fmt.Errorf("installing the SIGSYS reporter: %w", e)
	}
	return nil
}

// sigaction flags (x86-64); SA_RESTORER is required of every handler.
const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestorer = 0x04000000
)
