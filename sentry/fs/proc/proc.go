// Package proc is the sandbox's /proc: processes and threads as ps, top,
// pgrep, lsof-like tools and language runtimes read them, and the
// system-wide files (meminfo, stat, uptime, loadavg, cpuinfo, mounts,
// sys/...) in Linux's formats.
//
// Everything shown comes from a Source: the kernel's own accounting in the
// sandbox (NewKernelSource), or a fake in tests. Values the sentry does not
// measure are left out where Linux lets a reader do without them, and
// reported as zero where a field must be present (each such place says
// so).
//
// Contents are generated when a file is read at offset 0 and kept for
// reads at later offsets, as Linux's seq_file does, so a reader that reads
// in pieces sees one consistent snapshot and one that rereads from 0 sees
// fresh values.
//
// Inodes here are cached by the VFS forever (dentries are never evicted),
// so none of them holds a process: /proc/[pid] is a number, looked up
// again on every operation, and reads ENOENT once the process is gone.
package proc

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// NoNamespace is a namespace inode number that stands for no namespace:
// its ns/ link does not resolve (ENOENT).
const NoNamespace = ^uint64(0)

// Source is what /proc shows. Methods return snapshots; ok is false when
// the process does not exist (any more).
type Source interface {
	// Caller returns the process and thread IDs of the task on whose
	// behalf the VFS is calling (for /proc/self and /proc/thread-self);
	// ok is false when it cannot be told.
	Caller() (pid, tid int32, ok bool)
	// PIDs returns every process ID, zombies included, in increasing
	// order.
	PIDs() []int32
	// ThreadGroupOf returns the process ID of live thread tid.
	ThreadGroupOf(tid int32) (pid int32, ok bool)
	// Process returns a snapshot of process pid.
	Process(pid int32) (*Process, bool)
	// Exe returns the path of the process's executable.
	Exe(pid int32) (string, bool)
	// Cwd returns the path of the process's working directory.
	Cwd(pid int32) (string, bool)
	// FDs returns the process's open descriptors in increasing order.
	FDs(pid int32) ([]FD, bool)
	// FD returns one open descriptor.
	FD(pid, fd int32) (FD, bool)
	// Mappings returns the process's memory mappings in address order;
	// with countPages their page counts are filled.
	Mappings(pid int32, countPages bool) ([]Mapping, bool)
	// Memory returns the process's address space size.
	Memory(pid int32) (Memory, bool)
	// ExecInfo locates the initial stack's argument, environment and
	// auxiliary vector areas.
	ExecInfo(pid int32) (ExecInfo, bool)
	// ReadMemory reads the process's memory without side effects on it.
	ReadMemory(pid int32, addr uint64, dst []byte) (int, error)
	// System returns system-wide values.
	System() System
	// Sysctl returns the value of a sysctl a pod may set (package
	// sentry/sysctl), as /proc/sys shows it.
	Sysctl(name string) string
	// MemInfo returns the sandbox's memory use.
	MemInfo() MemInfo
	// SetComm renames thread tid of process pid (a write to its comm
	// file) on behalf of the caller.
	SetComm(pid, tid int32, name string) error
}

// NamespaceSource is implemented by Sources that know processes' cgroup
// and time namespaces, which Process does not carry. Without it, those
// ns/ links name the initial namespaces and cannot be opened, and
// process directories have no timens_offsets.
type NamespaceSource interface {
	// Namespace returns the namespace behind process pid's ns/<name>
	// link, name "cgroup", "time" or "time_for_children": its inode
	// number and the object opening the link hands over (setns(2)). ok
	// is false once the process exited.
	Namespace(pid int32, name string) (ino uint64, obj any, ok bool)
	// TimensOffsets returns the clock offsets of the time namespace
	// for children of process pid.
	TimensOffsets(pid int32) ([]TimensOffset, bool)
	// SetTimensOffsets sets them on behalf of the caller (a write to
	// timens_offsets), with Linux's errors.
	SetTimensOffsets(pid int32, offs []TimensOffset) error
}

