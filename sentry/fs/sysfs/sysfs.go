// Package sysfs is the sandbox's minimal /sys: the CPU topology files
// programs size their thread pools from, and /sys/fs/cgroup showing the
// reader's cgroup as cgroup v2 files, so runtimes that read their cgroup
// (the JVM, Go's GOMAXPROCS heuristics in libraries, Node) see their
// resources rather than the host's; /sys/class/net, the sandbox's
// network devices (net.go); and the block device lists, empty.
//
// A pod's container sees its own cgroup there, as it does under runc
// with a cgroup namespace: memory.current is what its memory account
// holds (sentry/kernel/container_memory.go), not the pod's, and
// memory.max its own limit. Every container's /sys is one file tree made
// before the container exists, so the files find the account through the
// task that opens them. A container without a limit of its own shows the
// pod's, which bounds it all the same (runc would show "max" and leave
// the pod's limit to the parent cgroup, which a runtime reading only its
// own memory.max would then miss); outside a container (cocoon do) the
// files show the sandbox's.
package sysfs

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Config is what /sys shows.
type Config struct {
	// NumCPU is the number of CPUs the sandbox may use.
	NumCPU int
	// MemoryLimit is the pod's memory limit in bytes; 0 is "max".
	MemoryLimit uint64
	// MemoryUsage reports the sandbox's current memory use in bytes.
	MemoryUsage func() uint64
	// Network returns the sandbox's network, whose devices
	// /sys/class/net shows (none when nil).
	Network func() (netif.Network, error)
	// ReaderMemCgroup returns the memory account of the container the
	// task opening a file belongs to, nil when it belongs to none. Nil
	// asks the kernel (mm.CallerAccount).
	ReaderMemCgroup func() *mm.MemCgroup
}

// readerMemCgroup returns the account of the container of the task on
// whose behalf the calling goroutine runs (the file's opener).
func readerMemCgroup() *mm.MemCgroup { return mm.CallerAccount().Memcg }

// New returns the /sys directory.
func New(cfg Config) vfs.Inode {
	cpus := fmt.Sprintf("0-%d\n", max(cfg.NumCPU, 1)-1)
	if cfg.NumCPU <= 1 {
		cpus = "0\n"
	}
	static := func(s string) vfs.Inode { return newFile(func() string { return s }) }
	reader := cfg.ReaderMemCgroup
	if reader == nil {
		reader = readerMemCgroup
	}
	limit := func() string {
		l := cfg.MemoryLimit
		if mc := reader(); mc != nil && mc.Limit() != 0 {
			// The container's limit, or the pod's if it is lower.
			if l == 0 || mc.Limit() < l {
				l = mc.Limit()
			}
		}
		if l == 0 {
			return "max\n"
		}
		return fmt.Sprintf("%d\n", l)
	}
	usage := func() string {
		if mc := reader(); mc != nil {
			return fmt.Sprintf("%d\n", mc.Usage())
		}
		if cfg.MemoryUsage == nil {
			return "0\n"
		}
		return fmt.Sprintf("%d\n", cfg.MemoryUsage())
	}
	cpuDir := map[string]vfs.Inode{
		"online":   static(cpus),
		"possible": static(cpus),
		"present":  static(cpus),
	}
	cgroup := map[string]vfs.Inode{
		"cgroup.controllers": static("cpu memory pids\n"),
		"cpu.max":            static(fmt.Sprintf("%d 100000\n", max(cfg.NumCPU, 1)*100000)),
		"memory.max":         newFile(limit),
		"memory.current":     newFile(usage),
		"pids.max":           static("max\n"),
	}
	classNet, virtualNet := newNet(cfg.Network)
	// The sandbox has no block devices, and no device numbers to look
	// up: the directories that list them are there and empty, so that
	// lsblk and udev-style walks find none rather than fail.
	none := func() vfs.Inode { return synth.NewDir(0o755, nil) }
	return synth.NewDir(0o555, map[string]vfs.Inode{
		"block": none(),
		"class": synth.NewDir(0o755, map[string]vfs.Inode{
			"block": none(),
			"net":   classNet,
		}),
		"dev": synth.NewDir(0o755, map[string]vfs.Inode{
			"block": none(),
			"char":  none(),
		}),
		"devices": synth.NewDir(0o555, map[string]vfs.Inode{
			"system": synth.NewDir(0o555, map[string]vfs.Inode{
				"cpu": synth.NewDir(0o555, cpuDir),
			}),
			"virtual": synth.NewDir(0o755, map[string]vfs.Inode{
				"net": virtualNet,
			}),
		}),
		"fs": synth.NewDir(0o555, map[string]vfs.Inode{
			"cgroup": synth.NewDir(0o555, cgroup),
		}),
	})
}

// file is a read-only attribute file whose contents are generated at
// open, as sysfs does.
type file struct {
	attr     unix.Stat_t
	contents func() string
}

func newFile(contents func() string) *file {
	a := synth.Attr(synth.NewIno(), unix.S_IFREG|0o444, 0)
	a.Size = 4096 // sysfs reports a page whatever the contents
	return &file{attr: a, contents: contents}
}

func (f *file) Stat() (unix.Stat_t, error)       { return f.attr, nil }
func (f *file) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }
func (f *file) Readlink() (string, error)        { return "", unix.EINVAL }

func (f *file) Open(flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
		return nil, unix.EACCES
	}
	return &openFile{f: f, data: []byte(f.contents())}, nil
}

// openFile is an open attribute file: a snapshot of its contents.
type openFile struct {
	f    *file
	data []byte
}

func (o *openFile) ReadAt(dst []byte, off int64) (int, error) {
	if off >= int64(len(o.data)) {
		return 0, nil
	}
	return copy(dst, o.data[off:]), nil
}
func (o *openFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }
func (o *openFile) Stat() (unix.Stat_t, error)         { return o.f.attr, nil }
func (o *openFile) Close() error                       { return nil }
