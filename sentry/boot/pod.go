package boot

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/fs/dev"
	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/fs/proc"
	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/fs/sysfs"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/syscalls"
	"github.com/cocoonrt/cocoon/sentry/sysctl"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Pod is a pod-mode sentry's kernel and what its containers share: the
// memory file, the gofer connection, one devpts and one /dev/shm (the
// pod's IPC namespace).
type Pod struct {
	Kernel *kernel.Kernel
	Spec   *Spec
	Log    *slog.Logger
	// PTYs is the pod's devpts, which every container's /dev/pts shows.
	PTYs *devpts.FS

	client *gofer.Client
	mf     *memfile.File
	// store, when set, holds the data of the containers' writable
	// roots (Spec.RootOverlay "store"); each root gets a tmpfs over it.
	store *memfile.File
	shm   *tmpfs.FS

	// podNSMu protects podNS, the pod's shared PID namespace once a
	// container asked for it (pause.go).
	podNSMu sync.Mutex
	podNS   *kernel.PIDNamespace
}

// PodServer serves a pod's control socket (listening descriptor
// controlFD) until shutdown and returns the sentry's exit code. The
// control package registers it: it imports this package for the
// protocol's types, so this package cannot call it directly.
type PodServer func(p *Pod, controlFD int) int

// podServer is the registered PodServer; set once at init time.
var podServer PodServer

// RegisterPodServer sets the server pod mode runs. It is called from an
// init function, before Main.
func RegisterPodServer(s PodServer) { podServer = s }

// runPod builds the pod's kernel and serves its control socket.
func runPod(spec *Spec, log *slog.Logger) (int, error) {
	if podServer == nil {
		return 125, errors.New("pod mode: no control server is linked into this binary")
	}
	size := spec.MemoryBytes
	if size == 0 {
		size = defaultMemoryBytes
	}
	mf, err := memfile.New("cocoon-memory", size)
	if err != nil {
		return 125, err
	}
	sysctl.ScaleNetDefaults(size)
	if spec.MemoryBytes > 0 {
		// The pod has a memory limit: the memory file's size and the
		// sandbox's own share make the cgroup's limit.
		cgroupBytes := spec.MemoryBytes + spec.SandboxMemoryBytes
		go limitHeap(cgroupBytes, mf.Held)
		log.Info("the sentry's heap is limited to what the pod's memory leaves", "cgroupBytes", cgroupBytes)
	}
	store, err := attachStore(mf, spec)
	if err != nil {
		mf.Close()
		return 125, err
	}
	p, err := newPlatform(spec.Platform, mf, log)
	if err != nil {
		return 125, fmt.Errorf("starting platform: %w", err)
	}
	logStubConfinement(p, log)
	defer p.Close()
	client, err := gofer.NewClient(GoferFD)
	if err != nil {
		return 125, fmt.Errorf("connecting to gofer: %w", err)
	}
	defer client.Shutdown()

	// The kernel's own root is an empty directory: every process of a
	// pod belongs to a container and resolves from its container's
	// root, so nothing should ever reach this one.
	empty := vfs.NewRoot(synth.NewDir(0o755, map[string]vfs.Inode{}))
	empty.SetReadOnly()
	k := kernel.NewKernel(p, mf, empty, syscalls.AMD64, log)
	ptys := devpts.New()
	ptys.SetHooks(k.TerminalHooks())
	k.PTYs = ptys
	k.MemoryLimit = size
	if spec.Hostname != "" {
		k.Hostname = spec.Hostname
	}
	if spec.Strace {
		k.Strace = newStrace(os.Stderr)
	}
	// A hostNetwork pod's sentry runs in the node's namespace: its
	// programs' sockets are host sockets (sentry/socket/hostinet).
	k.HostNetwork = spec.Network == NetworkHost
	if k.HostNetwork {
		// rtnetlink, /proc/net and the interface ioctls show the
		// node's network through descriptors opened now.
		if err := k.AttachHostNetwork(); err != nil {
			return 125, fmt.Errorf("attaching the host network: %w", err)
		}
	}
	if spec.Network == NetworkPod {
		// The sentry runs in the pod's network namespace: the
		// stack takes CNI's interfaces over now, so the pod IP
		// answers before any program opens a socket.
		links, err := k.AttachPodNetwork(spec.Links)
		if err != nil {
			return 125, fmt.Errorf("attaching the pod network: %w", err)
		}
		for _, l := range links {
			log.Info("pod interface attached", "link", l.String())
		}
	}
	// After the network, as a runtime writes them into a namespace
	// its network plugin has set up: a per-interface sysctl finds its
	// interface.
	if err := applySysctls(k, spec.Sysctls); err != nil {
		return 1, err
	}
	if err := confineIfAsked(spec, p, k.HostNetwork, log); err != nil {
		return 125, err
	}
	closing := func() int64 { return -1 }
	if spec.Network == NetworkPod {
		// Made by AttachPodNetwork above.
		if s, err := k.NetStack(); err == nil {
			closing = s.ClosingConnections
		}
	}
	go trimMemory(closing, k.MemFile.Flush)
	pod := &Pod{
		Kernel: k,
		Spec:   spec,
		Log:    log,
		PTYs:   ptys,
		client: client,
		mf:     mf,
		store:  store,
		shm:    tmpfs.New(mf, tmpfs.Options{Mode: 0o1777, Dev: shmDev}),
	}
	log.Info("pod sentry serving", "pid", HostPID(), "platform", p.Name(), "hostname", k.Hostname)
	return podServer(pod, ControlFD), nil
}

