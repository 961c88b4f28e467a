package proc

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// NewKernelSource returns the Source that shows k's processes, as its
// root PID namespace sees them (every process).
func NewKernelSource(k *kernel.Kernel) Source {
	return &kernelSource{k: k, ns: k.RootPIDNamespace(), boot: bootClockZero(k.BootTime), root: k.Root, mounts: k.MountRecords}
}

// NewContainerSource returns the Source of a pod container's /proc: it
// shows the container's PID namespace (its processes, with their IDs
// there), paths are shown from the container's root and /proc/mounts
// lists the mounts its processes made.
func NewContainerSource(k *kernel.Kernel, c *kernel.Container) Source {
	return &kernelSource{k: k, ns: c.PIDNamespace(), boot: bootClockZero(k.BootTime), root: c.Root(), mounts: c.MountRecords}
}

// WithPIDNamespace returns a Source like src (a kernel Source) that shows
// PID namespace ns: what a proc mount made by a process of ns shows.
func WithPIDNamespace(src Source, ns *kernel.PIDNamespace) (Source, bool) {
	ks, ok := src.(*kernelSource)
	if !ok {
		return nil, false
	}
	c := *ks
	c.ns = ns
	return &c, true
}

// PIDNamespaceOf returns the PID namespace a kernel Source shows.
func PIDNamespaceOf(src Source) *kernel.PIDNamespace {
	if ks, ok := src.(*kernelSource); ok {
		return ks.ns
	}
	return nil
}

// kernelSource reads the kernel through kernel/introspect.go and
// mm/introspect.go.
type kernelSource struct {
	k *kernel.Kernel
	// ns is the PID namespace shown: every PID of the Source is an ID
	// there; immutable.
	ns *kernel.PIDNamespace
	// boot is the instant CLOCK_BOOTTIME reads zero.
	boot time.Time
	// root is the root paths are shown from; immutable.
	root *vfs.Dentry
	// mounts returns the mounts made by mount(2) in this /proc's mount
	// namespace.
	mounts func() []kernel.MountRecord
}

// bootClockZero returns the instant the sandbox's CLOCK_BOOTTIME counts
// from. sys_time.go serves that clock from the host's, so this is the
// host's boot, and /proc/uptime, btime and start times agree with what
// programs read from clock_gettime. (Kernel.BootTime, which sysinfo and
// times use, is the sandbox's start: fallback when the clock is
// unreadable.)
func bootClockZero(fallback time.Time) time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return fallback
	}
	return time.Now().Add(-time.Duration(ts.Nano()))
}

// oLargefile is O_LARGEFILE as /proc/[pid]/fdinfo shows it: set on every
// file opened by path on 64-bit Linux.
const oLargefile = 0o100000

func (s *kernelSource) Caller() (int32, int32, bool) { return s.k.Caller(s.ns) }
func (s *kernelSource) PIDs() []int32                { return s.k.ProcessIDs(s.ns) }

func (s *kernelSource) ThreadGroupOf(tid int32) (int32, bool) {
	return s.k.ThreadGroupOfThread(s.ns, tid)
}

// since returns t as time since boot.
func (s *kernelSource) since(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return max(t.Sub(s.boot), 0)
}

func (s *kernelSource) thread(t *kernel.ThreadInfo) Thread {
	c := &t.Creds
	return Thread{
		TID:         t.TID,
		NSTIDs:      t.NSTIDs,
		Name:        t.Name,
		State:       byte(t.State),
		SigBlocked:  uint64(t.SigMask),
		SigPending:  uint64(t.Pending),
		UserTime:    t.UserTime,
		SysTime:     t.SysTime,
		MinFlt:      t.MinFlt,
		MajFlt:      t.MajFlt,
		Nice:        t.Nice,
		SchedPolicy: t.SchedPolicy,
		// Ticks since boot in the reader's time namespace, as Linux's
		// timens_add_boottime_ns.
		StartTime: s.since(t.StartTime) + s.k.CallerClockOffset(unix.CLOCK_BOOTTIME),
		Creds: Creds{
			UID: c.UID, EUID: c.EUID, SUID: c.SUID, FSUID: c.FSUID,
			GID: c.GID, EGID: c.EGID, SGID: c.SGID, FSGID: c.FSGID,
			Groups: c.Groups,
			CapInh: c.Caps.Inheritable, CapPrm: c.Caps.Permitted, CapEff: c.Caps.Effective,
			CapBnd: c.Caps.Bounding, CapAmb: c.Caps.Ambient,
		},
		NoNewPrivs:     t.NoNewPrivs,
		Seccomp:        t.SeccompMode,
		SeccompFilters: t.SeccompFilters,
	}
}

