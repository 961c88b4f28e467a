package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/seccomp"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Containers: in pod mode one kernel runs several containers. Each has its
// own file tree (its mount namespace: a root of its own, with its own
// /dev, /proc and /sys over the pod's shared devpts and /dev/shm), its own
// UTS namespace when it names a hostname, and its own init. By default it
// has its own PID namespace (a child of the kernel's root namespace,
// pidns.go) whose PID 1 is its init; a pod that shares its process
// namespace puts its containers in one namespace whose init is the pod's
// pause process (boot/pause.go), and an ephemeral container joins its
// target's (NewContainerIn). Its /proc shows its namespace: only the
// processes there, with their IDs there.
//
// Processes started by the daemon (a container's init, an exec) have no
// parent in the sandbox (getppid is 0). In its own namespace a container's
// init is the init of that namespace: orphans of the container are
// reparented to it. Either way, when it exits every other process of the
// container is killed. The IDs the
// daemon sees (ThreadGroup.ID, the control protocol's PIDs) are root IDs.

// Container is one container of a pod.
type Container struct {
	// ID is the container's ID; immutable.
	ID string

	k *Kernel
	// root is the root of the container's file tree; immutable.
	root *vfs.Dentry
	// uts is the UTS namespace the container's processes start in;
	// immutable.
	uts *UTSNamespace
	// mounts are the mounts the container's processes made with
	// mount(2), for its /proc/mounts.
	mounts mountRecords
	// pidns is the container's PID namespace; immutable.
	pidns *PIDNamespace
	// memcg accounts the memory of the container's address spaces;
	// immutable.
	memcg *mm.MemCgroup
	// layer is the writable layer of the container's root when the
	// sandbox keeps it (a store overlay), or nil; set before the
	// container starts (SetWritableLayer), immutable after.
	layer WritableLayer

	// Fields below are protected by k.mu.

	// init is the container's init process, once started.
	init *ThreadGroup
	// live counts the container's processes that have not exited
	// (zombies excluded).
	live int
	// exitedCPUNS is the CPU time of the container's exited processes;
	// exitedSysNS the system part of it (Container.Stats).
	exitedCPUNS int64
	exitedSysNS int64
	// exitedFaults are the page faults of its exited processes.
	exitedFaults faultCounts
	// initStatus is init's wait status once initExited is set.
	initStatus unix.WaitStatus
	initExited bool
	// done is closed when init has exited and every other process of
	// the container with it.
	done chan struct{}
	// oomKills counts the processes the OOM killer killed; oomVictim
	// is the last one.
	oomKills  uint64
	oomVictim *ThreadGroup
}

// NewContainer returns a container over the file tree at root, with a PID
// namespace of its own. An empty hostname shares the pod's UTS namespace
// (Kernel.Hostname).
func (k *Kernel) NewContainer(id string, root *vfs.Dentry, hostname string) *Container {
	return k.NewContainerIn(id, root, hostname, nil)
}

// NewContainerIn is NewContainer with the container's processes in PID
// namespace pidns, shared with other containers (the pod's namespace, or
// an ephemeral container's target's); nil gives the container its own.
//
// In a shared namespace the container's init is not the namespace's init
// (which is the pod's pause process, or the target container's init), so
// orphans of the container go to that init, signals reach the container's
// init as they reach any process, and the init's exit kills only the
// processes of its own container (Container.processExitedLocked), as
// containerd kills a container's cgroup when its init exits in a shared
// namespace, while the namespace and the other containers live on.
func (k *Kernel) NewContainerIn(id string, root *vfs.Dentry, hostname string, pidns *PIDNamespace) *Container {
	c := &Container{ID: id, k: k, root: root, done: make(chan struct{}), memcg: mm.NewMemCgroup()}
	k.mu.Lock()
	defer k.mu.Unlock()
	if pidns != nil && !pidns.isRoot() {
		c.pidns = pidns
	} else {
		c.pidns, _ = k.rootPIDNS.newChildLocked()
	}
	if hostname == "" {
		if k.podUTS == nil {
			k.podUTS = &UTSNamespace{hostname: k.Hostname, domainname: "(none)"}
		}
		c.uts = k.podUTS
	} else {
		c.uts = &UTSNamespace{hostname: hostname, domainname: "(none)"}
	}
	return c
}

