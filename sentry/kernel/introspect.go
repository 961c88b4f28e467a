package kernel

// Read-only snapshots of the task tree for /proc (sentry/fs/proc).
//
// Snapshots copy what Kernel.mu protects while holding it, and hand out
// the process's memory manager, descriptor table and file-system context,
// which have locks of their own, for the caller to read after Kernel.mu is
// released (so no mm lock is ever taken under Kernel.mu here). Those
// objects may be released meanwhile by an exiting task; reading a released
// one finds it empty.
//
// Fields that only the task's own goroutine writes (name, exe, mm, fds,
// creds) are read under Kernel.mu; that is race-free only where their
// writers hold Kernel.mu too (see the report that came with this file).

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/goroutine"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// PIDMax is one more than the highest thread ID (allocIDLocked's limit,
// Linux's pid_max on 64-bit).
const PIDMax = 1 << 22

// RunState is a task's state as /proc shows it.
type RunState byte

// Task states, with Linux's letters.
const (
	StateRunning   RunState = 'R'
	StateSleeping  RunState = 'S'
	StateDiskSleep RunState = 'D'
	StateStopped   RunState = 'T'
	StateZombie    RunState = 'Z'
)

// ThreadInfo is a snapshot of one task.
type ThreadInfo struct {
	TID int32
	// NSTIDs are the thread's IDs from the snapshot's namespace down to
	// its own.
	NSTIDs []int32
	Name   string
	// State is the task's state: running (application code, or a system
	// call that is not waiting), sleeping in an interruptible wait, in an
	// uninterruptible one (a vfork parent), stopped with its group, or a
	// zombie. The sandbox has no ptrace(2), so no task is ever in a
	// tracing stop ('t').
	State RunState
	// SigMask is the blocked set; Pending the thread-directed pending set
	// and Queued the number of signals queued for the thread.
	SigMask, Pending SigSet
	Queued           int
	Creds            Credentials
	NoNewPrivs       bool
	// SeccompMode is the task's seccomp mode (SECCOMP_MODE_*) and
	// SeccompFilters the number of filters it has installed
	// (/proc/[pid]/status's Seccomp and Seccomp_filters lines).
	SeccompMode    int
	SeccompFilters int
	// UserTime and SysTime are the task's CPU time as the sentry measures
	// it (accounting.go).
	UserTime, SysTime time.Duration
	StartTime         time.Time
	// MinFlt and MajFlt are the page faults served for the task
	// (page_faults.go).
	MinFlt, MajFlt uint64
	// Nice is the task's nice value, SchedPolicy its scheduling policy
	// (without SCHED_RESET_ON_FORK).
	Nice, SchedPolicy int32
}

// ProcessInfo is a snapshot of one thread group.
type ProcessInfo struct {
	// PID, PPID, PGID and SID are IDs in the snapshot's namespace (0:
	// not visible there).
	PID, PPID, PGID, SID int32
	// NSPIDs, NSPGIDs and NSSIDs are the process's, its process group's
	// and its session's IDs from the snapshot's namespace down to the
	// process's own (outer first).
	NSPIDs, NSPGIDs, NSSIDs []int32
	// PIDNamespace and ChildPIDNamespace are the inode numbers of the
	// process's PID namespace and of its leader's pid_for_children; 0
	// for the root namespace (or a zombie's pid_for_children), and
	// NoPIDNamespace for a pid_for_children that has no init yet.
	PIDNamespace, ChildPIDNamespace uint64
	// Leader describes the group leader; its State is StateZombie once the
	// leader has exited, as on Linux, even while other threads run.
	Leader ThreadInfo
	// Threads are the live tasks, by thread ID.
	Threads []ThreadInfo
	// Exe is the executable path as execve recorded it (possibly
	// relative); MappingFile gives the resolved file.
	Exe string
	// Zombie is set once every task has exited; Exiting once the group is
	// going away; ExitStatus is then its wait status.
	Zombie, Exiting bool
	ExitStatus      unix.WaitStatus
	// ExitSignal is the signal the parent gets at exit.
	ExitSignal unix.Signal
	// Pending and Queued are the process-directed pending set and queue
	// length; Ignored and Caught the signals whose action is SIG_IGN and
	// a handler.
	Pending         SigSet
	Queued          int
	Ignored, Caught SigSet
	Limits          Limits
	// UserTime and SysTime include the group's exited tasks; ChildUser
	// and ChildSys are its reaped children's.
	UserTime, SysTime   time.Duration
	ChildUser, ChildSys time.Duration
	// MinFlt and MajFlt include the group's exited tasks; ChildMinFlt
	// and ChildMajFlt are its reaped children's and their descendants'.
	MinFlt, MajFlt, ChildMinFlt, ChildMajFlt uint64
	// MM, FDs and FS are the live process's resources, nil for a zombie.
	MM  *mm.MemoryManager
	FDs *FDTable
	FS  *FSContext
	// UTSNamespace identifies the process's UTS namespace as the inode
	// number of /proc/[pid]/ns/uts; 0 for a zombie.
	UTSNamespace uint64
	// IPCNamespace and NetNamespace are the inode numbers of the
	// process's IPC and network namespaces; 0 for a zombie.
	IPCNamespace, NetNamespace uint64
	// UTS, IPC, Net, PIDNS and ChildPIDNS are the namespace objects
	// setns(2) joins (nil for a zombie; ChildPIDNS nil where
	// ChildPIDNamespace has no link).
	UTS        *UTSNamespace
	IPC        *IPCNamespace
	Net        *NetNamespace
	PIDNS      *PIDNamespace
	ChildPIDNS *PIDNamespace
	// MountNamespace is the process's mount namespace; nil for a zombie.
	MountNamespace *vfs.MountNamespace
}

