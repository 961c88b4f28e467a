package hostseccomp

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ActionAvailable reports whether the kernel knows seccomp action a.
func ActionAvailable(a uint32) bool {
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&a)))
	return e == 0
}

// Install installs filter on every thread of the process
// (SECCOMP_FILTER_FLAG_TSYNC). The caller must hold no_new_privs or
// CAP_SYS_ADMIN.
func Install(filter []unix.SockFilter) error {
	if len(filter) == 0 {
		return fmt.Errorf("installing an empty seccomp filter")
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	r, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if e != 0 {
		return fmt.Errorf("installing the seccomp filter: %w", e)
	}
	if r != 0 {
		return fmt.Errorf("installing the seccomp filter: thread %d could not be synchronized", r)
	}
	return nil
}
