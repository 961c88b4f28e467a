// Package caps drops capabilities on every thread of a Go process, as the
// sentry and the gofer do when they confine themselves. Capabilities are
// per thread and a Go program has many, so each change is made on all of
// them with syscall.AllThreadsSyscall (threads made later inherit from
// the thread that makes them), which a binary linking cgo cannot do.
package caps

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrCgo explains why a change cannot be made on every thread.
var ErrCgo = errors.New("cannot change every thread of the process: this cocoon binary links cgo (syscall.AllThreadsSyscall is unsupported); build it with CGO_ENABLED=0")

// Mask is a set of capabilities, bit n for capability n.
func Mask(caps ...int) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return m
}

// AllThreadsPrctl is prctl(option, a2, a3, a4, a5) on every thread.
func AllThreadsPrctl(option, a2, a3, a4, a5 uintptr) error {
	_, _, e := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, option, a2, a3, a4, a5, 0)
	switch {
	case e == syscall.ENOTSUP:
		return ErrCgo
	case e != 0:
		return e
	}
	return nil
}

// DropBounding removes from the bounding set every capability not in
// keep. Without CAP_SETPCAP the error wraps unix.EPERM.
func DropBounding(keep uint64) error {
	for c := uintptr(0); c < 64; c++ {
		in, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, c, 0)
		if e == unix.EINVAL {
			return nil // past CAP_LAST_CAP
		}
		if e != 0 {
			return fmt.Errorf("reading the capability bounding set: %w", e)
		}
		if in == 0 || keep&(1<<c) != 0 {
			continue
		}
		if err := AllThreadsPrctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// ClearAmbient empties the ambient set (kernels before 4.3 have none).
func ClearAmbient() error {
	if err := AllThreadsPrctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	return nil
}

// Permitted returns the calling thread's permitted set.
func Permitted() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("capget: %w", err)
	}
	return uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32, nil
}

// Set makes mask the permitted and effective sets and empties the
// inheritable set.
func Set(mask uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(mask), Permitted: uint32(mask)},
		{Effective: uint32(mask >> 32), Permitted: uint32(mask >> 32)},
	}
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	switch {
	case e == syscall.ENOTSUP:
		return ErrCgo
	case e != 0:
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}