// ContainerRoot describes a container's file tree.
type ContainerRoot struct {
	ID string
	// RootTree is the gofer tree of the root file system.
	RootTree     string
	RootReadOnly bool
	// Mounts are mounted in order over the root.
	Mounts []Mount
	// Hostname is the container's; empty shares the pod's.
	Hostname string
	// ReadonlyPaths are made read-only and MaskedPaths hidden, after the
	// mounts, as runc does (maskedPaths in masks.go).
	ReadonlyPaths, MaskedPaths []string
	// PIDNamespace is the PID namespace the container's processes live
	// in; nil gives the container its own.
	PIDNamespace *kernel.PIDNamespace
	// Console says the container's process has a terminal: its /dev has
	// a console node, over which the terminal is bound when it starts.
	Console bool
}

// NewContainer builds a container's file tree (its root from the gofer,
// its own /dev, /dev/pts over the pod's devpts, /dev/shm over the pod's
// tmpfs, /sys, /proc and the spec's mounts) and returns the kernel's
// container over it.
func (p *Pod) NewContainer(cr ContainerRoot) (*kernel.Container, error) {
	// With a store the gofer's tree is only the image: the writable
	// layer is the sentry's, over it.
	layered := p.store != nil && !cr.RootReadOnly
	rootInode, err := goferfs.Attach(p.client, cr.RootTree, goferfs.Options{
		Exclusive:    true,
		MemFile:      p.mf,
		IDsFromGofer: p.Spec.idsFromGofer(),
		WriteBehind:  !cr.RootReadOnly && !layered,
		Log:          p.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("attaching root tree %q: %w", cr.RootTree, err)
	}
	rootFS, rootFSType := vfs.Inode(rootInode), "goferfs"
	var upper *tmpfs.FS
	if layered {
		if rootFS, upper, err = writableRoot(rootInode, p.store); err != nil {
			return nil, fmt.Errorf("attaching root tree %q: %w", cr.RootTree, err)
		}
		rootFSType = "overlay"
	}
	root := vfs.NewRoot(rootFS)
	if cr.RootReadOnly {
		root.SetReadOnly()
	}
	devEntries := map[string]vfs.Inode{
		"ptmx": p.PTYs.PtmxInode(),
		"pts":  synth.NewDir(0o755, map[string]vfs.Inode{}),
		"tty":  dev.NewTTY(),
	}
	if cr.Console {
		devEntries["console"] = dev.NewConsole()
	}
	devInode := dev.NewWith(devEntries)
	devRoot := root.MountChild("dev", devInode)
	ptsRoot := devRoot.MountChild("pts", p.PTYs.Root())
	shmRoot := devRoot.MountChild("shm", p.shm.Root())
	sysRoot := root.MountChild("sys", sysfs.New(sysfs.Config{
		NumCPU:      runtime.NumCPU(),
		MemoryLimit: p.Spec.MemoryBytes,
		MemoryUsage: p.mf.InUse,
		Network:     p.Kernel.Network,
	}))
	// subs are the tree's mounts in the order they are made, for the
	// read-only paths that must mount again what lies below them.
	subs := []subMount{
		{path: "/", root: root, source: cr.RootTree, fsType: rootFSType},
		{path: "/dev", root: devRoot, source: "tmpfs", fsType: "tmpfs"},
		{path: "/dev/pts", root: ptsRoot, source: "devpts", fsType: "devpts"},
		{path: "/dev/shm", root: shmRoot, source: "shm", fsType: "tmpfs"},
		{path: "/sys", root: sysRoot, source: "sysfs", fsType: "sysfs"},
	}
	specMounts, specSubs, err := mountAll(root, cr.Mounts, p.client, p.mf, p.Spec.idsFromGofer())
	if err != nil {
		return nil, err
	}
	subs = append(subs, specSubs...)
	c := p.Kernel.NewContainerIn(cr.ID, root, cr.Hostname, cr.PIDNamespace)
	if upper != nil {
		c.SetWritableLayer(upper)
	}
	mounts := proc.DefaultMounts()
	rootOpts := "rw,relatime"
	if cr.RootReadOnly {
		rootOpts = "ro,relatime"
	}
	mounts[0] = proc.MountOf(cr.RootTree, "/", rootFSType, rootOpts, false, rootFS)
	mounts = append(mounts[:2], append([]proc.Mount{
		proc.MountOf("shm", "/dev/shm", "tmpfs", "rw,nosuid,nodev,relatime", true, p.shm.Root()),
		proc.MountOf("devpts", "/dev/pts", "devpts", "rw,nosuid,noexec,relatime", true, p.PTYs.Root()),
	}, mounts[2:]...)...)
	mounts = append(mounts, specMounts...)
	procRoot := root.MountChild("proc", proc.New(proc.NewContainerSource(p.Kernel, c), proc.Config{Mounts: mounts}))
	// The sandbox's own mounts are nosuid, as runc makes them: a
	// set-id program placed in /dev/shm must not raise privileges.
	for _, m := range []*vfs.Dentry{devRoot, ptsRoot, shmRoot, sysRoot, procRoot} {
		m.SetNoSuid(true)
	}
	subs = append(subs, subMount{path: "/proc", root: procRoot, source: "proc", fsType: "proc"})
	// Everything the paths may name is mounted now, /proc included
	// (where kubelet's defaults point).
	if len(cr.ReadonlyPaths) > 0 || len(cr.MaskedPaths) > 0 {
		null, err := devInode.Lookup("null")
		if err != nil {
			return nil, fmt.Errorf("masked paths: /dev/null: %w", err)
		}
		if err := restrictPaths(c, root, subs, cr.ReadonlyPaths, cr.MaskedPaths, null, p.mf); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// MemoryInUse returns the bytes of the memory file in use.
func (p *Pod) MemoryInUse() uint64 { return p.mf.InUse() }
