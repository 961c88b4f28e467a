//go:build !amd64

package main

func jumpSyscall(addr, nr, a1, a2, a3 uintptr) { panic("amd64 only") }

const canJumpSyscall = false
