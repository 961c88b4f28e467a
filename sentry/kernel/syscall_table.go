package kernel

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
	"golang.org/x/sys/unix"
)

// SupportLevel says how completely a system call is implemented.
type SupportLevel int

// Support levels, as `cocoon syscalls` prints them.
const (
	Unimplemented SupportLevel = iota
	Partial
	Full
)

func (s SupportLevel) String() string {
	switch s {
	case Full:
		return "full"
	case Partial:
		return "partial"
	}
	return "unimplemented"
}

// SyscallFn implements one system call. It returns the value for rax, or
// an error that is a unix.Errno.
type SyscallFn func(t *Task, args arch.SyscallArgs) (uint64, error)

// Syscall is one entry of the table.
type Syscall struct {
	Name    string
	Fn      SyscallFn
	Support SupportLevel
	// Note says what is missing from a partial implementation.
	Note string
}

// MaxSyscall bounds system call numbers on amd64.
const MaxSyscall = 512

// SyscallTable maps numbers to implementations.
type SyscallTable struct {
	Entries [MaxSyscall]Syscall
}

// dispatch runs system call nr and returns the raw rax value.
func (t *Task) dispatch(nr uint64, args arch.SyscallArgs) uint64 {
	var e *Syscall
	if nr < MaxSyscall {
		e = &t.k.Syscalls.Entries[nr]
	}
	if e == nil || e.Fn == nil {
		if t.k.countUnimplemented(nr) {
			name := ""
			if e != nil {
				name = e.Name
			}
			t.k.Log.Info("unimplemented system call", "nr", nr, "name", name)
		}
		return errnoRet(unix.ENOSYS)
	}
	ret, err := e.Fn(t, args)
	if err != nil {
		return errnoRet(err)
	}
	return ret
}

// errnoRet converts err into the negative errno a system call returns.
func errnoRet(err error) uint64 {
	errno, ok := err.(unix.Errno)
	if !ok {
		// Internal errors never leak their text to the application.
		errno = unix.EIO
	}
	return uint64(-int64(errno))
}
