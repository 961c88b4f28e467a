// Package cgroup puts a pod's processes (its gofer and sentry) into one
// cgroup with the pod's limits, reads the cgroup's usage, and kills and
// removes it.
//
// # Versions
//
// Both cgroup versions are supported, chosen at run time: if
// /sys/fs/cgroup is a cgroup2 file system (statfs magic
// CGROUP2_SUPER_MAGIC) the node is in unified mode and a pod's cgroup is
// one directory there. Otherwise every cgroup v1 hierarchy listed in
// /proc/self/mountinfo (cpu, cpuacct, cpuset, memory, pids, devices,
// freezer, blkio, name=systemd, ..., separate or co-mounted like
// "cpu,cpuacct") gets a directory of the same relative path, and so does
// a cgroup2 mount next to them (hybrid mode's "unified"), which carries no
// controller but tracks the processes and offers cgroup.kill. A controller
// that is not there is skipped and the reason kept (Cgroup.Skipped); Set
// fails with ErrMissingController only for a limit it could not apply.
//
// # Drivers and paths
//
// The kubelet names the parent of a pod's cgroups (cgroup_parent) the way
// its cgroup driver does, and the runtime must use the same driver:
//
//   - "cgroupfs": parent is a path, "/kubepods/besteffort/pod123", and the
//     pod's cgroup is PARENT/NAME.
//   - "systemd": parent is a slice unit name,
//     "kubepods-besteffort-pod123.slice", which systemd lays out as
//     kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice
//     (every "-" opens a nested slice), and the pod's cgroup is the scope
//     NAME.scope under it.
//
// Limitation: Cocoon does not talk to systemd (there may be no systemd as
// PID 1 and no D-Bus). The systemd driver only converts names to the paths
// systemd would use and creates the directories itself, as the cgroupfs
// driver does. On a node where systemd does manage the slices this works
// as long as systemd does not own our scope: it never learns about it, so
// it will not account or stop it, and a daemon-reload that rewrites the
// parent slice's limits leaves it alone.
//
// Neither parent nor name may lead out of the cgroup root: ".." and "."
// components, and "/" in a name, are refused.
//
// # Concurrency
//
// A Cgroup is immutable after Create or Load and its methods may be called
// from several goroutines; the kernel serializes the writes to the control
// files.
package cgroup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Driver is how cgroup names are turned into paths: "cgroupfs" or
// "systemd", as the kubelet's --cgroup-driver.
type Driver string

// The drivers.
const (
	Cgroupfs Driver = "cgroupfs"
	Systemd  Driver = "systemd"
)

// Default parents, used when Create or Load is given an empty parent.
const (
	DefaultParent       = "/cocoon"      // cgroupfs
	DefaultSystemdSlice = "cocoon.slice" // systemd
)

// ErrMissingController is wrapped by Set's error for a limit whose
// controller the node does not have (or did not delegate to us).
var ErrMissingController = errors.New("cgroup controller not available")

// Resources are the limits of a pod. A zero field is left as it is.
type Resources struct {
	// CPUPeriod and CPUQuota are the CFS bandwidth in microseconds: the
	// cgroup may run CPUQuota per CPUPeriod; a quota of -1 is unlimited.
	CPUPeriod, CPUQuota int64
	// CPUShares is the cgroup v1 relative weight (2..262144, 1024 is one
	// CPU's worth); on cgroup v2 it is converted to cpu.weight.
	CPUShares int64
	// MemoryLimitBytes is the memory limit; -1 is unlimited. The pod gets
	// no swap on top of it, as with the kubelet's default NoSwap.
	MemoryLimitBytes int64
	// PidsLimit caps the number of tasks; -1 is unlimited.
	PidsLimit int64
	// CpusetCpus and CpusetMems restrict the CPUs and memory nodes, in the
	// kernel's list format ("0-3,6").
	CpusetCpus, CpusetMems string
}

// Stats is a cgroup's usage.
type Stats struct {
	// CPUNanos is the CPU time used, in nanoseconds.
	CPUNanos uint64
	// MemoryUsageBytes is the memory charged to the cgroup, page cache
	// included.
	MemoryUsageBytes uint64
	// MemoryWorkingSetBytes is the usage less inactive file pages, what
	// the kubelet reports and evicts by.
	MemoryWorkingSetBytes uint64
	// Processes is the number of processes (thread groups) in the cgroup
	// and its descendants.
	Processes uint64
}

