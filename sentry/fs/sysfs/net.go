package sysfs

import (
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/socket/netif"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// /sys/class/net and /sys/devices/virtual/net: the sandbox's network
// devices, read from its network (sentry/socket/netif) at every open.
// Every device of the sandbox is a virtual one (lo, and the veth the pod
// network gives), so /sys/class/net/NAME links to
// ../../devices/virtual/net/NAME as on Linux. Files are read-only.

// NetworkRef hands /sys a network that exists only after the file tree
// is made (the kernel, which owns it, is made last).
type NetworkRef struct {
	// mu protects fn.
	mu sync.Mutex
	fn func() (netif.Network, error)
}

// Set makes the reference answer with fn.
func (r *NetworkRef) Set(fn func() (netif.Network, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn = fn
}

// Network returns the network once Set was called.
func (r *NetworkRef) Network() (netif.Network, error) {
	r.mu.Lock()
	fn := r.fn
	r.mu.Unlock()
	if fn == nil {
		return nil, unix.ENODEV
	}
	return fn()
}

// statistics are the files of a device's statistics directory, with the
// counter each shows (nil: one the stack does not keep, always 0).
var statistics = []struct {
	name string
	get  func(*netif.Stats) uint64
}{
	{"collisions", nil},
	{"multicast", func(s *netif.Stats) uint64 { return s.Multicast }},
	{"rx_bytes", func(s *netif.Stats) uint64 { return s.RxBytes }},
	{"rx_compressed", nil},
	{"rx_crc_errors", nil},
	{"rx_dropped", func(s *netif.Stats) uint64 { return s.RxDropped }},
	{"rx_errors", func(s *netif.Stats) uint64 { return s.RxErrors }},
	{"rx_fifo_errors", nil},
	{"rx_frame_errors", nil},
	{"rx_length_errors", nil},
	{"rx_missed_errors", nil},
	{"rx_nohandler", nil},
	{"rx_over_errors", nil},
	{"rx_packets", func(s *netif.Stats) uint64 { return s.RxPackets }},
	{"tx_aborted_errors", nil},
	{"tx_bytes", func(s *netif.Stats) uint64 { return s.TxBytes }},
	{"tx_carrier_errors", nil},
	{"tx_compressed", nil},
	{"tx_dropped", func(s *netif.Stats) uint64 { return s.TxDropped }},
	{"tx_errors", func(s *netif.Stats) uint64 { return s.TxErrors }},
	{"tx_fifo_errors", nil},
	{"tx_heartbeat_errors", nil},
	{"tx_packets", func(s *netif.Stats) uint64 { return s.TxPackets }},
	{"tx_window_errors", nil},
}

// netRoot is what /sys/class/net and /sys/devices/virtual/net share:
// one directory per device, made on first lookup and kept (the VFS keeps
// inodes), so inode numbers are stable.
type netRoot struct {
	network func() (netif.Network, error)

	// mu protects devices.
	mu      sync.Mutex
	devices map[string]vfs.Inode
}

// interfaces returns the devices now (none when there is no network).
func (r *netRoot) interfaces() []netif.Interface {
	if r.network == nil {
		return nil
	}
	n, err := r.network()
	if err != nil {
		return nil
	}
	ifs, err := n.Interfaces()
	if err != nil {
		return nil
	}
	return ifs
}

// device returns the directory of the device called name.
func (r *netRoot) device(name string) vfs.Inode {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.devices[name]; ok {
		return d
	}
	d := r.newDevice(name)
	r.devices[name] = d
	return d
}

// netDir is a directory whose entries are the devices: their
// directories (devices/virtual/net) or links to them (class/net).
type netDir struct {
	r     *netRoot
	attr  unix.Stat_t
	entry func(name string) vfs.Inode
}

func (d *netDir) names() []string {
	var out []string
	for _, it := range d.r.interfaces() {
		out = append(out, it.Name)
	}
	return out
}

func (d *netDir) Stat() (unix.Stat_t, error) { return d.attr, nil }
func (d *netDir) Readlink() (string, error)  { return "", unix.EINVAL }

func (d *netDir) Lookup(name string) (vfs.Inode, error) {
	if !slices.Contains(d.names(), name) {
		return nil, unix.ENOENT
	}
	return d.entry(name), nil
}

func (d *netDir) Open(flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EISDIR
	}
	entries := map[string]vfs.Inode{}
	for _, name := range d.names() {
		entries[name] = d.entry(name)
	}
	// A snapshot of the devices for this open's readdir.
	return synth.NewDir(d.attr.Mode&0o7777, entries).Open(flags)
}

// newDevice returns the directory of device name, whose files look the
// device up at each open (ENODEV once it is gone).
func (r *netRoot) newDevice(name string) vfs.Inode {
	it := func() (*netif.Interface, bool) {
		ifs := r.interfaces()
		return netif.ByName(ifs, name)
	}
	attr := func(show func(it *netif.Interface) (string, error)) vfs.Inode {
		return newErrFile(func() (string, error) {
			i, ok := it()
			if !ok {
				return "", unix.ENODEV
			}
			return show(i)
		})
	}
	num := func(get func(it *netif.Interface) uint64) vfs.Inode {
		return attr(func(i *netif.Interface) (string, error) { return fmt.Sprintf("%d\n", get(i)), nil })
	}
	running := func(get func(it *netif.Interface) uint64) vfs.Inode {
		// carrier and dormant say EINVAL while the device is down.
		return attr(func(i *netif.Interface) (string, error) {
			if !i.Up() {
				return "", unix.EINVAL
			}
			return fmt.Sprintf("%d\n", get(i)), nil
		})
	}
	stats := map[string]vfs.Inode{}
	for _, s := range statistics {
		get := s.get
		stats[s.name] = num(func(i *netif.Interface) uint64 {
			if get == nil {
				return 0
			}
			return get(&i.Stats)
		})
	}
	files := map[string]vfs.Inode{
		"address":   attr(func(i *netif.Interface) (string, error) { return macString(i.Addr), nil }),
		"broadcast": attr(func(i *netif.Interface) (string, error) { return macString(i.Broadcast), nil }),
		"addr_len":  num(func(i *netif.Interface) uint64 { return uint64(len(i.Addr)) }),
		"carrier": running(func(i *netif.Interface) uint64 {
			if i.Carrier() {
				return 1
			}
			return 0
		}),
		"dormant": running(func(*netif.Interface) uint64 { return 0 }),
		// dev->flags: the IFF_* flags without dev_get_flags' derived
		// ones (IFF_RUNNING, IFF_LOWER_UP, IFF_DORMANT).
		"flags": attr(func(i *netif.Interface) (string, error) {
			return fmt.Sprintf("%#x\n", i.Flags&^(unix.IFF_RUNNING|netif.IFFLowerUp|netif.IFFDormant)), nil
		}),
		"ifindex":      num(func(i *netif.Interface) uint64 { return uint64(i.Index) }),
		"iflink":       num(func(i *netif.Interface) uint64 { return uint64(i.Link) }),
		"mtu":          num(func(i *netif.Interface) uint64 { return uint64(i.MTU) }),
		"tx_queue_len": num(func(i *netif.Interface) uint64 { return uint64(i.TxQueueLen) }),
		"type":         num(func(i *netif.Interface) uint64 { return uint64(i.Type) }),
		"operstate":    attr(func(i *netif.Interface) (string, error) { return operState(i.OperState) + "\n", nil }),
		"statistics":   synth.NewDir(0o755, stats),
		"subsystem":    synth.NewSymlink("../../../../class/net"),
		"uevent": attr(func(i *netif.Interface) (string, error) {
			return fmt.Sprintf("INTERFACE=%s\nIFINDEX=%d\n", i.Name, i.Index), nil
		}),
	}
	return synth.NewDir(0o755, files)
}

// macString formats a hardware address as sysfs_format_mac does.
func macString(a []byte) string {
	s := ""
	for i, b := range a {
		if i > 0 {
			s += ":"
		}
		s += fmt.Sprintf("%02x", b)
	}
	return s + "\n"
}

// operState names an RFC 2863 state as operstate shows it.
func operState(st uint8) string {
	names := []string{"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"}
	if int(st) < len(names) {
		return names[st]
	}
	return "unknown"
}

// newNet returns /sys/class/net and /sys/devices/virtual/net over
// network.
func newNet(network func() (netif.Network, error)) (class, virtual vfs.Inode) {
	r := &netRoot{network: network, devices: make(map[string]vfs.Inode)}
	dirAttr := func() unix.Stat_t { return synth.Attr(synth.NewIno(), unix.S_IFDIR|0o755, 0) }
	links := map[string]vfs.Inode{}
	var linksMu sync.Mutex
	class = &netDir{r: r, attr: dirAttr(), entry: func(name string) vfs.Inode {
		linksMu.Lock()
		defer linksMu.Unlock()
		if l, ok := links[name]; ok {
			return l
		}
		l := synth.NewSymlink("../../devices/virtual/net/" + name)
		links[name] = l
		return l
	}}
	virtual = &netDir{r: r, attr: dirAttr(), entry: r.device}
	return class, virtual
}

// errFile is a read-only attribute file whose contents, or error, are
// generated at open.
type errFile struct {
	attr     unix.Stat_t
	contents func() (string, error)
}

func newErrFile(contents func() (string, error)) *errFile {
	a := synth.Attr(synth.NewIno(), unix.S_IFREG|0o444, 0)
	a.Size = 4096
	return &errFile{attr: a, contents: contents}
}

func (f *errFile) Stat() (unix.Stat_t, error)       { return f.attr, nil }
func (f *errFile) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }
func (f *errFile) Readlink() (string, error)        { return "", unix.EINVAL }

func (f *errFile) Open(flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
		return nil, unix.EACCES
	}
	return &errOpenFile{f: f}, nil
}

// errOpenFile generates its contents at the first read, as sysfs's show
// runs at read: a device that is down reads EINVAL from carrier.
type errOpenFile struct {
	f    *errFile
	once sync.Once
	data []byte
	err  error
}

func (o *errOpenFile) ReadAt(dst []byte, off int64) (int, error) {
	o.once.Do(func() {
		s, err := o.f.contents()
		o.data, o.err = []byte(s), err
	})
	if o.err != nil {
		return 0, o.err
	}
	if off >= int64(len(o.data)) {
		return 0, nil
	}
	return copy(dst, o.data[off:]), nil
}
func (o *errOpenFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }
func (o *errOpenFile) Stat() (unix.Stat_t, error)         { return o.f.attr, nil }
func (o *errOpenFile) Close() error                       { return nil }
