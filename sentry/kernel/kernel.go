// Package kernel holds the sentry's model of Linux processes: the kernel
// object shared by a sandbox, tasks and their run loop, file descriptor
// tables, credentials, resource limits and system call dispatch.
//
// Each task runs on its own goroutine, locked to its OS thread for the task's
// life, because platforms may bind host resources (a ptrace tracee, a vCPU)
// to a host thread.
//
// This first version runs one task per sandbox (no clone or fork yet);
// multi-task state (thread groups, signals, PID namespaces) comes with the
// kernel-core work.
package kernel

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Kernel is one sandbox's kernel.
type Kernel struct {
	Platform platform.Platform
	MemFile  *memfile.File
	// Root is the root of the sandbox's file tree.
	Root *vfs.Dentry
	// Syscalls is the table tasks dispatch through.
	Syscalls *SyscallTable
	// Hostname is reported by uname.
	Hostname string
	// Strace, when set, receives one line per system call.
	Strace StraceFunc
	// Log receives diagnostics (unimplemented syscalls, platform errors).
	Log *slog.Logger
	// BootTime is when the kernel started (CLOCK_BOOTTIME's zero).
	BootTime time.Time
	// MemoryLimit is what sysinfo reports as total RAM.
	MemoryLimit uint64

	// nextTID allocates thread IDs; the first task is 1.
	nextTID atomic.Int32

	// unimplementedMu protects unimplemented.
	unimplementedMu sync.Mutex
	// unimplemented counts calls of each system call the table lacks.
	unimplemented map[uint64]uint64
}

// StraceFunc logs a system call at entry (exit false) or exit.
type StraceFunc func(t *Task, nr uint64, exit bool, ret uint64)

// NewKernel returns a kernel.
func NewKernel(p platform.Platform, mf *memfile.File, root *vfs.Dentry, table *SyscallTable, log *slog.Logger) *Kernel {
	return &Kernel{
		Platform:      p,
		MemFile:       mf,
		Root:          root,
		Syscalls:      table,
		Hostname:      "cocoon",
		Log:           log,
		BootTime:      time.Now(),
		MemoryLimit:   mf.Size(),
		unimplemented: make(map[uint64]uint64),
	}
}

// countUnimplemented records a call to a missing system call and reports
// whether it is the first one with this number.
func (k *Kernel) countUnimplemented(nr uint64) bool {
	k.unimplementedMu.Lock()
	defer k.unimplementedMu.Unlock()
	k.unimplemented[nr]++
	return k.unimplemented[nr] == 1
}

// UnimplementedCounts returns how often each missing system call was made.
func (k *Kernel) UnimplementedCounts() map[uint64]uint64 {
	k.unimplementedMu.Lock()
	defer k.unimplementedMu.Unlock()
	out := make(map[uint64]uint64, len(k.unimplemented))
	for nr, n := range k.unimplemented {
		out[nr] = n
	}
	return out
}
