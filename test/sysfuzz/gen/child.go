//go:build linux && amd64

package main

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The child's memory, all mapped by the child itself and never handed to
// a call that unmaps or reprotects memory (those get scratch addresses).
const (
	// arenaSize is where calls' input structures are built (the first
	// half, reset every call) and where output pointers point (the
	// second half). A PROT_NONE guard page follows it, so a size that
	// runs past the end makes a partial copy and an EFAULT.
	arenaSize = 1 << 20
	arenaIn   = arenaSize / 2
	// scratchSize is the region memory-management calls play in.
	scratchSize = 16 << 20
	// logFD is where -v writes the call log; the argument generators
	// never name it.
	logFD = 1000
	// maxFD bounds the descriptors the generators name, below logFD.
	maxFD = 900
	// poolSize bounds the descriptors kept for later calls.
	poolSize = 64
	// interruptNS is the period of the timer that interrupts blocking
	// calls.
	interruptNS = 5_000_000
)

func sigNopAddrs() (handler, restorer uintptr)

// child runs one batch of calls.
type child struct {
	seed    uint64
	verbose bool

	progress []uint64

	arena      []byte
	arenaBase  uint64
	arenaOff   int // bump allocator over arena[:arenaIn]
	roPage     uint64
	scratch    uint64
	pid, tid   int
	ownPIDNS   bool
	privateNS  bool
	interrupts int // the timer that interrupts blocking calls, or -1
	workdir    string

	fds    []int32 // descriptors for fd arguments
	dirFDs []int32
	ipcIDs []uint64
	paths  []string

	// Per-call hints between related arguments (an iovec array and its
	// count, a sockaddr and its length).
	lastN       uint64
	lastSockLen uint64
}

func childMain(args []string) int {
	seed, start, count, workdir, verbose, err := parseChildArgs(args)
	if err != nil {
		fmt.Println("sysfuzz child:", err)
		return 2
	}
	// One thread makes every call, so the interrupting timer can target
	// it, and the collector stays off so the runtime does as little as
	// possible behind the calls' backs.
	runtime.LockOSThread()
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(-1)
	c := &child{seed: seed, verbose: verbose}
	if err := c.setup(filepath.Join(workdir, strconv.FormatUint(start, 10))); err != nil {
		fmt.Println("sysfuzz child: setup:", err)
		return 2
	}
	for k := uint64(0); k < count; k++ {
		i := start + k
		call := c.generate(i)
		atomic.StoreUint64(&c.progress[progNR], call.nr)
		atomic.StoreUint64(&c.progress[progBegun], k+1)
		if c.verbose {
			c.log(fmt.Sprintf("%d %s\n", i, call))
		}
		r, _, errno := syscall.RawSyscall6(uintptr(call.nr), uintptr(call.args[0]), uintptr(call.args[1]),
			uintptr(call.args[2]), uintptr(call.args[3]), uintptr(call.args[4]), uintptr(call.args[5]))
		if isFork(call.nr) && errno == 0 && r == 0 {
			// The new process runs this loop's code with a copy of a Go
			// runtime whose other threads it lacks: it must not go on.
			syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
		}
		if c.verbose {
			if errno != 0 {
				c.log(fmt.Sprintf("%d = -1 %s\n", i, unix.ErrnoName(errno)))
			} else {
				c.log(fmt.Sprintf("%d = %#x\n", i, r))
			}
		}
		if errno == 0 {
			c.after(call, uint64(r))
		}
	}
	atomic.StoreUint64(&c.progress[progDone], 1)
	return 0
}

func isFork(nr uint64) bool {
	return nr == unix.SYS_FORK || nr == unix.SYS_VFORK || nr == unix.SYS_CLONE || nr == unix.SYS_CLONE3
}

