package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Set applies the non-zero fields of r. Limits whose controller is
// missing are not applied and reported with an error wrapping
// ErrMissingController; the others are applied anyway. The files written:
//
//	v1: cpu.shares, cpu.cfs_period_us, cpu.cfs_quota_us,
//	    memory.limit_in_bytes (and memory.memsw.limit_in_bytes where swap
//	    is accounted), pids.max, cpuset.cpus, cpuset.mems
//	v2: cpu.weight, cpu.max, memory.max (and memory.swap.max), pids.max,
//	    cpuset.cpus, cpuset.mems
func (c *Cgroup) Set(r Resources) error {
	var errs []error
	need := func(controller string) (string, bool) {
		d, ok := c.dirFor(controller)
		if !ok {
			errs = append(errs, fmt.Errorf("cgroup: %s limits not applied: %s: %w", controller, c.path, ErrMissingController))
		}
		return d.path, ok
	}
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if r.CPUShares != 0 || r.CPUPeriod != 0 || r.CPUQuota != 0 {
		if d, ok := need("cpu"); ok {
			if c.v2 {
				add(setCPUV2(d, r))
			} else {
				add(setCPUV1(d, r))
			}
		}
	}
	if r.MemoryLimitBytes != 0 {
		if d, ok := need("memory"); ok {
			if c.v2 {
				add(setMemoryV2(d, r.MemoryLimitBytes))
			} else {
				add(setMemoryV1(d, r.MemoryLimitBytes))
			}
		}
	}
	if r.PidsLimit != 0 {
		if d, ok := need("pids"); ok {
			v := "max"
			if r.PidsLimit > 0 {
				v = strconv.FormatInt(r.PidsLimit, 10)
			}
			add(writeFile(d, "pids.max", v))
		}
	}
	if r.CpusetCpus != "" || r.CpusetMems != "" {
		if d, ok := need("cpuset"); ok {
			if r.CpusetMems != "" {
				add(writeFile(d, "cpuset.mems", r.CpusetMems))
			}
			if r.CpusetCpus != "" {
				add(writeFile(d, "cpuset.cpus", r.CpusetCpus))
			}
		}
	}
	return errors.Join(errs...)
}

// setCPUV1 writes cpu.shares and the CFS bandwidth.
func setCPUV1(d string, r Resources) error {
	if r.CPUShares != 0 {
		if err := writeFile(d, "cpu.shares", strconv.FormatInt(r.CPUShares, 10)); err != nil {
			return err
		}
	}
	quota := strconv.FormatInt(r.CPUQuota, 10)
	if r.CPUPeriod != 0 {
		err := writeFile(d, "cpu.cfs_period_us", strconv.FormatInt(r.CPUPeriod, 10))
		if errors.Is(err, unix.EINVAL) && r.CPUQuota != 0 {
			// The kernel checks the new period against the current
			// quota (the bandwidth may not exceed what the parent
			// allows); with the new quota first the pair can be valid.
			if err := writeFile(d, "cpu.cfs_quota_us", quota); err != nil {
				return err
			}
			err = writeFile(d, "cpu.cfs_period_us", strconv.FormatInt(r.CPUPeriod, 10))
		}
		if err != nil {
			return err
		}
	}
	if r.CPUQuota != 0 {
		return writeFile(d, "cpu.cfs_quota_us", quota)
	}
	return nil
}

// setCPUV2 writes cpu.weight and cpu.max.
func setCPUV2(d string, r Resources) error {
	if r.CPUShares != 0 {
		if err := writeFile(d, "cpu.weight", strconv.FormatUint(CPUSharesToWeight(uint64(r.CPUShares)), 10)); err != nil {
			return err
		}
	}
	if r.CPUQuota == 0 && r.CPUPeriod == 0 {
		return nil
	}
	// "QUOTA PERIOD"; "max" is no quota, and a missing period keeps the
	// current one.
	v := "max"
	if r.CPUQuota > 0 {
		v = strconv.FormatInt(r.CPUQuota, 10)
	}
	if r.CPUPeriod != 0 {
		v += " " + strconv.FormatInt(r.CPUPeriod, 10)
	}
	return writeFile(d, "cpu.max", v)
}

// CPUSharesToWeight converts cgroup v1 cpu.shares (2..262144, default
// 1024) to cgroup v2 cpu.weight (1..10000, default 100) as runc does since
// it replaced its linear mapping, which put the default 1024 shares at
// weight 39 (kubernetes/kubernetes#131216): a quadratic in log2(shares)
// through the minimum, the default and the maximum. 0 stays 0 (unset).
func CPUSharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612.0 - 7.0/34.0
	return uint64(math.Ceil(math.Pow(10, exp)))
}