// Cgroup is one pod's cgroup.
type Cgroup struct {
	driver Driver
	// path is the cgroup's path relative to each hierarchy's root.
	path string
	// v2 is whether the node is in unified mode.
	v2 bool
	// dirs are the cgroup's directories, one per hierarchy it is in.
	dirs []dir
	// skipped says why controllers or hierarchies are not used.
	skipped []string
}

// dir is the cgroup's directory in one hierarchy.
type dir struct {
	h    *hierarchy
	path string // absolute
	// controllers are those the cgroup can use here (dirControllers).
	controllers []string
}

// Create makes the cgroup name under parent in every hierarchy, as the
// package documentation describes, and returns it. An empty parent is
// DefaultParent (cgroupfs) or DefaultSystemdSlice (systemd). Creating a
// cgroup that exists is not an error; its limits are kept.
func Create(driver Driver, parent, name string) (*Cgroup, error) {
	l, err := currentLayout()
	if err != nil {
		return nil, err
	}
	return create(l, driver, parent, name)
}

// Load returns the existing cgroup name under parent, for a daemon that
// restarted. It fails with an error wrapping fs.ErrNotExist when the
// cgroup is in no hierarchy; hierarchies that lack it are skipped.
func Load(driver Driver, parent, name string) (*Cgroup, error) {
	l, err := currentLayout()
	if err != nil {
		return nil, err
	}
	return load(l, driver, parent, name)
}

// Path is the cgroup's path relative to the cgroup root, the same in every
// hierarchy: "/kubepods/besteffort/pod123/cocoon-ID" with the cgroupfs
// driver, "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod123.slice/cocoon-ID.scope"
// with the systemd driver. It is what /proc/PID/cgroup shows for a process
// in it.
func (c *Cgroup) Path() string { return c.path }

// Driver returns the driver the cgroup was made with.
func (c *Cgroup) Driver() Driver { return c.driver }

// V2 reports whether the node uses cgroup v2 (unified mode).
func (c *Cgroup) V2() bool { return c.v2 }

// Skipped returns why hierarchies or controllers are not used, one line
// each, for the daemon's log.
func (c *Cgroup) Skipped() []string { return append([]string(nil), c.skipped...) }

// Dirs returns the cgroup's absolute directories, one per hierarchy.
func (c *Cgroup) Dirs() []string {
	out := make([]string, len(c.dirs))
	for i, d := range c.dirs {
		out[i] = d.path
	}
	return out
}

// cgroupPath returns the relative path of name under parent for driver.
func cgroupPath(driver Driver, parent, name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	switch driver {
	case Cgroupfs:
		if parent == "" {
			parent = DefaultParent
		}
		p, err := cleanPath(parent)
		if err != nil {
			return "", err
		}
		return strings.TrimSuffix(p, "/") + "/" + name, nil
	case Systemd:
		if parent == "" {
			parent = DefaultSystemdSlice
		}
		p, err := ExpandSlice(parent)
		if err != nil {
			return "", err
		}
		if !strings.HasSuffix(name, ".scope") {
			name += ".scope"
		}
		return strings.TrimSuffix(p, "/") + "/" + name, nil
	default:
		return "", fmt.Errorf("cgroup: unknown driver %q (want %q or %q)", driver, Cgroupfs, Systemd)
	}
}

// checkName validates a cgroup's own name: one directory name.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..", strings.ContainsAny(name, "/\x00"), len(name) > 255:
		return fmt.Errorf("cgroup: bad cgroup name %q", name)
	}
	return nil
}

// cleanPath checks a cgroupfs parent path and returns it absolute and
// clean. Empty components are dropped; "." and ".." are refused rather
// than resolved, since a parent that needs them is a mistake or an attack.
func cleanPath(p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("cgroup: bad parent %q", p)
	}
	var parts []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "":
		case ".", "..":
			return "", fmt.Errorf("cgroup: parent %q leaves the cgroup root or names %q", p, c)
		default:
			parts = append(parts, c)
		}
	}
	return "/" + strings.Join(parts, "/"), nil
}

// ExpandSlice converts a systemd slice unit name into the path systemd
// gives its cgroup: each "-" in the name opens a nested slice, so
// "a-b-c.slice" is "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" is the root
// slice, "/".
func ExpandSlice(slice string) (string, error) {
	const suffix = ".slice"
	name, ok := strings.CutSuffix(slice, suffix)
	switch {
	case !ok || name == "":
		return "", fmt.Errorf("cgroup: %q is not a slice name (NAME.slice)", slice)
	case strings.ContainsAny(slice, "/\x00"):
		return "", fmt.Errorf("cgroup: slice name %q contains a slash", slice)
	case name == "-":
		return "/", nil
	}
	var b strings.Builder
	prefix := ""
	for _, part := range strings.Split(name, "-") {
		if part == "" || part == "." || part == ".." {
			// "a--b", "-a" and "a-" are invalid unit names to systemd.
			return "", fmt.Errorf("cgroup: bad slice name %q", slice)
		}
		b.WriteString("/" + prefix + part + suffix)
		prefix += part + "-"
	}
	return b.String(), nil
}