// log writes a line of the call log, across interruptions.
func (c *child) log(s string) {
	b := []byte(s)
	for len(b) > 0 {
		n, err := unix.Write(logFD, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		b = b[n:]
	}
}

// setup makes the state the calls start from: the memory regions, the
// descriptors, a private mount namespace and the interrupting timer. It
// is the same for every batch, so a batch replays alone.
func (c *child) setup(dir string) error {
	mem, err := unix.Mmap(3, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("progress page: %w", err)
	}
	c.progress = unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), progressWords)
	unix.Close(3)
	if c.verbose {
		if err := unix.Dup3(1, logFD, 0); err != nil {
			return err
		}
	}
	c.pid, c.tid = unix.Getpid(), unix.Gettid()
	c.ownPIDNS = c.pid == 1
	// Mounts and pivot_root then change only this child's view.
	if unix.Unshare(unix.CLONE_NEWNS) == nil {
		c.privateNS = unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "") == nil
	}

	arena, err := unix.Mmap(-1, 0, arenaSize+4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return err
	}
	if err := unix.Mprotect(arena[arenaSize:], unix.PROT_NONE); err != nil {
		return err
	}
	c.arena = arena[:arenaSize]
	c.arenaBase = uint64(uintptr(unsafe.Pointer(&arena[0])))
	ro, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return err
	}
	c.roPage = uint64(uintptr(unsafe.Pointer(&ro[0])))
	scratch, err := unix.Mmap(-1, 0, scratchSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return err
	}
	c.scratch = uint64(uintptr(unsafe.Pointer(&scratch[0])))

	if err := c.makeFiles(dir); err != nil {
		return err
	}
	c.openFixtureFDs()
	c.installSignals()
	c.interrupts = c.startInterrupts()
	return nil
}

// makeFiles makes the batch's directory, the working directory, with a
// file, a directory, a symlink and a FIFO in it.
func (c *child) makeFiles(dir string) error {
	c.workdir = dir
	if err := unix.Mkdir(dir, 0o755); err != nil && err != unix.EEXIST {
		return err
	}
	if err := unix.Chdir(dir); err != nil {
		return err
	}
	fd, err := unix.Open("f", unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	_, _ = unix.Write(fd, make([]byte, 8192))
	unix.Close(fd)
	_ = unix.Mkdir("d", 0o755)
	_ = unix.Symlink("f", "sym")
	_ = unix.Mkfifo("fifo", 0o644)
	c.paths = []string{
		dir + "/f", dir + "/d", dir + "/sym", dir + "/fifo", dir + "/new", dir + "/d/x",
		"f", "d", "sym", "fifo", "new", "d/../f", "", ".", "..", "/",
		"/etc/passwd", "/etc", "/tmp", "/dev/null", "/dev/zero", "/dev/full", "/dev/urandom",
		"/dev/ptmx", "/dev/tty", "/dev/shm/sysfuzz", "/dev/pts", "/proc/self/status",
		"/proc/self/maps", "/proc/self/mem", "/proc/self/fd", "/proc/self/fd/0",
		"/proc/self/ns/net", "/proc/self/cwd", "/proc/self/root", "/proc/meminfo",
		"/proc/sys/kernel/hostname", "/proc/sys/net/ipv4/ip_forward", "/sys/kernel",
		"/sys/class/net/lo/mtu", "/sys/fs/cgroup", "/nonexistent/x",
	}
	return nil
}

// openFixtureFDs opens one descriptor of each kind it can; the kernel
// may lack some, and their calls then fail like any other.
func (c *child) openFixtureFDs() {
	add := func(fd int, err error) {
		if err == nil && fd < maxFD {
			c.fds = append(c.fds, int32(fd))
		}
	}
	nb := unix.O_NONBLOCK
	// The paths outside the batch's directory are the sandbox's, which
	// earlier batches' calls may have replaced (a rename of their FIFO
	// over /dev/urandom): opened without O_NONBLOCK, such a FIFO would
	// hold every later child in its set-up.
	add(unix.Open("/dev/null", unix.O_RDWR|nb, 0))
	add(unix.Open("/dev/zero", unix.O_RDWR|nb, 0))
	add(unix.Open("/dev/urandom", unix.O_RDONLY|nb, 0))
	add(unix.Open("/etc/passwd", unix.O_RDONLY|nb, 0))
	add(unix.Open("f", unix.O_RDWR, 0))
	add(unix.Open("f", unix.O_RDONLY|unix.O_APPEND, 0))
	add(unix.Open("fifo", unix.O_RDWR|nb, 0))
	add(unix.Open("/proc/self/status", unix.O_RDONLY, 0))
	add(unix.Open("/proc/self/maps", unix.O_RDONLY, 0))
	add(unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|nb, 0))
	add(unix.Open("/", unix.O_PATH, 0))
	for _, d := range []string{".", "d", "/proc/self", "/dev"} {
		if fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY, 0); err == nil && fd < maxFD {
			c.fds = append(c.fds, int32(fd))
			c.dirFDs = append(c.dirFDs, int32(fd))
		}
	}
	var p [2]int
	if unix.Pipe2(p[:], nb) == nil {
		add(p[0], nil)
		add(p[1], nil)
	}
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		if s, err := unix.Socketpair(unix.AF_UNIX, typ|nb, 0); err == nil {
			add(s[0], nil)
			add(s[1], nil)
		}
	}
	add(unix.Socket(unix.AF_INET, unix.SOCK_STREAM|nb, 0))
	add(unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|nb, 0))
	add(unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|nb, 0))
	add(unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|nb, 0))
	add(unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|nb, unix.IPPROTO_ICMP))
	add(unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|nb, unix.NETLINK_ROUTE))
	add(unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|nb, 0))
	add(unix.Eventfd(0, unix.EFD_NONBLOCK))
	add(unix.EpollCreate1(0))
	add(unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK))
	add(unix.InotifyInit1(unix.IN_NONBLOCK))
	if fd, err := unix.MemfdCreate("sysfuzz", unix.MFD_ALLOW_SEALING); err == nil {
		_ = unix.Ftruncate(fd, 65536)
		add(fd, nil)
	}
	var mask unix.Sigset_t
	add(unix.Signalfd(-1, &mask, unix.SFD_NONBLOCK))
	add(unix.PidfdOpen(c.pid, 0))
}

