package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/fs/dev"
	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/fs/host"
	"github.com/cocoonrt/cocoon/sentry/fs/proc"
	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/fs/sysfs"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/kvm"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
	"github.com/cocoonrt/cocoon/sentry/syscalls"
	"github.com/cocoonrt/cocoon/sentry/sysctl"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// defaultMemoryBytes sizes the memory file when the spec does not.
const defaultMemoryBytes = 16 << 30

// Main is `cocoon sentry`: it returns the process's exit code, which is the
// program's exit status, or 128+signal when a signal ended it.
func Main(args []string) int {
	if err := closeOnExecInherited(); err != nil {
		fmt.Fprintf(os.Stderr, "cocoon sentry: %v\n", err)
		return 125
	}
	spec, err := readSpec()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cocoon sentry: %v\n", err)
		return 125
	}
	level := slog.LevelWarn
	if spec.Pod {
		// A pod's sentry logs its containers' lives to its log file.
		level = slog.LevelInfo
	}
	if spec.Debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	routeGvisorLog(log)
	if c := spec.Confine; c != nil {
		if err := prepareConfinement(c, log); err != nil {
			log.Error("sentry failed", "err", err)
			return 125
		}
		if c.KVMFD > 0 {
			kvm.UseDevice(c.KVMFD)
		}
	}
	gofer.RaiseFileLimit(os.Stderr)
	// The gofer inherits the same limits and raises its own the same
	// way, so this process's limit stands for the gofer's.
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err == nil {
		goferfs.FitDescriptorLimit(nofile.Cur)
	}
	if spec.Pod {
		code, err := runPod(spec, log)
		if err != nil {
			log.Error("pod sentry failed", "err", err)
		}
		return code
	}
	code, err := run(spec, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cocoon: %v\n", err)
	}
	return code
}

func readSpec() (*Spec, error) {
	f := os.NewFile(SpecFD, "spec")
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	var spec Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("decoding spec: %w", err)
	}
	if len(spec.Argv) == 0 && !spec.Pod {
		return nil, errors.New("spec has no program")
	}
	return &spec, nil
}