// SystemInfo is a snapshot of kernel-wide counters.
type SystemInfo struct {
	// Processes and Threads count the thread groups (zombies included)
	// and live tasks; Running the tasks active now (loadavg.go).
	Processes, Threads, Running int
	// LoadAvg are the 1, 5 and 15-minute load averages in Linux's fixed
	// point (11 fractional bits).
	LoadAvg [3]uint64
	// LastPID is the ID handed out last in the caller's PID namespace.
	LastPID int32
	// IDsAllocated counts the IDs handed out since boot (forks and
	// clones, plus init), exact until IDs first wrap around PIDMax.
	IDsAllocated uint64
	// UserTime and SysTime are the CPU time of every live task.
	UserTime, SysTime time.Duration
}

// taskGoroutines maps each task's goroutine (goroutine.ID) to the task, so
// that code reached from a system call without the task in hand (a /proc
// symlink's Readlink) can tell which task is calling.
var (
	taskGoroutines      sync.Map // uintptr → *Task
	taskGoroutinesBound atomic.Bool
)

// bindGoroutine records that the calling goroutine is t's. It must be
// called by t's goroutine (task_run.go), and unbindGoroutine by the same
// goroutine before it ends.
func (t *Task) bindGoroutine() {
	taskGoroutinesBound.Store(true)
	taskGoroutines.Store(goroutine.ID(), t)
}

// unbindGoroutine undoes bindGoroutine.
func (t *Task) unbindGoroutine() {
	taskGoroutines.CompareAndDelete(goroutine.ID(), t)
}

// callerTask returns the task whose system call the calling goroutine
// runs, or nil (code reached from a system call without the task in hand:
// a file system's create, a file's read).
func callerTask() *Task {
	if v, ok := taskGoroutines.Load(goroutine.ID()); ok {
		return v.(*Task)
	}
	return nil
}

// callerLocked returns the task whose goroutine is running, or nil when
// the caller is not a task of k.
//
// Preconditions: k.mu is held.
func (k *Kernel) callerLocked() *Task {
	if t := callerTask(); t != nil {
		if t.k == k {
			if _, live := k.tasks[t.tid]; live {
				return t
			}
		}
		return nil
	}
	if !taskGoroutinesBound.Load() && len(k.tasks) == 1 {
		// Until task goroutines bind their threads, the caller is
		// known when only one task exists: after boot, paths are
		// resolved only by tasks' system calls.
		for _, t := range k.tasks {
			return t
		}
	}
	return nil
}

// The functions below that take a PID namespace take and return IDs of
// that namespace: a /proc instance shows the namespace it was made for.

// Caller returns the process and thread IDs in ns of the calling task; ok
// is false when the caller is not a task of k (or cannot be told) or is
// not visible in ns.
func (k *Kernel) Caller(ns *PIDNamespace) (pid, tid int32, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.callerLocked()
	if t == nil {
		return 0, 0, false
	}
	pid, tid = ns.idLocked(t.tg.id), ns.idLocked(t.tid)
	if pid == 0 || tid == 0 {
		return 0, 0, false
	}
	return pid, tid, true
}