// installSignals keeps the calls from ending the batch by accident: a
// signal whose default (or the Go runtime's) action is to end the process
// is ignored instead; SIGALRM gets the handler that interrupts blocking
// calls.
func (c *child) installSignals() {
	for _, sig := range []unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGPIPE, unix.SIGTERM,
		unix.SIGSTKFLT, unix.SIGXFSZ, unix.SIGXCPU, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU,
		unix.SIGUSR1, unix.SIGUSR2, unix.SIGVTALRM, unix.SIGIO, unix.SIGPWR, unix.SIGABRT, unix.SIGTRAP} {
		c.sigaction(sig, 1 /* SIG_IGN */, 0, 0)
	}
	h, r := sigNopAddrs()
	c.sigaction(unix.SIGALRM, uint64(h), saOnStack|saRestorer, uint64(r))
}

const (
	saRestorer = 0x04000000
	saOnStack  = 0x08000000
)

// sigaction installs a handler with the kernel's struct sigaction (the
// Go runtime's own handlers go through the same call).
func (c *child) sigaction(sig unix.Signal, handler, flags, restorer uint64) {
	var act [4]uint64
	act[0], act[1], act[2] = handler, flags, restorer
	syscall.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act[0])), 0, 8, 0, 0)
}

// startInterrupts starts a timer that sends SIGALRM to this thread every
// interruptNS, so a call that blocks (an empty pipe, a futex, pause)
// returns EINTR instead of holding the batch until the parent kills it.
func (c *child) startInterrupts() int {
	var sev [64]byte
	binary.LittleEndian.PutUint32(sev[8:], uint32(unix.SIGALRM))
	binary.LittleEndian.PutUint32(sev[12:], 4) // SIGEV_THREAD_ID
	binary.LittleEndian.PutUint32(sev[16:], uint32(c.tid))
	var id int32
	_, _, errno := syscall.RawSyscall(unix.SYS_TIMER_CREATE, unix.CLOCK_MONOTONIC,
		uintptr(unsafe.Pointer(&sev[0])), uintptr(unsafe.Pointer(&id)))
	its := [4]int64{0, interruptNS, 0, interruptNS}
	if errno != 0 {
		// Without thread-directed timers, a process-wide one: the
		// signal may then land on another thread of the runtime.
		itv := [4]int64{0, interruptNS / 1000, 0, interruptNS / 1000}
		_, _, _ = syscall.RawSyscall(unix.SYS_SETITIMER, 0, uintptr(unsafe.Pointer(&itv[0])), 0)
		return -1
	}
	syscall.RawSyscall6(unix.SYS_TIMER_SETTIME, uintptr(id), 0, uintptr(unsafe.Pointer(&its[0])), 0, 0, 0)
	return int(id)
}
