// Package cni attaches pods to the node's pod network through CNI
// plugins: a thin layer over libcni
// (github.com/containernetworking/cni/libcni) in the shape of
// containerd's go-cni. It loads one network configuration from a conf
// directory (the lexically first .conflist, .conf or .json, as
// containerd picks it), reloads it when the directory changes, keeps the
// last load error for the runtime's Status, and runs ADD, CHECK and DEL
// for a pod's network namespace.
//
// DEL is built to succeed whenever it can: it uses the configuration
// and arguments libcni cached at ADD time (under Options.CacheDir,
// which survives a daemon restart), falls back to the current
// configuration, and runs the plugins without a namespace when the
// pod's namespace is already gone (plugins then release what lives
// outside it: IP allocations, host ports, firewall rules).
package cni

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"golang.org/x/sys/unix"
)

// Defaults.
const (
	DefaultConfDir = "/etc/cni/net.d"
	// DefaultIfName is the pod's interface, as every CRI runtime names
	// it.
	DefaultIfName = "eth0"
)

// DefaultBinDirs are where plugins are looked for: the upstream
// location and Debian's (containernetworking-plugins installs into
// /usr/lib/cni).
func DefaultBinDirs() []string { return []string{"/opt/cni/bin", "/usr/lib/cni"} }

// ErrNotReady is wrapped by Setup (and Status) when no network
// configuration is loaded.
var ErrNotReady = errors.New("cni: no network configuration loaded")

// Options configure a CNI.
type Options struct {
	// ConfDir holds the network configuration; default DefaultConfDir.
	ConfDir string
	// BinDirs are searched for plugin binaries in order; default
	// DefaultBinDirs().
	BinDirs []string
	// CacheDir is where libcni keeps each attachment's result,
	// configuration and arguments (what DEL needs after a restart).
	// Required: it belongs in the daemon's state directory, not in
	// libcni's shared /var/lib/cni.
	CacheDir string
	// IfName is the interface made in the pod; default DefaultIfName.
	IfName string
	// NoWatch turns off reloading on changes (Load reloads by hand).
	NoWatch bool
	// Log receives reloads and watch errors; default slog.Default().
	Log *slog.Logger
	// GiveBack, when set, is called before DEL while the pod's network
	// namespace is still there, with the addresses ADD gave each of the
	// pod's interfaces (from the cached result). The sandbox's stack
	// takes them off the interfaces (netstack's take-over), and plugins
	// find what to undo by them: the bridge plugin removes the pod's
	// masquerade chain only for the addresses it finds on the
	// interface. A failure is logged and DEL goes on.
	GiveBack func(netns string, addrs map[string][]netip.Prefix) error
}

// CNI is a pod network. Its methods are safe for concurrent use: pods
// are set up and torn down in parallel; each only reads the loaded
// configuration.
type CNI struct {
	opts Options
	lib  *libcni.CNIConfig
	log  *slog.Logger

	// mu protects the loaded configuration, its load error and the pod
	// CIDRs. It is held only to read or swap them, never across a
	// plugin call.
	mu       sync.RWMutex
	list     *libcni.NetworkConfigList // mu; nil until a load succeeds
	file     string                    // mu; the file list came from
	loadErr  error                     // mu; the last load's error
	podCIDRs []string                  // mu; from SetPodCIDRs

	// stop ends the watcher; done is closed when it has returned.
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// New loads the network configuration and starts watching the conf
// directory. A configuration that fails to load is not an error here:
// the CNI is returned not ready (Status says why) and picks the
// configuration up when it appears or is fixed.
func New(opts Options) (*CNI, error) {
	if opts.CacheDir == "" {
		return nil, errors.New("cni: no cache directory")
	}
	if opts.ConfDir == "" {
		opts.ConfDir = DefaultConfDir
	}
	if len(opts.BinDirs) == 0 {
		opts.BinDirs = DefaultBinDirs()
	}
	if opts.IfName == "" {
		opts.IfName = DefaultIfName
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("cni: cache directory: %w", err)
	}
	c := &CNI{
		opts: opts,
		lib:  libcni.NewCNIConfigWithCacheDir(opts.BinDirs, opts.CacheDir, nil),
		log:  opts.Log,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	// A failure is kept for Status (and logged by Load).
	_ = c.Load()
	if opts.NoWatch {
		close(c.done)
		return c, nil
	}
	go c.watch()
	return c, nil
}

// Close stops watching the conf directory. Pods keep their networks.
func (c *CNI) Close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
	return nil
}

// Status is nil when a network configuration is loaded; otherwise it
// says why none is (wrapping ErrNotReady).
func (c *CNI) Status() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.list != nil {
		return nil
	}
	if c.loadErr != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, c.loadErr)
	}
	return ErrNotReady
}