// under joins rel, a clean absolute cgroup path, to the hierarchy mounted
// at mount, and checks the result is inside it.
func under(mount, rel string) (string, error) {
	p := filepath.Join(mount, rel)
	if p != mount && !strings.HasPrefix(p, mount+"/") {
		return "", fmt.Errorf("cgroup: %q leaves %s", rel, mount)
	}
	return p, nil
}

// create is Create on layout l.
func create(l *layout, driver Driver, parent, name string) (*Cgroup, error) {
	rel, err := cgroupPath(driver, parent, name)
	if err != nil {
		return nil, err
	}
	c := &Cgroup{driver: driver, path: rel, v2: l.v2, skipped: append([]string(nil), l.skipped...)}
	for _, h := range l.hierarchies {
		p, err := under(h.mount, rel)
		if err != nil {
			return nil, err
		}
		if h.v2 {
			err = createV2(h, rel, &c.skipped)
		} else {
			err = createV1(h, rel)
		}
		if err != nil {
			return nil, err
		}
		c.dirs = append(c.dirs, dir{h: h, path: p, controllers: dirControllers(h, p)})
	}
	if len(c.dirs) == 0 {
		return nil, fmt.Errorf("cgroup: no cgroup hierarchy is mounted")
	}
	return c, nil
}

// load is Load on layout l.
func load(l *layout, driver Driver, parent, name string) (*Cgroup, error) {
	rel, err := cgroupPath(driver, parent, name)
	if err != nil {
		return nil, err
	}
	c := &Cgroup{driver: driver, path: rel, v2: l.v2, skipped: append([]string(nil), l.skipped...)}
	for _, h := range l.hierarchies {
		p, err := under(h.mount, rel)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			c.skipped = append(c.skipped, fmt.Sprintf("%s: %s is missing", h, p))
			continue
		}
		c.dirs = append(c.dirs, dir{h: h, path: p, controllers: dirControllers(h, p)})
	}
	if len(c.dirs) == 0 {
		return nil, fmt.Errorf("cgroup: %s: %w", rel, fs.ErrNotExist)
	}
	return c, nil
}

// Add moves the process pid, all its threads, into the cgroup in every
// hierarchy.
func (c *Cgroup) Add(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroup: bad pid %d", pid)
	}
	for _, d := range c.dirs {
		if err := writeProcs(d.path, pid); err != nil {
			return err
		}
	}
	return nil
}

// Kill sends SIGKILL to every process in the cgroup and its descendants.
// It uses cgroup.kill where the kernel has it (5.14 and later, on a
// cgroup2 hierarchy, which hybrid nodes have too), which reaches processes
// forked meanwhile; otherwise it freezes the cgroup (v1 freezer) while it
// signals, and without a freezer it signals until the cgroup is empty or a
// few rounds have passed. It does not wait for the processes to exit;
// Delete does.
func (c *Cgroup) Kill() error {
	for _, d := range c.dirs {
		if !d.h.v2 {
			continue
		}
		err := writeFile(d.path, "cgroup.kill", "1")
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if c.v2 {
		return c.signalAll(nil)
	}
	if d, ok := c.dirFor("freezer"); ok {
		return c.signalAll(&d)
	}
	return c.signalAll(nil)
}

// Delete removes the cgroup's directories in every hierarchy, and any
// child cgroups someone made in them, retrying while its processes exit
// (rmdir fails with EBUSY until the last has been reaped). A directory
// that is already gone is fine. It gives up when ctx ends, or after
// deleteTimeout if ctx has no deadline.
func (c *Cgroup) Delete(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, deleteTimeout)
		defer cancel()
	}
	var errs []error
	for _, d := range c.dirs {
		if err := removeTree(ctx, d.path); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dirFor returns the directory of the hierarchy that has controller.
func (c *Cgroup) dirFor(controller string) (dir, bool) {
	for _, d := range c.dirs {
		if slices.Contains(d.controllers, controller) {
			return d, true
		}
	}
	return dir{}, false
}