// run builds the kernel, starts the program as the sandbox's init and waits
// until every task of the sandbox has exited.
func run(spec *Spec, log *slog.Logger) (int, error) {
	size := spec.MemoryBytes
	if size == 0 {
		size = defaultMemoryBytes
	}
	mf, err := memfile.New("cocoon-memory", size)
	if err != nil {
		return 125, err
	}
	sysctl.ScaleNetDefaults(size)
	store, err := attachStore(mf, spec)
	if err != nil {
		mf.Close()
		return 125, err
	}
	// The platform's start (exec of the master stub) and the gofer's
	// attach overlap: both wait on other processes.
	type platformResult struct {
		p   platform.Platform
		err error
	}
	platformReady := make(chan platformResult, 1)
	go func() {
		p, err := newPlatform(spec.Platform, mf, log)
		if err == nil {
			logStubConfinement(p, log)
		}
		platformReady <- platformResult{p, err}
	}()
	defer func() {
		if r := <-platformReady; r.p != nil {
			r.p.Close()
		}
	}()

	client, err := gofer.NewClient(GoferFD)
	if err != nil {
		return 125, fmt.Errorf("connecting to gofer: %w", err)
	}
	defer client.Shutdown()
	rootInode, err := goferfs.New(client, goferfs.Options{
		Exclusive:    true,
		MemFile:      mf,
		IDsFromGofer: spec.idsFromGofer(),
		// The gofer's tree is the writable layer itself only without
		// a memory overlay, and writable only without RootReadOnly.
		WriteBehind: spec.RootOverlay == "" && !spec.RootReadOnly,
		Log:         log,
	})
	if err != nil {
		return 125, fmt.Errorf("attaching root: %w", err)
	}
	rootFS := rootInode
	rootFSType := "goferfs"
	switch spec.RootOverlay {
	case "":
	case "memory", "store":
		// The writable layer lives in sentry memory, counted against
		// the sandbox like any other tmpfs, or in the store, on disk.
		pages := mf
		if store != nil {
			pages = store
		}
		if rootFS, _, err = writableRoot(rootInode, pages); err != nil {
			return 125, fmt.Errorf("attaching root: %w", err)
		}
		rootFSType = "overlay"
	default:
		return 125, fmt.Errorf("unknown root overlay %q", spec.RootOverlay)
	}
	root := vfs.NewRoot(rootFS)
	if spec.RootReadOnly {
		root.SetReadOnly()
	}
	// The host's /dev, /proc and /sys are never visible: the sandbox has
	// its own.
	ptys := devpts.New()
	devRoot := root.MountChild("dev", dev.NewWith(map[string]vfs.Inode{
		"ptmx": ptys.PtmxInode(),
		"pts":  synth.NewDir(0o755, map[string]vfs.Inode{}),
		"tty":  dev.NewTTY(),
	}))
	devRoot.SetNoSuid(true)
	devRoot.MountChild("pts", ptys.Root()).SetNoSuid(true)
	shm := tmpfs.New(mf, tmpfs.Options{Mode: 0o1777, Dev: shmDev})
	devRoot.MountChild("shm", shm.Root()).SetNoSuid(true)
	// /sys/class/net asks the kernel, which is made below.
	sysNet := &sysfs.NetworkRef{}
	root.MountChild("sys", sysfs.New(sysfs.Config{
		NumCPU:      runtime.NumCPU(),
		MemoryLimit: spec.MemoryBytes,
		MemoryUsage: mf.InUse,
		Network:     sysNet.Network,
	})).SetNoSuid(true)
	specMounts, _, err := mountAll(root, spec.Mounts, client, mf, spec.idsFromGofer())
	if err != nil {
		return 125, err
	}

	pr := <-platformReady
	platformReady <- pr // for the deferred Close
	if pr.err != nil {
		return 125, fmt.Errorf("starting platform: %w", pr.err)
	}
	k := kernel.NewKernel(pr.p, mf, root, syscalls.AMD64, log)
	sysNet.Set(k.Network)
	ptys.SetHooks(k.TerminalHooks())
	k.PTYs = ptys
	k.MemoryLimit = size
	mounts := proc.DefaultMounts()
	rootOpts := "rw,relatime"
	if spec.RootReadOnly {
		rootOpts = "ro,relatime"
	}
	mounts[0] = proc.MountOf("none", "/", rootFSType, rootOpts, false, rootFS)
	mounts = append(mounts[:2], append([]proc.Mount{
		proc.MountOf("shm", "/dev/shm", "tmpfs", "rw,nosuid,nodev,relatime", true, shm.Root()),
		proc.MountOf("devpts", "/dev/pts", "devpts", "rw,nosuid,noexec,relatime", true, ptys.Root()),
	}, mounts[2:]...)...)
	mounts = append(mounts, specMounts...)
	root.MountChild("proc", proc.New(proc.NewKernelSource(k), proc.Config{Mounts: mounts})).SetNoSuid(true)
	if spec.Hostname != "" {
		k.Hostname = spec.Hostname
	}
	if err := applySysctls(k, spec.Sysctls); err != nil {
		return 125, err
	}
	if spec.Strace {
		k.Strace = newStrace(os.Stderr)
	}
	if err := confineIfAsked(spec, pr.p, false, log); err != nil {
		return 125, err
	}

	fds := k.NewFDTable()
	for fd := int32(0); fd < 3; fd++ {
		// The sandbox gets its own descriptions of the standard streams:
		// when its programs close them, the sentry keeps its own stderr.
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return 125, fmt.Errorf("duplicating standard stream %d: %w", fd, err)
		}
		f := vfs.NewFile(host.New(dup), nil, unix.O_RDWR)
		if _, err := fds.NewFD(f, fd, false, 3); err != nil {
			return 125, err
		}
		f.DecRef()
	}
	cwd, err := vfs.Resolve(root, root, spec.Cwd, vfs.ResolveOpts{FollowFinal: true, WantDir: true})
	if err != nil {
		cwd = root
	}
	path, err := findProgram(root, cwd, spec.Argv[0], spec.Env)
	if err != nil {
		return 127, fmt.Errorf("%s: %w", spec.Argv[0], err)
	}
	defer startDebugStats(k, os.Stderr)()
	if err := k.StartInit(fds, cwd, path, spec.Argv, spec.Env); err != nil {
		code := 126
		if errors.Is(err, unix.ENOENT) {
			code = 127
		}
		return code, fmt.Errorf("exec %s: %w", path, err)
	}
	signalled, stopRelay := endOnTermination(k)
	code := k.WaitInit()
	stopRelay()
	if sig := signalled(); sig != 0 {
		code = 128 + int(sig)
	}
	if spec.Debug {
		for nr, n := range k.UnimplementedCounts() {
			log.Debug("unimplemented system call count", "nr", nr, "calls", n)
		}
	}
	return code, nil
}

// confineIfAsked confines the sentry (confine.go) when its spec asks, and
// then, for tests, makes a refused call when asked to.
func confineIfAsked(spec *Spec, p platform.Platform, hostNetwork bool, log *slog.Logger) error {
	if spec.Confine == nil {
		return nil
	}
	c, err := confineSelf(spec.Confine, p, hostNetwork, log)
	if err != nil {
		return err
	}
	log.Info("sentry confined", c.logAttrs()...)
	if spec.DebugSeccompProbe {
		// openat: the first thing an escaped program would want.
		_, err := unix.Open("/", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return fmt.Errorf("debug seccomp probe: openat was not refused: %v", err)
	}
	return nil
}

// findProgram resolves name as execvp does: names with a slash are paths,
// others are searched in PATH.
func findProgram(root, cwd *vfs.Dentry, name string, env []string) (string, error) {
	return kernel.FindProgram(root, cwd, name, env)
}

// newPlatform starts the platform the spec names. "auto" (or "") measures
// the platforms this host offers and keeps the fastest that works
// (probe.StartFastest), saying why the others are not used: that is
// `cocoon do --platform=auto`, which measures where the program will run.
// The daemon measures once at start-up and names the platform in each
// pod's spec, so pods never measure.
func newPlatform(name string, mf *memfile.File, log *slog.Logger) (platform.Platform, error) {
	if name != "" && name != probe.Auto {
		return probe.Start(name, mf)
	}
	p, r, err := probe.StartFastest(mf, probe.Options{})
	if err != nil {
		return nil, err
	}
	log.Info("platform chosen by measurement (auto)", r.LogAttrs()...)
	return p, nil
}