// Network returns the loaded network's name and the file it came from
// ("" when none is loaded).
func (c *CNI) Network() (name, file string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.list == nil {
		return "", ""
	}
	return c.list.Name, c.file
}

// current is the loaded configuration and the pod CIDRs, or
// ErrNotReady.
func (c *CNI) current() (*libcni.NetworkConfigList, []string, error) {
	c.mu.RLock()
	list, cidrs := c.list, c.podCIDRs
	c.mu.RUnlock()
	if list == nil {
		return nil, nil, c.Status()
	}
	return list, cidrs, nil
}

// Setup runs ADD: it attaches the pod id's network namespace (netns, a
// path) to the network and returns the pod's addresses. When Setup
// fails, some plugins may have done part of their work: the caller
// runs Teardown, as the CNI spec asks of runtimes.
func (c *CNI) Setup(ctx context.Context, id, netns string, args PodArgs) (*Result, error) {
	list, cidrs, err := c.current()
	if err != nil {
		return nil, err
	}
	rt, err := c.runtimeConf(id, netns, args, cidrs)
	if err != nil {
		return nil, err
	}
	res, err := c.lib.AddNetworkList(ctx, list, rt)
	if err != nil {
		return nil, fmt.Errorf("cni: network %s: %w", list.Name, err)
	}
	r, err := newResult(res)
	if err != nil {
		return nil, fmt.Errorf("cni: network %s: %w", list.Name, err)
	}
	return r, nil
}

// Check runs CHECK: the plugins verify the pod's attachment is as ADD
// made it.
func (c *CNI) Check(ctx context.Context, id, netns string, args PodArgs) error {
	list, cidrs, err := c.current()
	if err != nil {
		return err
	}
	rt, err := c.runtimeConf(id, netns, args, cidrs)
	if err != nil {
		return err
	}
	if err := c.lib.CheckNetworkList(ctx, list, rt); err != nil {
		return fmt.Errorf("cni: network %s: %w", list.Name, err)
	}
	return nil
}

// Teardown runs DEL for pod id. It is idempotent: a pod that was never
// attached, or already detached, is fine. netns may be gone (the
// plugins then skip their work inside it; the kernel removed the pod's
// interfaces with the namespace). The configuration and arguments of
// the ADD are used when libcni cached them, so a daemon restart or a
// changed conf directory does not stop a pod's network from being
// released.
func (c *CNI) Teardown(ctx context.Context, id, netns string, args PodArgs) error {
	if netns != "" && !IsNetNS(netns) {
		netns = ""
	}
	c.mu.RLock()
	list, cidrs := c.list, c.podCIDRs
	c.mu.RUnlock()
	rt, err := c.runtimeConf(id, netns, args, cidrs)
	if err != nil {
		// The arguments come from a stored pod: DEL without the
		// capability arguments rather than not at all (the cache
		// usually has them anyway).
		c.log.Warn("cni: pod arguments for DEL", "pod", id, "err", err)
		rt, _ = c.runtimeConf(id, netns, PodArgs{}, nil)
	}
	if att := c.cachedAttachment(list, id); att != nil {
		// What ADD was given (the configuration, port mappings,
		// ranges): portmap, for one, removes only the mappings it is
		// told about.
		list = att.list
		rt.Args, rt.CapabilityArgs = att.CniArgs, att.CapabilityArgs
	}
	if list == nil {
		// Neither a cached attachment nor a configuration: ADD never
		// succeeded here with any network we could name, and there is
		// nothing to call DEL with.
		c.log.Warn("cni: no network configuration to tear the pod down with; assuming it was never attached", "pod", id, "err", c.Status())
		return nil
	}
	if netns != "" && c.opts.GiveBack != nil {
		if addrs := c.podAddrs(list, rt, netns); len(addrs) > 0 {
			if err := c.opts.GiveBack(netns, addrs); err != nil {
				c.log.Warn("cni: giving the pod's addresses back to its interfaces before DEL", "pod", id, "err", err)
			}
		}
	}
	if err := c.lib.DelNetworkList(ctx, c.runnable(list, id), rt); err != nil {
		return fmt.Errorf("cni: network %s: %w", list.Name, err)
	}
	return nil
}