func (s *kernelSource) Process(pid int32) (*Process, bool) {
	pi, ok := s.k.ProcessSnapshot(s.ns, pid)
	if !ok {
		return nil, false
	}
	p := &Process{
		PID: pi.PID, PPID: pi.PPID, PGID: pi.PGID, SID: pi.SID,
		NSPIDs: pi.NSPIDs, NSPGIDs: pi.NSPGIDs, NSSIDs: pi.NSSIDs,
		PIDNamespace: pi.PIDNamespace, ChildPIDNamespace: pi.ChildPIDNamespace,
		Leader:     s.thread(&pi.Leader),
		Zombie:     pi.Zombie,
		Exiting:    pi.Exiting,
		ExitCode:   int(pi.ExitStatus),
		ExitSignal: int(pi.ExitSignal),
		SigPending: uint64(pi.Pending),
		SigIgnored: uint64(pi.Ignored),
		SigCaught:  uint64(pi.Caught),
		SigQueued:  pi.Queued,
		UserTime:   pi.UserTime,
		SysTime:    pi.SysTime,
		ChildUser:  pi.ChildUser,
		ChildSys:   pi.ChildSys,

		MinFlt:      pi.MinFlt,
		MajFlt:      pi.MajFlt,
		ChildMinFlt: pi.ChildMinFlt,
		ChildMajFlt: pi.ChildMajFlt,

		UTSNamespace:   pi.UTSNamespace,
		IPCNamespace:   pi.IPCNamespace,
		NetNamespace:   pi.NetNamespace,
		MountNamespace: pi.MountNamespace,
	}
	if pi.UTS != nil {
		p.NSObjects = map[string]any{"uts": pi.UTS, "ipc": pi.IPC, "net": pi.Net, "pid": pi.PIDNS}
		if pi.ChildPIDNS != nil {
			p.NSObjects["pid_for_children"] = pi.ChildPIDNS
		}
	}
	for i := range pi.Threads {
		p.Threads = append(p.Threads, s.thread(&pi.Threads[i]))
	}
	for i, l := range pi.Limits {
		if i < len(p.Limits) {
			p.Limits[i] = Limit{Cur: l.Cur, Max: l.Max}
		}
	}
	if pi.FS != nil {
		p.Umask = pi.FS.Umask()
	}
	if pi.FDs != nil {
		p.FDSize = pi.FDs.Size()
	}
	return p, true
}

// memory returns the live process's address space.
func (s *kernelSource) memory(pid int32) (*mm.MemoryManager, bool) {
	pi, ok := s.k.ProcessSnapshot(s.ns, pid)
	if !ok || pi.MM == nil {
		return nil, false
	}
	return pi.MM, true
}

// path returns f's path in the sandbox, "" if it has none.
func (s *kernelSource) path(f *vfs.File) string {
	if f == nil || f.Dentry() == nil {
		return ""
	}
	d := f.Dentry()
	if d.Deleted() {
		return d.Path(s.root) + " (deleted)"
	}
	return d.Path(s.root)
}

func (s *kernelSource) Exe(pid int32) (string, bool) {
	pi, ok := s.k.ProcessSnapshot(s.ns, pid)
	if !ok || pi.MM == nil {
		return "", false
	}
	// The executable is the program image below the heap (the loader
	// starts the heap right after it); the interpreter's image lies
	// elsewhere, above it.
	brk := pi.MM.Usage().BrkStart
	var exe, above *vfs.File
	var at uint64
	for _, v := range pi.MM.VMAs(false) {
		if !kernel.IsProgramImage(v.File) {
			continue
		}
		f := kernel.MappingFile(v.File)
		switch {
		case s.path(f) == "":
		case brk != 0 && v.Start >= brk:
			if above == nil {
				above = f
			}
		case exe == nil || v.Start > at:
			exe, at = f, v.Start
		}
	}
	if exe == nil {
		exe = above
	}
	if exe != nil {
		return s.path(exe), true
	}
	if strings.HasPrefix(pi.Exe, "/") {
		return pi.Exe, true
	}
	return "", false
}

