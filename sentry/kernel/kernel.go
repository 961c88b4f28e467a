// Package kernel holds the sentry's model of Linux processes: tasks and
// thread groups, the process tree, signals, futexes, descriptor tables,
// credentials, resource limits and system call dispatch.
//
// Each task runs on its own goroutine, locked to its OS thread for the
// task's life where the platform binds host resources (a ptrace tracee, a
// vCPU) to a host thread; on a platform.ThreadFree one (systrap) it is not.
//
// Lock order:
//
//	Kernel.mu (the task tree and all signal state)
//	  futexManager.mu
//	    mm.MemoryManager.mu
//
// Kernel.mu is never held while a task blocks or runs application code.
package kernel

import (
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cocoonrt/cocoon/internal/cpuledger"
	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/fs/inotify"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/socket/netlink"
	unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"
	"github.com/cocoonrt/cocoon/sentry/vdso"
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
	// PTYs is the sandbox's devpts, where /dev/tty finds terminals.
	PTYs *devpts.FS
	// unixOnce makes unixStack, the AF_UNIX socket stack
	// (unix_sockets.go).
	unixOnce  sync.Once
	unixStack *unixsock.Stack

	// pingGroups is the initial namespace's net.ipv4.ping_group_range,
	// low<<32|high XORed with pingGroupsDefault (sysctl.go).
	pingGroups atomic.Uint64

	// HostNetwork makes the sandbox's AF_INET and AF_INET6 sockets host
	// sockets (sentry/socket/hostinet) instead of netstack ones: a pod
	// with hostNetwork: true, whose sentry runs in the host's network
	// namespace. Set at boot, before any task runs.
	HostNetwork bool

	futexes futexManager
	// sysCPU bounds the system time charged to tasks on platforms whose
	// tasks run on any host thread by the sentry's own CPU clock
	// (task_run.go); nil elsewhere. Set at creation.
	sysCPU    *cpuledger.Ledger
	load      loadAverage // the load averages (loadavg.go)
	fifos     fifoTable
	mounts    mountRecords
	fileLocks lockTable
	// klog is the kernel log (klog.go).
	klog kernelLog
	// oomKills counts the processes the OOM killers killed since boot
	// (/proc/vmstat's oom_kill); protected by mu.
	oomKills uint64
	// faults and majFaults count the page faults served since boot
	// (page_faults.go).
	faults, majFaults atomic.Uint64
	// sandboxOOM is the sandbox's own OOM killer's state
	// (sandbox_oom.go); protected by mu.
	sandboxOOM
	// memfdOnce guards the creation of memfds, the tmpfs behind
	// memfd_create.
	memfdOnce sync.Once
	memfds    *tmpfs.FS
	// inotifyOnce guards the creation of inotify, the event registry.
	inotifyOnce sync.Once
	inotify     *inotify.Registry
	// ipcOnce guards the creation of ipc, the System V IPC objects
	// (shm.go).
	ipcOnce sync.Once
	ipc     *IPCNamespace
	// vdsoOnce guards the creation of vdso, the vDSO every exec maps
	// (vdso.go); nil if it could not be made.
	vdsoOnce sync.Once
	vdso     *vdso.VDSO
	// netOnce guards the creation of net and netErr, the TCP/IP stack
	// (netstack.go).
	netOnce sync.Once
	net     *netstack.Stack
	netErr  error
	// hostNet is the node's network of a hostNetwork pod, opened at
	// boot (AttachHostNetwork); netViewOnce guards the creation of
	// netView, the view of the stack's network, and netlinkOnce that of
	// netlink, the netlink namespace (network.go).
	hostNet     *netif.Host
	netViewOnce sync.Once
	netView     *netif.Stack
	netlinkOnce sync.Once
	netlink     *netlink.Namespace

	// mu protects the task tree, every thread group's and task's signal
	// and exit state, and the ID tables below.
	mu sync.Mutex
	// nextID is the next thread ID to try.
	nextID int32
	// sessionTTY maps session IDs to their controlling terminals.
	sessionTTY map[int32]*devpts.TTY
	// tasks maps thread IDs to live tasks.
	tasks map[int32]*Task
	// threadGroups maps thread group IDs to groups that are not reaped.
	threadGroups map[int32]*ThreadGroup
	// rootPIDNS is the root PID namespace, whose IDs the tables above
	// use (pidns.go).
	rootPIDNS *PIDNamespace
	// idNS maps each root ID that has a number in a namespace below the
	// root to the deepest such namespace.
	idNS map[int32]*PIDNamespace
	// initExited is closed when the PID namespace's init has exited and
	// every other task with it; initStatus is init's status then.
	initExited chan struct{}
	initStatus int
	// exitedCPUNS is the CPU time of every process that has exited.
	exitedCPUNS int64
	// exitedTraps counts the traps of every task that has exited.
	exitedTraps uint64
	// podUTS is the UTS namespace of pod-mode containers that name no
	// hostname of their own (container.go), made by the first of them.
	podUTS *UTSNamespace

	// unimplementedMu protects unimplemented.
	unimplementedMu sync.Mutex
	// unimplemented counts calls of each system call the table lacks.
	unimplemented map[uint64]uint64
}

// StraceFunc logs a system call at entry (exit false) or exit.
type StraceFunc func(t *Task, nr uint64, exit bool, ret uint64)

// NewKernel returns a kernel.
func NewKernel(p platform.Platform, mf *memfile.File, root *vfs.Dentry, table *SyscallTable, log *slog.Logger) *Kernel {
	k := &Kernel{
		Platform:      p,
		MemFile:       mf,
		Root:          root,
		Syscalls:      table,
		Hostname:      "cocoon",
		Log:           log,
		BootTime:      time.Now(),
		MemoryLimit:   mf.Size(),
		nextID:        1,
		tasks:         make(map[int32]*Task),
		threadGroups:  make(map[int32]*ThreadGroup),
		initExited:    make(chan struct{}),
		unimplemented: make(map[uint64]uint64),
		futexes:       newFutexManager(),
		idNS:          make(map[int32]*PIDNamespace),
	}
	k.rootPIDNS = newRootPIDNamespace(k)
	if k.threadFree() {
		k.sysCPU = cpuledger.New(os.Getpid())
	}
	return k
}

// allocIDLocked returns an unused thread ID.
//
// Preconditions: k.mu is held.
func (k *Kernel) allocIDLocked() int32 {
	const maxID = 1 << 22 // Linux's pid_max limit on 64-bit
	for {
		id := k.nextID
		k.nextID++
		if k.nextID >= maxID {
			k.nextID = 2
		}
		if _, ok := k.tasks[id]; ok {
			continue
		}
		if _, ok := k.threadGroups[id]; ok {
			continue
		}
		if _, ok := k.idNS[id]; ok {
			// Still a process group or session below the root.
			continue
		}
		return id
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

// TaskByID returns the live task with thread ID id in the root PID
// namespace.
func (k *Kernel) TaskByID(id int32) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tasks[id]
}

// ThreadGroupByID returns the thread group with ID id in the root PID
// namespace, if not reaped.
func (k *Kernel) ThreadGroupByID(id int32) *ThreadGroup {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.threadGroups[id]
}