// WritableLayer is the writable layer of a container's root that the
// sandbox keeps itself, which the container's stats report as its disk
// use.
type WritableLayer interface {
	// DiskUsage returns the bytes of file data and the inodes the
	// layer holds.
	DiskUsage() (bytes, inodes uint64)
}

// SetWritableLayer records the container root's writable layer; call it
// before the container starts.
func (c *Container) SetWritableLayer(l WritableLayer) { c.layer = l }

// PIDNamespace returns the container's PID namespace.
func (c *Container) PIDNamespace() *PIDNamespace { return c.pidns }

// Root returns the root of the container's file tree: the root of its
// initial mount namespace (which pivot_root can change).
func (c *Container) Root() *vfs.Dentry { return c.MountNamespace().Root() }

// Done returns a channel closed when the container's init and every other
// process of the container have exited.
func (c *Container) Done() <-chan struct{} { return c.done }

// InitStatus returns init's wait status; ok is false until init exited.
func (c *Container) InitStatus() (ws unix.WaitStatus, ok bool) {
	c.k.mu.Lock()
	defer c.k.mu.Unlock()
	return c.initStatus, c.initExited
}

// AddMount records a mount the sandbox made in the container's tree (a
// masked or read-only path) for its /proc/mounts, as those mount(2) made.
func (c *Container) AddMount(r MountRecord) { c.mounts.add(r) }

// Container returns the container tg belongs to, nil outside pod mode.
func (tg *ThreadGroup) Container() *Container { return tg.container }

// Container returns the container t belongs to, nil outside pod mode.
func (t *Task) Container() *Container { return t.container }

// ProcessOptions describe a process the daemon starts in a container.
type ProcessOptions struct {
	// Argv is the program and its arguments; Argv[0] is looked up in
	// the PATH of Env when it has no slash.
	Argv, Env []string
	// Cwd is the working directory in the container ("" is /).
	Cwd string
	// Creds are the process's credentials (see NewCredentials).
	Creds Credentials
	// NoNewPrivs is PR_SET_NO_NEW_PRIVS from the start.
	NoNewPrivs bool
	// Umask is the file mode creation mask.
	Umask uint32
	// Seccomp, when not empty, is a seccomp filter (an array of struct
	// sock_filter) installed before the program's first instruction, as
	// the container runtime installs the container's seccomp profile;
	// SeccompLog is SECCOMP_FILTER_FLAG_LOG.
	Seccomp    []byte
	SeccompLog bool
	// FDs is the process's descriptor table; StartProcess takes the
	// caller's reference.
	FDs *FDTable
	// Init makes the process the container's init.
	Init bool
	// TTY, when set, is the replica that becomes the controlling
	// terminal of the process's new session.
	TTY *devpts.File
	// OOMScoreAdj is the process's oom_score_adj and its floor, as a
	// write with CAP_SYS_RESOURCE sets them (ValidOOMScoreAdj).
	OOMScoreAdj int
}

// ErrContainerExited is StartProcess's error for a container whose init
// already exited.
var ErrContainerExited = errors.New("container has exited")