// ProcessIDs returns the ID in ns of every thread group visible there and
// not yet reaped, zombies included, in increasing order.
func (k *Kernel) ProcessIDs(ns *PIDNamespace) []int32 {
	k.mu.Lock()
	ids := make([]int32, 0, len(k.threadGroups))
	for root := range k.threadGroups {
		if id := ns.idLocked(root); id != 0 {
			ids = append(ids, id)
		}
	}
	k.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// ThreadGroupOfThread returns the process ID in ns of live thread tid of
// ns.
func (k *Kernel) ThreadGroupOfThread(ns *PIDNamespace, tid int32) (int32, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := ns.lookupTaskLocked(tid)
	if t == nil {
		return 0, false
	}
	return ns.idLocked(t.tg.id), true
}

// nsIDsOfLocked returns the IDs root has in each namespace from ns down to
// deepest (outer first), 0 where it is not visible (/proc/[pid]/status's
// NSpid, NStgid, NSpgid and NSsid lines).
//
// Preconditions: k.mu is held.
func nsIDsOfLocked(ns, deepest *PIDNamespace, root int32) []int32 {
	if deepest.level < ns.level {
		return []int32{ns.idLocked(root)}
	}
	out := make([]int32, deepest.level-ns.level+1)
	for n := deepest; n != nil && n.level >= ns.level; n = n.parent {
		out[n.level-ns.level] = n.idLocked(root)
	}
	return out
}

// threadInfoLocked snapshots t with its IDs as ns sees them.
//
// Preconditions: k.mu is held.
func (t *Task) threadInfoLocked(ns *PIDNamespace, caller *Task) ThreadInfo {
	tg := t.tg
	info := ThreadInfo{
		TID:         ns.idLocked(t.tid),
		NSTIDs:      nsIDsOfLocked(ns, t.pidns, t.tid),
		Name:        t.name,
		SigMask:     t.sigmask,
		Pending:     t.pending.set,
		Queued:      t.pending.count(),
		Creds:       t.creds,
		NoNewPrivs:  t.noNewPrivs,
		UserTime:    time.Duration(t.userNS.Load()),
		SysTime:     time.Duration(t.sysNS.Load()),
		StartTime:   t.startTime,
		MinFlt:      t.minFlt.Load(),
		MajFlt:      t.majFlt.Load(),
		Nice:        t.nice,
		SchedPolicy: t.schedPolicy,
	}
	info.Creds.Groups = slices.Clone(t.creds.Groups)
	mode, filters := t.seccomp.Snapshot()
	info.SeccompMode, info.SeccompFilters = int(mode), filters.Len()
	_, live := tg.tasks[t]
	switch {
	case tg.zombie || !live:
		info.State = StateZombie
	case tg.stopped:
		info.State = StateStopped
	case t == caller:
		info.State = StateRunning
	default:
		info.State = RunState(t.waitState.Load())
		if info.State == 0 {
			info.State = StateRunning
		}
	}
	return info
}

// count returns the number of queued signals.
func (p *pendingSignals) count() int {
	n := 0
	for _, q := range p.infos {
		n += len(q)
	}
	return n
}

// ProcessSnapshot returns a snapshot of thread group pid of ns, with IDs
// as ns sees them.
func (k *Kernel) ProcessSnapshot(ns *PIDNamespace, pid int32) (ProcessInfo, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tg := ns.lookupThreadGroupLocked(pid)
	if tg == nil {
		return ProcessInfo{}, false
	}
	caller := k.callerLocked()
	p := ProcessInfo{
		PID:          ns.idLocked(tg.id),
		PGID:         ns.idLocked(tg.pgid),
		SID:          ns.idLocked(tg.sid),
		NSPIDs:       nsIDsOfLocked(ns, tg.pidns, tg.id),
		NSPGIDs:      nsIDsOfLocked(ns, tg.pidns, tg.pgid),
		NSSIDs:       nsIDsOfLocked(ns, tg.pidns, tg.sid),
		PIDNamespace: tg.pidns.ino,
		Zombie:       tg.zombie,
		Exiting:      tg.exiting,
		ExitStatus:   tg.exitStatus,
		ExitSignal:   tg.exitSignal,
		Pending:      tg.pending.set,
		Queued:       tg.pending.count(),
		Limits:       tg.limits,
		ChildUser:    time.Duration(tg.childUserNS),
		ChildSys:     time.Duration(tg.childSysNS),
		ChildMinFlt:  tg.childFaults.minor,
		ChildMajFlt:  tg.childFaults.major,
	}
	faults := tg.processFaultsLocked()
	p.MinFlt, p.MajFlt = faults.minor, faults.major
	if tg.parent != nil {
		p.PPID = ns.idLocked(tg.parent.id)
	}
	u, s := tg.cpuTimeLocked()
	p.UserTime, p.SysTime = time.Duration(u), time.Duration(s)
	if tg.handlers != nil {
		for sig := 1; sig <= NumSignals; sig++ {
			switch h := tg.handlers.actions[sig].Handler; h {
			case SigDfl:
			case SigIgn:
				p.Ignored |= sigBit(unix.Signal(sig))
			default:
				p.Caught |= sigBit(unix.Signal(sig))
			}
		}
	}
	for t := range tg.tasks {
		p.Threads = append(p.Threads, t.threadInfoLocked(ns, caller))
		p.Queued += t.pending.count()
	}
	slices.SortFunc(p.Threads, func(a, b ThreadInfo) int { return int(a.TID) - int(b.TID) })
	// The leader's fields (name, exe, resources) stand for the process;
	// after it exits, another live thread's resources do (they are
	// shared), while its name and state stay the leader's.
	rep := tg.leader
	if rep != nil {
		p.Leader = rep.threadInfoLocked(ns, caller)
		p.Exe = rep.exe
		if c := rep.childPIDNS; c != nil {
			p.ChildPIDNamespace = c.ino
			p.ChildPIDNS = c
			if !c.isRoot() && c.init == nil {
				// Unshared, no child yet: Linux shows no link.
				p.ChildPIDNamespace = NoPIDNamespace
				p.ChildPIDNS = nil
			}
		}
	}
	if _, live := tg.tasks[rep]; !live {
		rep = nil
		for t := range tg.tasks {
			rep = t
			break
		}
	}
	if rep != nil && !tg.zombie {
		p.MM, p.FDs, p.FS = rep.mm, rep.fds, rep.fs
		p.UTSNamespace = k.utsIDLocked(rep.uts)
		p.UTS, p.PIDNS = rep.uts, rep.pidns
		p.IPC, p.Net = rep.IPCNamespace(), rep.NetNamespaceOrInitial()
		p.IPCNamespace, p.NetNamespace = p.IPC.ino, p.Net.ino
		p.MountNamespace = rep.MountNamespace()
		if p.Exe == "" {
			p.Exe = rep.exe
		}
	}
	return p, true
}

// Namespace inode numbers, as Linux numbers them: the initial UTS
// namespace has a fixed one, others are allocated from PROC_DYNAMIC_FIRST
// on (offset past the initial net and mnt namespaces').
const (
	InitialUTSNamespaceID = 0xEFFFFFFE
	firstDynamicNSID      = 0xF0000000 + 0x100
)

var (
	// utsIDs maps live UTS namespaces to their numbers; an entry goes
	// when its namespace is collected.
	utsIDs    sync.Map // weak.Pointer[UTSNamespace] → uint64
	nextNSID  atomic.Uint64
	nsIDsInit sync.Once
)

// utsIDLocked returns u's number: the initial one for init's namespace,
// a new one for any other the first time it is seen.
//
// Preconditions: k.mu is held.
func (k *Kernel) utsIDLocked(u *UTSNamespace) uint64 {
	if u == nil {
		return 0
	}
	key := weak.Make(u)
	if id, ok := utsIDs.Load(key); ok {
		return id.(uint64)
	}
	nsIDsInit.Do(func() { nextNSID.Store(firstDynamicNSID) })
	var id uint64
	if init := k.threadGroups[1]; init != nil && init.leader != nil && init.leader.uts == u {
		id = InitialUTSNamespaceID
	} else {
		id = nextNSID.Add(1)
	}
	actual, loaded := utsIDs.LoadOrStore(key, id)
	if !loaded {
		runtime.AddCleanup(u, func(key weak.Pointer[UTSNamespace]) { utsIDs.Delete(key) }, key)
	}
	return actual.(uint64)
}

// CallerUTSNames returns the host and domain names of the calling task's
// UTS namespace (/proc/sys/kernel/hostname and domainname), or Hostname
// when the caller cannot be told.
func (k *Kernel) CallerUTSNames() (hostname, domainname string) {
	k.mu.Lock()
	var u *UTSNamespace
	if t := k.callerLocked(); t != nil {
		u = t.uts
	}
	k.mu.Unlock()
	if u == nil {
		return k.Hostname, "(none)"
	}
	return u.Names()
}

// SystemSnapshot returns kernel-wide counters.
func (k *Kernel) SystemSnapshot() SystemInfo {
	k.mu.Lock()
	defer k.mu.Unlock()
	caller := k.callerLocked()
	s := SystemInfo{
		Processes:    len(k.threadGroups),
		Threads:      len(k.tasks),
		LastPID:      k.nextID - 1,
		IDsAllocated: uint64(k.nextID - 1),
	}
	if caller != nil && !caller.pidns.isRoot() {
		// Linux shows the last ID of the reader's namespace.
		s.LastPID = caller.pidns.next - 1
	}
	if s.LastPID < 1 {
		s.LastPID = PIDMax - 1 // just wrapped
	}
	s.LoadAvg, s.Running = k.LoadAverages()
	// An exiting task leaves the table before it stops counting.
	s.Running = min(s.Running, s.Threads)
	for _, t := range k.tasks {
		s.UserTime += time.Duration(t.userNS.Load())
		s.SysTime += time.Duration(t.sysNS.Load())
	}
	return s
}

// MemoryManagers returns the distinct address spaces of the live tasks.
func (k *Kernel) MemoryManagers() []*mm.MemoryManager {
	k.mu.Lock()
	defer k.mu.Unlock()
	seen := make(map[*mm.MemoryManager]struct{}, len(k.tasks))
	out := make([]*mm.MemoryManager, 0, len(k.tasks))
	for _, t := range k.tasks {
		if t.mm == nil {
			continue
		}
		if _, ok := seen[t.mm]; !ok {
			seen[t.mm] = struct{}{}
			out = append(out, t.mm)
		}
	}
	return out
}

// FDEntry is one descriptor of a table snapshot.
type FDEntry struct {
	FD      int32
	File    *vfs.File
	CloExec bool
}

// Snapshot returns the open descriptors in increasing order, each File
// with a reference the caller must drop, and the table's size (the
// number of slots allocated, /proc/[pid]/status's FDSize).
func (t *FDTable) Snapshot() ([]FDEntry, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []FDEntry
	for fd, e := range t.entries {
		if e.file != nil {
			e.file.IncRef()
			out = append(out, FDEntry{FD: int32(fd), File: e.file, CloExec: e.cloexec})
		}
	}
	return out, len(t.entries)
}

// Umask returns the file mode creation mask.
func (f *FSContext) Umask() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.umask
}