// setMemoryV1 sets memory.limit_in_bytes, and memory+swap to the same
// value where the kernel accounts swap, so the pod does not swap. The
// kernel keeps memory <= memory+swap at every step, so when raising, the
// memory+swap limit must go first.
func setMemoryV1(d string, limit int64) error {
	v := strconv.FormatInt(limit, 10) // -1 is unlimited
	err := writeFile(d, "memory.limit_in_bytes", v)
	if errors.Is(err, unix.EINVAL) {
		if werr := writeFile(d, "memory.memsw.limit_in_bytes", v); werr == nil {
			return writeFile(d, "memory.limit_in_bytes", v)
		}
	}
	if err != nil {
		return err
	}
	if err := writeFile(d, "memory.memsw.limit_in_bytes", v); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// setMemoryV2 sets memory.max, and memory.swap.max to 0 (or max with no
// limit) where swap is accounted.
func setMemoryV2(d string, limit int64) error {
	v, swap := "max", "max"
	if limit > 0 {
		v, swap = strconv.FormatInt(limit, 10), "0"
	}
	if err := writeFile(d, "memory.max", v); err != nil {
		return err
	}
	if err := writeFile(d, "memory.swap.max", swap); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Stats reads the cgroup's usage. Figures whose controller is missing are
// zero.
func (c *Cgroup) Stats() (Stats, error) {
	var s Stats
	var err error
	if c.v2 {
		// cpu.stat's usage_usec is there even without the cpu
		// controller.
		if d, ok := c.unified(); ok {
			usec, found, err := readKeyed(d, "cpu.stat", "usage_usec")
			if err != nil {
				return s, err
			}
			if found {
				s.CPUNanos = usec * 1000
			}
		}
	} else if d, ok := c.dirFor("cpuacct"); ok {
		if s.CPUNanos, err = readUint(d.path, "cpuacct.usage"); err != nil {
			return s, err
		}
	}
	if d, ok := c.dirFor("memory"); ok {
		usageFile, inactiveKey := "memory.usage_in_bytes", "total_inactive_file"
		if c.v2 {
			usageFile, inactiveKey = "memory.current", "inactive_file"
		}
		if s.MemoryUsageBytes, err = readUint(d.path, usageFile); err != nil {
			return s, err
		}
		inactive, _, err := readKeyed(d.path, "memory.stat", inactiveKey)
		if err != nil {
			return s, err
		}
		// As the kubelet (cadvisor) computes it: usage less what could be
		// dropped first, never below zero.
		if inactive < s.MemoryUsageBytes {
			s.MemoryWorkingSetBytes = s.MemoryUsageBytes - inactive
		}
	}
	pids, err := procs(c.procsDir())
	if err != nil {
		return s, err
	}
	s.Processes = uint64(len(pids))
	return s, nil
}

// unified returns the directory of the unified-mode hierarchy.
func (c *Cgroup) unified() (string, bool) {
	for _, d := range c.dirs {
		if d.h.v2 {
			return d.path, true
		}
	}
	return "", false
}

// procsDir is the directory whose cgroup.procs lists the cgroup's
// processes: the pids hierarchy's by preference, as every process Add put
// in is in every hierarchy.
func (c *Cgroup) procsDir() string {
	if d, ok := c.dirFor("pids"); ok {
		return d.path
	}
	return c.dirs[0].path
}

// signalAll sends SIGKILL to the cgroup's processes. With freezer (a v1
// freezer directory) the cgroup is frozen meanwhile, so that none can
// fork a process that escapes the signal: a frozen task dies as soon as
// it is thawed. Without one it repeats until the cgroup is empty, for a
// bounded number of rounds.
func (c *Cgroup) signalAll(freezer *dir) error {
	if freezer != nil {
		if err := freeze(freezer.path); err != nil {
			return err
		}
		defer func() { _ = writeFile(freezer.path, "freezer.state", "THAWED") }()
	}
	for round := 0; round < 50; round++ {
		pids, err := procs(c.procsDir())
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
				return fmt.Errorf("cgroup: kill %d: %w", pid, err)
			}
		}
		if freezer != nil {
			return nil // nothing forked meanwhile
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("cgroup: %s: processes keep appearing", c.path)
}

// freeze freezes the v1 freezer cgroup at d and waits until it is frozen
// (FREEZING lasts while tasks are being stopped).
func freeze(d string) error {
	if err := writeFile(d, "freezer.state", "FROZEN"); err != nil {
		return err
	}
	for range 1000 {
		st, err := readFile(d, "freezer.state")
		if err != nil {
			return err
		}
		if st == "FROZEN" {
			return nil
		}
		time.Sleep(time.Millisecond)
		// Writing again nudges tasks that were busy the first time.
		_ = writeFile(d, "freezer.state", "FROZEN")
	}
	return fmt.Errorf("cgroup: %s did not freeze", d)
}