// podAddrs returns, by interface name, the addresses the cached result
// of the pod's ADD gave its interfaces inside netns (nil when nothing
// is cached).
func (c *CNI) podAddrs(list *libcni.NetworkConfigList, rt *libcni.RuntimeConf, netns string) map[string][]netip.Prefix {
	cached, err := c.lib.GetNetworkListCachedResult(list, rt)
	if err != nil || cached == nil {
		return nil
	}
	res, err := types100.NewResultFromResult(cached)
	if err != nil {
		return nil
	}
	out := map[string][]netip.Prefix{}
	for _, ip := range res.IPs {
		if ip == nil || ip.Interface == nil || *ip.Interface < 0 || *ip.Interface >= len(res.Interfaces) {
			continue
		}
		itf := res.Interfaces[*ip.Interface]
		if itf == nil || itf.Sandbox != netns {
			continue
		}
		addr, ok := netip.AddrFromSlice(ip.Address.IP)
		if !ok {
			continue
		}
		ones, _ := ip.Address.Mask.Size()
		out[itf.Name] = append(out[itf.Name], netip.PrefixFrom(addr.Unmap(), ones))
	}
	return out
}

// runnable is list without the plugins whose binaries are missing. DEL
// cannot run them, and failing because of them would fail the DEL of
// the others for good: an ADD that failed on a missing plugin must
// still release what the plugins before it made. A plugin removed after
// its ADD may leave something behind; that is logged.
func (c *CNI) runnable(list *libcni.NetworkConfigList, id string) *libcni.NetworkConfigList {
	var keep []*libcni.PluginConfig
	for _, p := range list.Plugins {
		if _, err := invoke.FindInPath(p.Network.Type, c.opts.BinDirs); err != nil {
			c.log.Warn("cni: skipping a plugin DEL cannot find", "pod", id, "network", list.Name, "plugin", p.Network.Type, "err", err)
			continue
		}
		keep = append(keep, p)
	}
	if len(keep) == len(list.Plugins) {
		return list
	}
	l := *list
	l.Plugins = keep
	return &l
}

// attachment is a cached attachment with its configuration parsed.
type attachment struct {
	*libcni.NetworkAttachment
	list *libcni.NetworkConfigList
}

// cachedAttachment returns what libcni cached when it attached pod id
// (preferring the network named like current, when the pod is somehow
// on several), or nil.
func (c *CNI) cachedAttachment(current *libcni.NetworkConfigList, id string) *attachment {
	atts, err := c.lib.GetCachedAttachments(id)
	if err != nil {
		c.log.Warn("cni: reading the cache", "pod", id, "err", err)
		return nil
	}
	var found *attachment
	for _, a := range atts {
		if a.IfName != c.opts.IfName || len(a.Config) == 0 {
			continue
		}
		list, err := libcni.NetworkConfFromBytes(a.Config)
		if err != nil {
			c.log.Warn("cni: a cached network configuration does not parse", "pod", id, "network", a.Network, "err", err)
			continue
		}
		if current != nil && a.Network == current.Name {
			return &attachment{a, list}
		}
		if found == nil {
			found = &attachment{a, list}
		}
	}
	return found
}

// IsNetNS reports whether path is a network namespace file (an nsfs
// bind mount); a plain file left where one was unmounted is not.
func IsNetNS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}
