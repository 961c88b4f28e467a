package kvm

import "unsafe"

// u64ptr returns the first 8 bytes of b as a *uint64, for atomic loads of
// a counter the guest increments.
func u64ptr(b []byte) *uint64 { return (*uint64)(unsafe.Pointer(&b[0])) }
