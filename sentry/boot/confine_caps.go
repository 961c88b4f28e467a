package boot

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/hostseccomp"
)

// setCapabilities makes mask the permitted and effective sets, and empties
// the inheritable set, on every thread.
func setCapabilities(mask uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(mask), Permitted: uint32(mask)},
		{Effective: uint32(mask >> 32), Permitted: uint32(mask >> 32)},
	}
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	switch {
	case e == syscall.ENOTSUP:
		return hostseccomp.ErrCgo
	case e != 0:
		return fmt.Errorf("confinement: capset: %w", e)
	}
	return nil
}
