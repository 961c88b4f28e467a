package cgroup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where the node's cgroups are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// deleteTimeout bounds Delete when its context has no deadline: exiting
// processes leave their cgroup within milliseconds once reaped, so a
// cgroup that stays busy longer has a process that is not dying.
const deleteTimeout = 5 * time.Second

// wantedV1 are the v1 controllers the package uses; the absence of each is
// recorded. Other mounted v1 hierarchies (devices, freezer, blkio,
// name=systemd, ...) are joined too, so that the pod's processes are in
// the pod's cgroup everywhere, as runc does.
var wantedV1 = []string{"cpu", "cpuacct", "cpuset", "memory", "pids"}

// wantedV2 are the v2 controllers enabled for a pod's cgroup.
var wantedV2 = []string{"cpu", "cpuset", "memory", "pids"}

// hierarchy is one mounted cgroup hierarchy.
type hierarchy struct {
	// mount is its mount point.
	mount string
	// v2 is whether it is a cgroup2 hierarchy.
	v2 bool
	// controllers are, for v1, the subsystems bound to it ("cpu",
	// "cpuacct", "name=systemd"); for v2 in unified mode, those its root
	// offers (cgroup.controllers); nil for the controller-less cgroup2
	// hierarchy of hybrid mode, which only tracks processes.
	controllers []string
}

func (h *hierarchy) String() string {
	if h.v2 {
		return "cgroup2 " + h.mount
	}
	return strings.Join(h.controllers, ",") + " " + h.mount
}

// layout is the node's cgroup hierarchies.
type layout struct {
	// v2 is whether the node is in unified mode.
	v2          bool
	hierarchies []*hierarchy
	// skipped says which wanted controllers are missing, and why.
	skipped []string
}

// currentLayout finds the node's hierarchies. It is cheap (a statfs and a
// read of mountinfo) and done per call, so a hierarchy mounted after the
// daemon started is used.
func currentLayout() (*layout, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return nil, fmt.Errorf("cgroup: statfs %s: %w", cgroupRoot, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return unifiedLayout(cgroupRoot)
	}
	return v1Layout()
}

// unifiedLayout is the layout of a node in unified mode with the cgroup2
// file system at mount.
func unifiedLayout(mount string) (*layout, error) {
	ctrls, err := readFile(mount, "cgroup.controllers")
	if err != nil {
		return nil, err
	}
	h := &hierarchy{mount: mount, v2: true, controllers: strings.Fields(ctrls)}
	l := &layout{v2: true, hierarchies: []*hierarchy{h}}
	for _, c := range wantedV2 {
		if !h.has(c) {
			l.skipped = append(l.skipped, fmt.Sprintf("cgroup v2 controller %s: not in %s/cgroup.controllers", c, mount))
		}
	}
	return l, nil
}

// v1Layout reads the v1 hierarchies, and a hybrid node's cgroup2 mount,
// from /proc/self/mountinfo.
func v1Layout() (*layout, error) {
	enabled, err := enabledSubsystems()
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	defer f.Close()
	l := &layout{}
	seen := map[string]bool{} // a hierarchy mounted twice is used once
	var unified *hierarchy
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		fstype, mount := fields[sep+1], unescapeMountinfo(fields[4])
		switch fstype {
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(fields[sep+3], ",") {
				if enabled[o] || strings.HasPrefix(o, "name=") {
					ctrls = append(ctrls, o)
				}
			}
			if len(ctrls) == 0 {
				continue
			}
			slices.Sort(ctrls)
			key := strings.Join(ctrls, ",")
			if seen[key] {
				continue
			}
			seen[key] = true
			l.hierarchies = append(l.hierarchies, &hierarchy{mount: mount, controllers: ctrls})
		case "cgroup2":
			if unified == nil {
				unified = &hierarchy{mount: mount, v2: true}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroup: reading mountinfo: %w", err)
	}
	if unified != nil {
		l.hierarchies = append(l.hierarchies, unified)
	}
	for _, c := range wantedV1 {
		found := false
		for _, h := range l.hierarchies {
			found = found || h.has(c)
		}
		if !found {
			why := "no cgroup v1 hierarchy has it mounted"
			if !enabled[c] {
				why = "not enabled in /proc/cgroups"
			}
			l.skipped = append(l.skipped, fmt.Sprintf("cgroup controller %s: %s", c, why))
		}
	}
	return l, nil
}

// enabledSubsystems returns the v1 subsystems /proc/cgroups lists as
// enabled.
func enabledSubsystems() (map[string]bool, error) {
	data, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	m := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && !strings.HasPrefix(f[0], "#") && f[3] == "1" {
			m[f[0]] = true
		}
	}
	return m, nil
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// has reports whether controller is bound to (v1) or offered by (v2) h.
func (h *hierarchy) has(controller string) bool {
	return slices.Contains(h.controllers, controller)
}

// createV1 makes the directory rel in the v1 hierarchy h, with its
// parents. The cpuset controller refuses tasks in a cgroup whose
// cpuset.cpus or cpuset.mems is empty, which is how a new cgroup starts
// unless its parent has cgroup.clone_children set, so for it each level
// gets its parent's sets where it has none.
func createV1(h *hierarchy, rel string) error {
	p, err := under(h.mount, rel)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if !h.has("cpuset") {
		return nil
	}
	cur := h.mount
	for _, comp := range strings.Split(strings.Trim(rel, "/"), "/") {
		parent := cur
		cur = filepath.Join(cur, comp)
		for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := readFile(cur, file)
			if err != nil {
				return err
			}
			if v != "" {
				continue
			}
			pv, err := readFile(parent, file)
			if err != nil {
				return err
			}
			if err := writeFile(cur, file, pv); err != nil {
				return err
			}
		}
	}
	return nil
}

