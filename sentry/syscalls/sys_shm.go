package syscalls

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// System V shared memory; the work is in sentry/kernel/shm.go.

// Shmget implements Linux syscall shmget(2).
func Shmget(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	id, err := t.Shmget(int32(args[0]), args[1], int32(args[2]))
	return uint64(id), err
}

// Shmat implements Linux syscall shmat(2).
func Shmat(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return t.Shmat(int32(args[0]), args[1], int32(args[2]))
}

// Shmdt implements Linux syscall shmdt(2).
func Shmdt(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.Shmdt(args[0])
}

// Shmctl implements Linux syscall shmctl(2).
func Shmctl(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return t.Shmctl(int32(args[0]), int32(args[1]), args[2])
}