// TimensOffset is one clock's offset in a time namespace: Clock is
// CLOCK_MONOTONIC or CLOCK_BOOTTIME, Nsec in [0, 1e9).
type TimensOffset struct {
	Clock     int32
	Sec, Nsec int64
}

// Creds are a task's credentials.
type Creds struct {
	UID, EUID, SUID, FSUID uint32
	GID, EGID, SGID, FSGID uint32
	Groups                 []uint32
	// Capability sets.
	CapInh, CapPrm, CapEff, CapBnd, CapAmb uint64
}

// Thread is a snapshot of one task.
type Thread struct {
	TID int32
	// NSTIDs are the thread's IDs from this /proc's PID namespace down
	// to the thread's own (outer first); nil means [TID].
	NSTIDs []int32
	Name   string
	// State is a Linux state letter: 'R', 'S', 'T' or 'Z'.
	State byte
	// SigBlocked is the blocked set; SigPending the thread-directed
	// pending set (bit n-1 for signal n).
	SigBlocked, SigPending uint64
	// UserTime and SysTime are CPU time; StartTime is since
	// System.BootTime.
	UserTime, SysTime, StartTime time.Duration
	// MinFlt and MajFlt are the thread's page faults.
	MinFlt, MajFlt uint64
	// Nice is the thread's nice value, SchedPolicy its scheduling
	// policy (SCHED_*).
	Nice        int32
	SchedPolicy int32
	Creds       Creds
	NoNewPrivs  bool
	// Seccomp is the seccomp mode (0 disabled, 1 strict, 2 filter) and
	// SeccompFilters the number of filters installed.
	Seccomp, SeccompFilters int
}

// Limit is one resource limit; ^uint64(0) is unlimited.
type Limit struct{ Cur, Max uint64 }

// Process is a snapshot of one thread group.
type Process struct {
	PID, PPID, PGID, SID int32
	// NSPIDs, NSPGIDs and NSSIDs are the IDs of the process, its process
	// group and its session from this /proc's PID namespace down to the
	// process's own (outer first); nil means the single ID above.
	NSPIDs, NSPGIDs, NSSIDs []int32
	// PIDNamespace and ChildPIDNamespace are the inode numbers of the
	// process's PID namespace and pid_for_children (0: the initial one;
	// NoNamespace: a pid_for_children without its init yet, which has no
	// link).
	PIDNamespace, ChildPIDNamespace uint64
	// Leader is the group leader, whose name and state stand for the
	// process ('Z' once it exited).
	Leader Thread
	// Threads are the live threads.
	Threads []Thread
	// Zombie is set when every thread has exited; Exiting once the group
	// is going away. ExitCode is the wait status a zombie will report.
	Zombie, Exiting bool
	ExitCode        int
	// ExitSignal is sent to the parent at exit.
	ExitSignal int
	// SigPending is the shared pending set, SigQueued the number of
	// queued signals (shared and per-thread), SigIgnored and SigCaught
	// the signals ignored and handled.
	SigPending, SigIgnored, SigCaught uint64
	SigQueued                         int
	// Limits are indexed by RLIMIT_*.
	Limits [unix.RLIMIT_RTTIME + 1]Limit
	// Umask and FDSize come from the file-system context and descriptor
	// table; zero for a zombie.
	Umask  uint32
	FDSize int
	// UserTime and SysTime include exited threads; ChildUser and
	// ChildSys are reaped children's.
	UserTime, SysTime, ChildUser, ChildSys time.Duration
	// MinFlt and MajFlt are the process's page faults, exited threads
	// included; ChildMinFlt and ChildMajFlt its reaped children's.
	MinFlt, MajFlt, ChildMinFlt, ChildMajFlt uint64
	// UTSNamespace is the inode number of the process's UTS namespace
	// (0: the initial one).
	UTSNamespace uint64
	// IPCNamespace and NetNamespace are the inode numbers of the
	// process's IPC and network namespaces (0: the initial ones).
	IPCNamespace, NetNamespace uint64
	// NSObjects are the namespaces behind the ns/ links setns(2) joins
	// through ("uts", "ipc", "net", "pid", "pid_for_children"), which
	// opening the link hands over; a link without one cannot be opened.
	NSObjects map[string]any
	// MountNamespace is the process's mount namespace; nil when the
	// source has none to show (mntns.go).
	MountNamespace *vfs.MountNamespace
}

