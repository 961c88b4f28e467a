package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// What the CPU placement of a pod's threads (package placement) reads of
// its cgroup, cheaply enough to be read several times a second.

// CPUNanos returns the CPU time the cgroup's processes have used, in
// nanoseconds: cpuacct.usage (v1) or cpu.stat's usage_usec (v2).
func (c *Cgroup) CPUNanos() (uint64, error) {
	if c.v2 {
		d, ok := c.unified()
		if !ok {
			return 0, fmt.Errorf("cgroup: %s has no unified directory: %w", c.path, ErrMissingController)
		}
		usec, found, err := readKeyed(d, "cpu.stat", "usage_usec")
		if err != nil {
			return 0, err
		}
		if !found {
			return 0, fmt.Errorf("cgroup: %s/cpu.stat has no usage_usec", d)
		}
		return usec * 1000, nil
	}
	d, ok := c.dirFor("cpuacct")
	if !ok {
		return 0, fmt.Errorf("cgroup: cpuacct: %w", ErrMissingController)
	}
	return readUint(d.path, "cpuacct.usage")
}

// Processes returns the PIDs of the processes in the cgroup and its
// descendants.
func (c *Cgroup) Processes() ([]int, error) { return procs(c.procsDir()) }

// Threads returns the IDs of every thread in the cgroup and its
// descendants: v1's tasks files, v2's cgroup.threads.
func (c *Cgroup) Threads() ([]int, error) {
	file := "tasks"
	if c.v2 {
		file = "cgroup.threads"
	}
	return listIDs(c.procsDir(), file)
}

// EffectiveCPUs returns the CPUs the cgroup's cpuset lets its threads
// run on (cpuset.effective_cpus in v1, cpuset.cpus.effective in v2),
// and false where the cgroup has no cpuset controller.
func (c *Cgroup) EffectiveCPUs() (unix.CPUSet, bool, error) {
	var set unix.CPUSet
	d, ok := c.dirFor("cpuset")
	if !ok {
		return set, false, nil
	}
	file := "cpuset.effective_cpus"
	if c.v2 {
		file = "cpuset.cpus.effective"
	}
	v, err := readFile(d.path, file)
	if err != nil {
		return set, false, err
	}
	set, err = ParseCPUList(v)
	if err != nil {
		return set, false, fmt.Errorf("cgroup: %s: %w", filepath.Join(d.path, file), err)
	}
	return set, true, nil
}

// ParseCPUList parses the kernel's CPU list format ("0-3,6").
func ParseCPUList(s string) (unix.CPUSet, error) {
	var set unix.CPUSet
	s = strings.TrimSpace(s)
	if s == "" {
		return set, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			return set, fmt.Errorf("bad CPU list %q", s)
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil {
				return set, fmt.Errorf("bad CPU list %q", s)
			}
		}
		if first < 0 || last < first || last >= len(set)*64 {
			return set, fmt.Errorf("bad CPU list %q", s)
		}
		for cpu := first; cpu <= last; cpu++ {
			set.Set(cpu)
		}
	}
	return set, nil
}

// listIDs returns the numbers in file of the cgroup at dir and of its
// descendants.
func listIDs(dir, file string) ([]int, error) {
	var ids []int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a child cgroup removed meanwhile
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(p, file))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, f := range strings.Fields(string(data)) {
			if id, err := strconv.Atoi(f); err == nil {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cgroup: listing %s: %w", file, err)
	}
	return ids, nil
}
