package syscalls

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// System V semaphores; the work is in sentry/kernel/sem.go.

// Semget implements Linux syscall semget(2).
func Semget(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	id, err := t.Semget(int32(args[0]), int32(args[1]), int32(args[2]))
	return uint64(id), err
}

// Semop implements Linux syscall semop(2).
func Semop(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.Semtimedop(int32(args[0]), args[1], uint32(args[2]), 0)
}

// Semtimedop implements Linux syscall semtimedop(2).
func Semtimedop(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.Semtimedop(int32(args[0]), args[1], uint32(args[2]), args[3])
}

// Semctl implements Linux syscall semctl(2).
func Semctl(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return t.Semctl(int32(args[0]), int32(args[1]), int32(args[2]), args[3])
}