// MappingFile returns the open file behind a file mapping (a VMA's
// mm.VMAInfo.File), or nil when the mapping does not say: the program
// and interpreter images execve maps always do; mmap(2)'s mappings do
// once their Mappable has a VFSFile method.
func MappingFile(m mm.Mappable) *vfs.File {
	if f, ok := m.(interface{ VFSFile() *vfs.File }); ok {
		return f.VFSFile()
	}
	return nil
}

// Size returns the number of descriptor slots allocated.
func (t *FDTable) Size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// SetCallerName renames thread tid of process pid (IDs of ns), for a
// write to its /proc comm file. Linux lets any thread of the group rename any other;
// here only the calling thread may rename itself (EINVAL otherwise, as
// Linux answers a thread of another group), because the name is written
// without a lock by its own task (SetName) and read by it (Name): another
// goroutine's write would race with those.
// TODO(comm): any thread of the group, once SetName and Name hold k.mu.
func (k *Kernel) SetCallerName(ns *PIDNamespace, pid, tid int32, name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := ns.lookupTaskLocked(tid)
	if t == nil || ns.idLocked(t.tg.id) != pid {
		return unix.ESRCH
	}
	if k.callerLocked() != t {
		return unix.EINVAL
	}
	t.name = name
	return nil
}

// IsProgramImage reports whether a mapping's Mappable is a program or
// interpreter image mapped by execve (as opposed to mmap(2)).
func IsProgramImage(m mm.Mappable) bool {
	_, ok := m.(*executable)
	return ok
}