// Thread returns the live thread tid.
func (p *Process) Thread(tid int32) (*Thread, bool) {
	for i := range p.Threads {
		if p.Threads[i].TID == tid {
			return &p.Threads[i], true
		}
	}
	return nil, false
}

// FD is one open descriptor.
type FD struct {
	FD int32
	// Target is what readlink of /proc/[pid]/fd/N shows: a path, or
	// "pipe:[ino]", "socket:[ino]", "anon_inode:[kind]".
	Target string
	// Flags are the F_GETFL flags, with O_CLOEXEC added for a
	// close-on-exec descriptor.
	Flags int
	// Pos is the file position (0 for streams).
	Pos int64
	Ino uint64
	// Dentry is the open file's dentry, where following the magic link
	// goes; nil for pipes, sockets and anonymous files.
	Dentry *vfs.Dentry
}

// Mapping is one VMA.
type Mapping struct {
	Start, End uint64
	// Read, Write and Exec are the permissions; MayRead, MayWrite and
	// MayExec what mprotect may grant.
	Read, Write, Exec          bool
	MayRead, MayWrite, MayExec bool
	// Shared is MAP_SHARED; GrowsDown marks a stack.
	Shared, GrowsDown bool
	// File is set for file mappings; Offset, Dev and Ino describe the
	// file.
	File   bool
	Offset uint64
	Dev    uint64
	Ino    uint64
	// Path is the file's path, "[heap]" or "[stack]"; empty for other
	// anonymous memory (and for file mappings whose file is unknown).
	Path string
	// Resident and SharedResident are page counts, PssBytes the
	// proportional set size; filled only when asked for.
	Resident, SharedResident, PssBytes uint64
}

// Memory is an address space's size.
type Memory struct {
	VirtualBytes, ResidentPages uint64
	BrkStart, Brk               uint64
	// LockedBytes is what mlock locks (VmLck).
	LockedBytes uint64
}

// ExecInfo locates what execve put on the initial stack ([start, end)
// ranges).
type ExecInfo struct {
	ArgStart, ArgEnd, EnvStart, EnvEnd uint64
	// AuxvStart and AuxvEnd bound the auxiliary vector, AT_NULL included.
	AuxvStart, AuxvEnd uint64
	// StackStart is the initial stack pointer (where argc is).
	StackStart uint64
}

// MemInfo is the sandbox's memory use, in bytes.
type MemInfo struct {
	// Total is the sandbox's memory; Used the memory its processes hold
	// (each page once); Shmem the shared anonymous part of it.
	Total, Used, Shmem uint64
	// OOMKills counts the processes the OOM killers killed since boot.
	OOMKills uint64
	// PageFaults counts the page faults served since boot, MajorFaults
	// the major ones among them.
	PageFaults, MajorFaults uint64
}

// System holds system-wide values.
type System struct {
	// BootTime is the instant CLOCK_BOOTTIME reads zero: uptime and
	// start times count from it.
	BootTime time.Time
	// BootOffset is the CLOCK_BOOTTIME offset of the caller's time
	// namespace: the uptime it reads is longer by it, the boot it reads
	// (btime) earlier, as Linux's timens_add_boottime and
	// timens_sub_boottime make them. Idle time is the CPUs' own.
	BootOffset time.Duration
	// Hostname and Domainname are the caller's (UTS namespace's).
	Hostname, Domainname string
	// Processes and Threads count processes (zombies included) and live
	// threads, Running the threads running now.
	Processes, Threads, Running int
	// LoadAvg are the 1, 5 and 15-minute load averages in Linux's fixed
	// point (11 fractional bits).
	LoadAvg [3]uint64
	// LastPID is the most recently allocated ID; Forks the number of
	// processes and threads created since boot.
	LastPID int32
	Forks   uint64
	// UserTime and SysTime are the live threads' CPU time.
	UserTime, SysTime time.Duration
}