func (s *kernelSource) Cwd(pid int32) (string, bool) {
	pi, ok := s.k.ProcessSnapshot(s.ns, pid)
	if !ok || pi.FS == nil {
		return "", false
	}
	return pi.FS.Cwd().Path(s.root), true
}

func (s *kernelSource) FDs(pid int32) ([]FD, bool) {
	pi, ok := s.k.ProcessSnapshot(s.ns, pid)
	if !ok {
		return nil, false
	}
	if pi.FDs == nil {
		return nil, true // a zombie has none
	}
	entries, _ := pi.FDs.Snapshot()
	out := make([]FD, 0, len(entries))
	for _, e := range entries {
		out = append(out, s.describe(e.FD, e.File, e.CloExec))
		e.File.DecRef()
	}
	return out, true
}

func (s *kernelSource) FD(pid, fd int32) (FD, bool) {
	pi, ok := s.k.ProcessSnapshot(s.ns, pid)
	if !ok || pi.FDs == nil {
		return FD{}, false
	}
	f, ok := pi.FDs.Get(fd)
	if !ok {
		return FD{}, false
	}
	defer f.DecRef()
	cloexec, _ := pi.FDs.GetFlags(fd)
	return s.describe(fd, f, cloexec), true
}

// describe returns what /proc shows of descriptor fd, open on f.
func (s *kernelSource) describe(fd int32, f *vfs.File, cloexec bool) FD {
	d := FD{FD: fd, Flags: f.StatusFlags(), Target: s.fdTarget(f), Ino: fileIno(f), Dentry: f.Dentry()}
	if cloexec {
		d.Flags |= unix.O_CLOEXEC
	}
	if f.Dentry() != nil {
		d.Flags |= oLargefile
	}
	if !f.IsStream() && !isProcFile(f) {
		// TODO(vfs): a lock-free File.Offset accessor. Seek takes the
		// description's lock, which vfs holds across calls into its
		// implementation: never do it for a /proc file, whose read (of
		// this very listing, or of another process listing ours) may
		// be what holds it.
		if pos, err := f.Seek(0, unix.SEEK_CUR); err == nil {
			d.Pos = pos
		}
	}
	return d
}

// fileIno returns f's inode number. A /proc inode's is its own: its Stat
// checks that its process and descriptor exist, which for
// /proc/[pid]/fdinfo/N lists these very descriptors.
func fileIno(f *vfs.File) uint64 {
	if d := f.Dentry(); d != nil {
		if n, ok := d.Inode().(*node); ok {
			return n.ino
		}
		if st, err := d.Inode().Stat(); err == nil {
			return st.Ino
		}
		return 0
	}
	switch impl := f.Impl().(type) {
	case *seqFile:
		return impl.n.ino
	case *dirFile:
		return impl.n.ino
	}
	if st, err := f.Impl().Stat(); err == nil {
		return st.Ino
	}
	return 0
}

// isProcFile reports whether f is a /proc file or directory.
func isProcFile(f *vfs.File) bool {
	switch f.Impl().(type) {
	case *seqFile, *dirFile:
		return true
	}
	return false
}

// fdTarget is what readlink(/proc/[pid]/fd/N) shows for f.
func (s *kernelSource) fdTarget(f *vfs.File) string {
	if p := s.path(f); p != "" {
		return p
	}
	st, err := f.Impl().Stat()
	if err == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFIFO:
			return fmt.Sprintf("pipe:[%d]", st.Ino)
		case unix.S_IFSOCK:
			return fmt.Sprintf("socket:[%d]", st.Ino)
		case unix.S_IFCHR:
			if name := deviceName(st.Rdev); name != "" {
				return name
			}
		}
	}
	return "anon_inode:[" + anonKind(f.Impl()) + "]"
}

// deviceName names a character device by number (for the host terminal
// behind the standard streams, which has no path in the sandbox).
func deviceName(rdev uint64) string {
	major, minor := unix.Major(rdev), unix.Minor(rdev)
	switch {
	case major >= 136 && major <= 143:
		return fmt.Sprintf("/dev/pts/%d", (major-136)*256+minor)
	case major == 5 && minor == 0:
		return "/dev/tty"
	case major == 5 && minor == 1:
		return "/dev/console"
	case major == 5 && minor == 2:
		return "/dev/ptmx"
	case major == 4 && minor < 64:
		return fmt.Sprintf("/dev/tty%d", minor)
	case major == 1:
		switch minor {
		case 3:
			return "/dev/null"
		case 5:
			return "/dev/zero"
		case 7:
			return "/dev/full"
		case 8:
			return "/dev/random"
		case 9:
			return "/dev/urandom"
		}
	}
	return ""
}