// StartProcess starts a process with no parent in container c and returns
// it once its program is loaded, or the error of the load (the process
// has then exited with status 127). Resolution errors (ENOENT for a
// missing program or working directory) come before anything is started.
func (k *Kernel) StartProcess(c *Container, opts ProcessOptions) (*ThreadGroup, error) {
	if len(opts.Argv) == 0 {
		opts.FDs.DecRef()
		return nil, errors.New("no program")
	}
	root := c.Root()
	cwd, err := vfs.Resolve(root, root, cwdOrRoot(opts.Cwd), vfs.ResolveOpts{FollowFinal: true, WantDir: true})
	if err != nil {
		opts.FDs.DecRef()
		return nil, fmt.Errorf("working directory %s: %w", opts.Cwd, err)
	}
	path, err := FindProgram(root, cwd, opts.Argv[0], opts.Env)
	if err != nil {
		opts.FDs.DecRef()
		return nil, fmt.Errorf("%s: %w", opts.Argv[0], err)
	}
	t := &Task{
		k:         k,
		container: c,
		fds:       opts.FDs,
		fs:        NewFSContext(cwd, opts.Umask&0o777),
		interrupt: make(chan struct{}, 1),
		done:      make(chan struct{}),
		startTime: time.Now(),
		dumpable:  true,
		creds:     opts.Creds,
		uts:       c.uts,
	}
	t.noNewPrivs = opts.NoNewPrivs
	if len(opts.Seccomp) > 0 {
		if err := installSeccomp(t, opts.Seccomp, opts.SeccompLog); err != nil {
			opts.FDs.DecRef()
			return nil, fmt.Errorf("seccomp filter: %w", err)
		}
	}
	k.mu.Lock()
	if c.initExited || c.pidns.dead || (opts.Init && c.init != nil) || (!opts.Init && c.init == nil) {
		k.mu.Unlock()
		t.fds.DecRef()
		return nil, ErrContainerExited
	}
	id, err := k.allocIDsLocked(c.pidns)
	if err != nil {
		k.mu.Unlock()
		t.fds.DecRef()
		return nil, ErrContainerExited
	}
	t.tid = id
	t.pidns, t.childPIDNS = c.pidns, c.pidns
	t.tg = k.newThreadGroup(id, c.pidns, nil, &SignalHandlers{}, DefaultLimits())
	t.tg.container = c
	t.tg.settle = newProcessSettle()
	t.tg.leader = t
	t.tg.tasks[t] = struct{}{}
	t.tg.oomScoreAdj, t.tg.oomScoreAdjMin = int16(opts.OOMScoreAdj), int16(opts.OOMScoreAdj)
	k.tasks[id] = t
	c.live++
	if opts.Init {
		c.init = t.tg
		go c.watchMemory()
	}
	k.mu.Unlock()
	if opts.TTY != nil {
		// The process leads a new session (it has no parent): the
		// terminal becomes its controlling terminal, as the replica's
		// first open by a session leader makes it on Linux.
		opts.TTY.SetControllingTTYOnOpen(t.JobControl(), unix.O_RDWR)
	}

	started := make(chan error, 1)
	go t.goroutine(func() error { return t.Exec(path, opts.Argv, opts.Env) }, started)
	if err := <-started; err != nil {
		return t.tg, err
	}
	return t.tg, nil
}

func cwdOrRoot(cwd string) string {
	if cwd == "" {
		return "/"
	}
	return cwd
}

// processExitedLocked accounts for the exit of tg, a process of a
// container: when it is the container's init, every other process of the
// container is killed; when the last one has gone after init, the
// container is done.
//
// Preconditions: k.mu is held; tg has just exited (exitLocked).
func (c *Container) processExitedLocked(tg *ThreadGroup) {
	u, s := tg.cpuTimeLocked()
	c.exitedCPUNS += u + s
	c.exitedSysNS += s
	c.exitedFaults.add(tg.processFaultsLocked())
	c.live--
	if tg == c.init {
		c.initExited = true
		c.initStatus = tg.exitStatus
		for _, other := range c.k.threadGroups {
			if other.container == c && other != tg {
				other.killLocked(unix.WaitStatus(unix.SIGKILL))
			}
		}
	}
	if c.initExited && c.live == 0 {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
}

// ContainerUsage is a container's resource use.
type ContainerUsage struct {
	// CPU is the CPU time of its processes, live and exited.
	CPU time.Duration
	// Processes is the number of live processes.
	Processes int
	// MMs are the distinct address spaces of its live tasks.
	MMs []*mm.MemoryManager
}

// Usage returns c's resource use.
func (c *Container) Usage() ContainerUsage {
	k := c.k
	k.mu.Lock()
	defer k.mu.Unlock()
	cpu := c.exitedCPUNS
	u := ContainerUsage{Processes: c.live}
	seen := make(map[*mm.MemoryManager]bool)
	for _, tg := range k.threadGroups {
		if tg.container != c || tg.zombie {
			continue
		}
		us, sy := tg.cpuTimeLocked()
		cpu += us + sy
		for t := range tg.tasks {
			if t.mm != nil && !seen[t.mm] {
				seen[t.mm] = true
				u.MMs = append(u.MMs, t.mm)
			}
		}
	}
	u.CPU = time.Duration(cpu)
	return u
}

// TotalCPU returns the CPU time of every process the kernel ran, live and
// exited.
func (k *Kernel) TotalCPU() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	total := k.exitedCPUNS
	for _, tg := range k.threadGroups {
		if tg.zombie {
			continue
		}
		u, s := tg.cpuTimeLocked()
		total += u + s
	}
	return time.Duration(total)
}