// Mount is one entry of the sandbox's mount table.
type Mount struct {
	// Source, Target and FSType are mount(8)'s device, directory and type.
	Source, Target, FSType string
	// Options are the per-mount options ("ro,nosuid,relatime");
	// SuperOptions the file system's ("ro"); empty means the read-only or
	// read-write flag of Options.
	Options, SuperOptions string
	// Dev is the st_dev of the file system's files.
	Dev uint64
	// NoDev marks a file system without a block device, for
	// /proc/filesystems.
	NoDev bool
	// ID and ParentID are the mount's IDs in a mount namespace, and
	// Propagation its optional fields ("shared:1"), for
	// /proc/[pid]/mountinfo; a zero ID numbers the table by position.
	ID, ParentID int64
	Propagation  string
	// Root is the path, within the file system, of the directory shown
	// at the mount's root (mountinfo's fourth field); empty means "/".
	Root string
}

// ExtraMounter is implemented by Sources whose sandbox can mount at run
// time (mount(2)); those mounts follow the configured ones.
type ExtraMounter interface {
	ExtraMounts() []Mount
}

// mounts returns the mount table.
func (fs *filesystem) mounts() []Mount {
	em, ok := fs.src.(ExtraMounter)
	if !ok {
		return fs.cfg.Mounts
	}
	extra := em.ExtraMounts()
	if len(extra) == 0 {
		return fs.cfg.Mounts
	}
	return append(append([]Mount(nil), fs.cfg.Mounts...), extra...)
}

// MountOf returns a mount entry whose Dev is root's st_dev.
func MountOf(source, target, fsType, options string, noDev bool, root vfs.Inode) Mount {
	m := Mount{Source: source, Target: target, FSType: fsType, Options: options, NoDev: noDev}
	if root != nil {
		if st, err := root.Stat(); err == nil {
			m.Dev = st.Dev
		}
	}
	return m
}

// Config is /proc's static configuration.
type Config struct {
	// Mounts is the sandbox's mount table, the root first; /proc itself
	// is added when missing. Nil gives DefaultMounts.
	Mounts []Mount
	// NumCPU is the number of CPUs shown (default runtime.NumCPU()).
	NumCPU int
	// Release and Version are uname's release and version.
	Release, Version string
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Kernel identity, as uname(2) reports it in sys_process.go.
const (
	DefaultRelease = "6.1.0"
	DefaultVersion = "#1 SMP Cocoon"
)

// DefaultMounts is the mount table boot.go builds: the gofer's read-only
// root and the sentry's own /dev, /proc and /sys.
func DefaultMounts() []Mount {
	return []Mount{
		{Source: "none", Target: "/", FSType: "goferfs", Options: "ro,relatime"},
		{Source: "tmpfs", Target: "/dev", FSType: "tmpfs", Options: "rw,nosuid", SuperOptions: "rw,mode=755", Dev: synthDev, NoDev: true},
		{Source: "proc", Target: "/proc", FSType: "proc", Options: "rw,nosuid,nodev,noexec,relatime", Dev: procDev, NoDev: true},
		{Source: "sysfs", Target: "/sys", FSType: "sysfs", Options: "ro,nosuid,nodev,noexec,relatime", Dev: synthDev, NoDev: true},
	}
}

// New returns the root of a /proc over src.
func New(src Source, cfg Config) vfs.Inode {
	if cfg.Mounts == nil {
		cfg.Mounts = DefaultMounts()
	}
	hasProc := false
	for _, m := range cfg.Mounts {
		if m.FSType == "proc" {
			hasProc = true
		}
	}
	if !hasProc {
		cfg.Mounts = append(cfg.Mounts, Mount{Source: "proc", Target: "/proc", FSType: "proc", Options: "rw,nosuid,nodev,noexec,relatime", Dev: procDev, NoDev: true})
	}
	if cfg.NumCPU <= 0 {
		cfg.NumCPU = runtime.NumCPU()
	}
	if cfg.Release == "" {
		cfg.Release = DefaultRelease
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	fs := &filesystem{src: src, cfg: cfg, bootID: newUUID()}
	now := cfg.Now()
	fs.ctime = unix.Timespec{Sec: now.Unix(), Nsec: int64(now.Nanosecond())}
	return fs.root()
}