// anonKind names a file without a path as Linux's anon_inode names do
// ("eventfd", "eventpoll"): by an AnonInodeName method, else by the
// package implementing it (sentry/fs/eventfd, sentry/fs/eventpoll).
func anonKind(impl vfs.FileImpl) string {
	if n, ok := impl.(interface{ AnonInodeName() string }); ok {
		return n.AnonInodeName()
	}
	t := strings.TrimLeft(fmt.Sprintf("%T", impl), "*")
	if i := strings.IndexByte(t, '.'); i >= 0 {
		t = t[:i]
	}
	return t
}

func (s *kernelSource) Mappings(pid int32, countPages bool) ([]Mapping, bool) {
	m, ok := s.memory(pid)
	if !ok {
		return nil, false
	}
	vmas := m.VMAs(countPages)
	out := make([]Mapping, len(vmas))
	for i, v := range vmas {
		out[i] = Mapping{
			Start: v.Start, End: v.End,
			Read:     v.Perms&platform.Read != 0,
			Write:    v.Perms&platform.Write != 0,
			Exec:     v.Perms&platform.Execute != 0,
			MayRead:  v.MaxPerms&platform.Read != 0,
			MayWrite: v.MaxPerms&platform.Write != 0,
			MayExec:  v.MaxPerms&platform.Execute != 0,
			Shared:   !v.Private, GrowsDown: v.GrowsDown,
			File: v.File != nil, Offset: v.Offset,
			Path:     v.Name,
			Resident: v.Resident, SharedResident: v.SharedResident, PssBytes: v.PssBytes,
		}
		if v.File != nil {
			f := kernel.MappingFile(v.File)
			out[i].Path = s.path(f)
			if out[i].Path != "" {
				if st, err := f.Dentry().Inode().Stat(); err == nil {
					out[i].Dev, out[i].Ino = st.Dev, st.Ino
				}
			}
		}
	}
	return out, true
}

func (s *kernelSource) Memory(pid int32) (Memory, bool) {
	m, ok := s.memory(pid)
	if !ok {
		return Memory{}, false
	}
	u := m.Usage()
	return Memory{VirtualBytes: u.VirtualBytes, ResidentPages: u.ResidentPages, BrkStart: u.BrkStart, Brk: u.Brk, LockedBytes: u.LockedBytes}, true
}

func (s *kernelSource) ExecInfo(pid int32) (ExecInfo, bool) {
	m, ok := s.memory(pid)
	if !ok {
		return ExecInfo{}, false
	}
	// TODO(execinfo): use the bounds execve records once the kernel
	// keeps loader.Result's ArgvStart..EnvvEnd and Auxv.
	var top uint64
	for _, v := range m.VMAs(false) {
		if v.Name == "[stack]" && v.End > top {
			top = v.End
		}
	}
	if top == 0 {
		return ExecInfo{}, false
	}
	return DeriveExecInfo(top, m.Peek)
}

func (s *kernelSource) ReadMemory(pid int32, addr uint64, dst []byte) (int, error) {
	m, ok := s.memory(pid)
	if !ok {
		return 0, unix.ESRCH
	}
	return m.Peek(addr, dst)
}

// Sysctl implements Source.Sysctl.
func (s *kernelSource) Sysctl(name string) string { return s.k.Sysctl(name) }

func (s *kernelSource) System() System {
	ss := s.k.SystemSnapshot()
	host, domain := s.k.CallerUTSNames()
	return System{
		BootTime:   s.boot,
		BootOffset: s.k.CallerClockOffset(unix.CLOCK_BOOTTIME),
		Hostname:   host,
		Domainname: domain,
		Processes:  ss.Processes,
		Threads:    ss.Threads,
		Running:    ss.Running,
		LoadAvg:    ss.LoadAvg,
		LastPID:    ss.LastPID,
		Forks:      ss.IDsAllocated,
		UserTime:   ss.UserTime,
		SysTime:    ss.SysTime,
	}
}

var _ OOMSource = (*kernelSource)(nil)

// OOMScoreAdj implements OOMSource.OOMScoreAdj.
func (s *kernelSource) OOMScoreAdj(pid int32, legacy bool) (int, error) {
	return s.k.OOMScoreAdj(s.ns, pid, legacy)
}

