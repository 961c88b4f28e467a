package main

// jumpSyscall is in stub_amd64.s.
func jumpSyscall(addr, nr, a1, a2, a3 uintptr)

const canJumpSyscall = true
