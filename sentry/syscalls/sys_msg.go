package syscalls

import (
	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// System V message queues; the work is in sentry/kernel/msg.go.

// Msgget implements Linux syscall msgget(2).
func Msgget(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	id, err := t.Msgget(int32(args[0]), int32(args[1]))
	return uint64(id), err
}

// Msgsnd implements Linux syscall msgsnd(2).
func Msgsnd(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.Msgsnd(int32(args[0]), args[1], args[2], int32(args[3]))
}

// Msgrcv implements Linux syscall msgrcv(2).
func Msgrcv(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return t.Msgrcv(int32(args[0]), args[1], int64(args[2]), int64(args[3]), int32(args[4]))
}

// Msgctl implements Linux syscall msgctl(2).
func Msgctl(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return t.Msgctl(int32(args[0]), int32(args[1]), args[2])
}