// createV2 makes the directory rel in the cgroup2 hierarchy h, with its
// parents. In unified mode each level first has the wanted controllers
// its parent offers enabled in its parent's cgroup.subtree_control, since
// a cgroup can only use what its parent delegates; a controller that
// cannot be enabled (a parent with processes of its own, the "no internal
// processes" rule) is recorded in skipped.
func createV2(h *hierarchy, rel string, skipped *[]string) error {
	p, err := under(h.mount, rel)
	if err != nil {
		return err
	}
	if len(h.controllers) == 0 {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		return nil
	}
	cur := h.mount
	for _, comp := range strings.Split(strings.Trim(rel, "/"), "/") {
		enableControllers(cur, skipped)
		cur = filepath.Join(cur, comp)
		if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cgroup: %w", err)
		}
	}
	return nil
}

// enableControllers enables in dir's cgroup.subtree_control each wanted
// controller dir offers and has not enabled yet.
func enableControllers(dir string, skipped *[]string) {
	offered, err := readFile(dir, "cgroup.controllers")
	if err != nil {
		*skipped = append(*skipped, err.Error())
		return
	}
	enabled, err := readFile(dir, "cgroup.subtree_control")
	if err != nil {
		*skipped = append(*skipped, err.Error())
		return
	}
	have, on := strings.Fields(offered), strings.Fields(enabled)
	for _, c := range wantedV2 {
		if !slices.Contains(have, c) || slices.Contains(on, c) {
			continue
		}
		if err := writeFile(dir, "cgroup.subtree_control", "+"+c); err != nil {
			*skipped = append(*skipped, fmt.Sprintf("cgroup v2 controller %s: %v", c, err))
		}
	}
}

// dirControllers returns the controllers the cgroup at path can use in
// hierarchy h: h's own for v1, the ones its parent delegated for v2.
func dirControllers(h *hierarchy, path string) []string {
	if !h.v2 || len(h.controllers) == 0 {
		return h.controllers
	}
	v, err := readFile(path, "cgroup.controllers")
	if err != nil {
		return nil
	}
	return strings.Fields(v)
}

// readFile returns the content of a cgroup file, without surrounding
// white space.
func readFile(dir, file string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", fmt.Errorf("cgroup: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// readUint reads a cgroup file holding one unsigned number.
func readUint(dir, file string) (uint64, error) {
	v, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup: %s: %w", filepath.Join(dir, file), err)
	}
	return n, nil
}

// readKeyed returns the value of key in a flat keyed file ("key value"
// lines: memory.stat, cpu.stat), and whether it was there.
func readKeyed(dir, file, key string) (uint64, bool, error) {
	v, err := readFile(dir, file)
	if err != nil {
		return 0, false, err
	}
	for _, line := range strings.Split(v, "\n") {
		k, val, ok := strings.Cut(line, " ")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("cgroup: %s: %s: %w", filepath.Join(dir, file), key, err)
		}
		return n, true, nil
	}
	return 0, false, nil
}

// writeFile writes value to a cgroup control file. The error wraps the
// kernel's errno (EINVAL for a value the kernel refuses, EBUSY, ...).
func writeFile(dir, file, value string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cgroup: writing %q to %s: %w", value, p, err)
	}
	return nil
}

// writeProcs moves pid into the cgroup at dir. The kernel refuses a task
// that is still being created (EINVAL for a moment after fork), so that is
// retried briefly.
func writeProcs(dir string, pid int) error {
	var err error
	for range 5 {
		err = writeFile(dir, "cgroup.procs", strconv.Itoa(pid))
		if !errors.Is(err, unix.EINVAL) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// procs returns the processes in the cgroup at dir and its descendants.
func procs(dir string) ([]int, error) { return listIDs(dir, "cgroup.procs") }

// removeTree removes the cgroup directory path and its child cgroups,
// deepest first, retrying EBUSY until ctx ends. Only directories are
// removed: cgroup control files go with their directory.
func removeTree(ctx context.Context, path string) error {
	var dirs []string
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		delay := time.Millisecond
		for {
			err := unix.Rmdir(dirs[i])
			if err == nil || err == unix.ENOENT {
				break
			}
			if err != unix.EBUSY && err != unix.EINTR {
				return fmt.Errorf("cgroup: rmdir %s: %w", dirs[i], err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("cgroup: rmdir %s: still busy (%w): %w", dirs[i], err, ctx.Err())
			case <-time.After(delay):
			}
			delay = min(2*delay, 100*time.Millisecond)
		}
	}
	return nil
}