// SetOOMScoreAdj implements OOMSource.SetOOMScoreAdj.
func (s *kernelSource) SetOOMScoreAdj(pid int32, value int, legacy bool) error {
	return s.k.SetCallerOOMScoreAdj(s.ns, pid, value, legacy)
}

// OOMScore implements OOMSource.OOMScore.
func (s *kernelSource) OOMScore(pid int32) (int, error) { return s.k.OOMScore(s.ns, pid) }

func (s *kernelSource) SetComm(pid, tid int32, name string) error {
	return s.k.SetCallerName(s.ns, pid, tid, name)
}

func (s *kernelSource) MemInfo() MemInfo {
	pages, shmem := mm.ResidentMemory(s.k.MemoryManagers())
	faults, major := s.k.PageFaults()
	return MemInfo{Total: s.k.MemoryLimit, Used: pages * pageSize, Shmem: shmem * pageSize, OOMKills: s.k.OOMKills(),
		PageFaults: faults, MajorFaults: major}
}

// ExtraMounts implements ExtraMounter with the mounts made by mount(2).
func (s *kernelSource) ExtraMounts() []Mount {
	recs := s.mounts()
	out := make([]Mount, len(recs))
	for i, r := range recs {
		out[i] = Mount{Source: r.Source, Target: r.Target, FSType: r.FSType, Options: r.Options, Dev: r.Dev, NoDev: r.NoDev}
	}
	return out
}

// ForPIDNamespace returns a /proc root like root (a kernel /proc's root)
// that shows PID namespace ns, sharing its configuration: the instance a
// proc mount made by a process of ns gets, as Linux's proc shows the
// mounting process's namespace. It returns root itself when root already
// shows ns, and false when root is not a kernel /proc.
func ForPIDNamespace(root vfs.Inode, ns *kernel.PIDNamespace) (vfs.Inode, bool) {
	n, ok := root.(*node)
	if !ok || n.ino != rootIno {
		return nil, false
	}
	if PIDNamespaceOf(n.fs.src) == ns {
		return root, true
	}
	src, ok := WithPIDNamespace(n.fs.src, ns)
	if !ok {
		return nil, false
	}
	fs := &filesystem{src: src, cfg: n.fs.cfg, ctime: n.fs.ctime, bootID: n.fs.bootID}
	return fs.root(), true
}

// ShmSegments implements ShmLister.
func (s *kernelSource) ShmSegments() []ShmSegment {
	var out []ShmSegment
	for _, g := range s.k.CallerIPC().ShmSegments(s.ns) {
		out = append(out, ShmSegment{
			Key: g.Key, ID: g.ID, Mode: g.Mode, Size: g.Segsz, Cpid: g.Cpid, Lpid: g.Lpid, Nattch: g.Nattch,
			UID: g.UID, GID: g.GID, CUID: g.CUID, CGID: g.CGID,
			Atime: g.Atime, Dtime: g.Dtime, Ctime: g.Ctime, ResidentBytes: g.Resident,
		})
	}
	return out
}

// SemSets implements SysvipcLister.
func (s *kernelSource) SemSets() []SemSet {
	var out []SemSet
	for _, g := range s.k.CallerIPC().SemSets() {
		out = append(out, SemSet{
			Key: g.Perm.Key, ID: g.ID, Mode: g.Perm.Mode, Nsems: g.Nsems,
			UID: g.Perm.UID, GID: g.Perm.GID, CUID: g.Perm.CUID, CGID: g.Perm.CGID,
			Otime: g.Otime, Ctime: g.Ctime,
		})
	}
	return out
}

// MsgQueues implements SysvipcLister.
func (s *kernelSource) MsgQueues() []MsgQueue {
	var out []MsgQueue
	for _, g := range s.k.CallerIPC().MsgQueues(s.ns) {
		out = append(out, MsgQueue{
			Key: g.Perm.Key, ID: g.ID, Mode: g.Perm.Mode, Cbytes: g.Cbytes, Qnum: g.Qnum,
			Lspid: g.Lspid, Lrpid: g.Lrpid,
			UID: g.Perm.UID, GID: g.Perm.GID, CUID: g.Perm.CUID, CGID: g.Perm.CGID,
			Stime: g.Stime, Rtime: g.Rtime, Ctime: g.Ctime,
		})
	}
	return out
}