// Traps counts the times every task, live or exited, came back from
// application code to the sentry (a system call, a fault, an exception,
// an interruption). Each is a hand-off between the platform and the
// sentry, which is what the daemon's CPU placement weighs.
func (k *Kernel) Traps() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	total := k.exitedTraps
	for _, t := range k.tasks {
		total += t.traps.Load()
	}
	return total
}

// SignalContainer sends sig from the kernel (as the daemon's kill does:
// SI_USER from outside the sandbox) to tg, or with all to every live
// process of c.
func (k *Kernel) SignalContainer(c *Container, tg *ThreadGroup, sig unix.Signal, all bool) error {
	if sig <= 0 || sig > NumSignals {
		return unix.EINVAL
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var targets []*ThreadGroup
	if all {
		for _, other := range k.threadGroups {
			if other.container == c && !other.zombie {
				targets = append(targets, other)
			}
		}
	} else if tg != nil && !tg.zombie {
		targets = append(targets, tg)
	}
	if len(targets) == 0 {
		return unix.ESRCH
	}
	for _, target := range targets {
		k.sendFromOutsideLocked(target, sig)
	}
	return nil
}

// sendFromOutsideLocked sends sig to tg from outside its container, as a
// signal from an ancestor PID namespace: SIGKILL and SIGSTOP reach a
// container's init too (Linux forces them from an ancestor namespace),
// while other signals init has no handler for are ignored, as they are
// for runc's container init (so a stop falls back to SIGKILL).
//
// Preconditions: k.mu is held.
func (k *Kernel) sendFromOutsideLocked(tg *ThreadGroup, sig unix.Signal) {
	if sig == unix.SIGKILL {
		tg.killLocked(unix.WaitStatus(unix.SIGKILL))
		return
	}
	// The sender is outside the sandbox: PID 0, as Linux shows a sender
	// from another PID namespace, and SIGSTOP reaches init as from an
	// ancestor namespace.
	info := &SigInfo{Signo: int32(sig), Code: SIUser, force: true}
	info.SetPIDUID(0, 0)
	k.sendLocked(tg, nil, info)
}

// KillAll SIGKILLs every process and waits up to timeout for every task
// to exit; it reports whether they all did.
func (k *Kernel) KillAll(timeout time.Duration) bool {
	k.mu.Lock()
	var dones []chan struct{}
	for _, tg := range k.threadGroups {
		tg.killLocked(unix.WaitStatus(unix.SIGKILL))
	}
	for _, t := range k.tasks {
		dones = append(dones, t.done)
	}
	k.mu.Unlock()
	deadline := time.After(timeout)
	for _, d := range dones {
		select {
		case <-d:
		case <-deadline:
			return false
		}
	}
	return true
}

// Exited returns a channel closed when tg has exited.
func (tg *ThreadGroup) Exited() <-chan struct{} { return tg.exited }

// ExitStatus returns tg's wait status once it has exited.
func (k *Kernel) ExitStatus(tg *ThreadGroup) unix.WaitStatus {
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.exitStatus
}

// AddMount records a mount made by mount(2) in the caller's mount
// namespace: its container's, or the sandbox's.
func (t *Task) AddMount(r MountRecord) {
	if c := t.container; c != nil {
		c.mounts.add(r)
		return
	}
	t.k.AddMount(r)
}

// RemoveMount forgets the most recent mount at target in the caller's
// mount namespace.
func (t *Task) RemoveMount(target string) {
	if c := t.container; c != nil {
		c.mounts.remove(target)
		return
	}
	t.k.RemoveMount(target)
}

// MountRecords returns the mounts made by mount(2) in the caller's mount
// namespace.
func (t *Task) MountRecords() []MountRecord {
	if c := t.container; c != nil {
		return c.mounts.all()
	}
	return t.k.MountRecords()
}

// MountRecords returns the mounts the container's processes made.
func (c *Container) MountRecords() []MountRecord { return c.mounts.all() }

// SandboxRoot returns the root of the caller's mount namespace, which
// chroot(2) does not change (pivot_root does).
func (t *Task) SandboxRoot() *vfs.Dentry { return t.MountNamespace().Root() }

// defaultPath is used to find a program when the environment has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// FindProgram resolves name as execvp does: names with a slash are paths,
// others are searched in the PATH of env.
func FindProgram(root, cwd *vfs.Dentry, name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		candidate := dir + "/" + name
		d, err := vfs.Resolve(root, cwd, candidate, vfs.ResolveOpts{FollowFinal: true})
		if err != nil {
			continue
		}
		if st, err := d.Inode().Stat(); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", unix.ENOENT
}

// installSeccomp installs filter on t, which no other goroutine can see
// yet, through the same path as seccomp(SECCOMP_SET_MODE_FILTER) so that
// the filter is checked exactly as an application's would be. The
// filter's bytes play the task's memory.
//
// runc installs the profile while it still holds CAP_SYS_ADMIN, before
// dropping to the container's capabilities, so the install needs no
// no_new_privs; t's own no_new_privs bit is the container's setting.
func installSeccomp(t *Task, filter []byte, log bool) error {
	n := len(filter) / seccomp.SizeofSockFilter
	if len(filter)%seccomp.SizeofSockFilter != 0 || n > seccomp.MaxInstructions {
		return unix.EINVAL
	}
	var fprog [seccomp.SizeofSockFprog]byte
	binary.LittleEndian.PutUint16(fprog[0:], uint16(n))
	binary.LittleEndian.PutUint64(fprog[8:], bootFilterAddr)
	var flags uint32
	if log {
		flags = seccomp.FlagLog
	}
	_, err := seccomp.SetModeFilter(bootSeccompCaller{t: t, fprog: fprog[:], filter: filter}, flags, bootFprogAddr)
	return err
}

// Addresses of the struct sock_fprog and of the filter in the memory
// bootSeccompCaller makes up (any two non-null, non-overlapping ones).
const (
	bootFprogAddr  = 0x1000
	bootFilterAddr = 0x10000
)

// bootSeccompCaller is the seccomp.Caller of installSeccomp.
type bootSeccompCaller struct {
	t             *Task
	fprog, filter []byte
}

func (c bootSeccompCaller) CopyIn(addr uint64, dst []byte) (int, error) {
	for _, r := range []struct {
		at uint64
		b  []byte
	}{{bootFprogAddr, c.fprog}, {bootFilterAddr, c.filter}} {
		if addr >= r.at && addr-r.at <= uint64(len(r.b)) && uint64(len(dst)) <= uint64(len(r.b))-(addr-r.at) {
			return copy(dst, r.b[addr-r.at:]), nil
		}
	}
	return 0, unix.EFAULT
}

func (c bootSeccompCaller) CopyOut(uint64, []byte) (int, error) { return 0, unix.EFAULT }
func (c bootSeccompCaller) NoNewPrivs() bool                    { return c.t.noNewPrivs }
func (c bootSeccompCaller) NoNewPrivsLocked() bool              { return c.t.noNewPrivs }
func (c bootSeccompCaller) HasCapSysAdmin() bool                { return true }
func (c bootSeccompCaller) SeccompState() *seccomp.State        { return &c.t.seccomp }

// LockThreadGroup needs no lock: the task is not yet visible to anyone.
func (c bootSeccompCaller) LockThreadGroup(fn func([]seccomp.Thread)) { fn(nil) }
