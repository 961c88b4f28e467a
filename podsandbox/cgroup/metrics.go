package cgroup

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Metrics are the figures of a cgroup that cAdvisor exports for a
// container's cgroup, read from the cgroup's files of either version. A
// nil field is one the node does not offer (the controller is not
// there, or the kernel has no such file): callers leave it out rather
// than report a zero that was never measured.
type Metrics struct {
	// CPU time in nanoseconds: in all, in user mode and in the kernel.
	CPUUsage, CPUUser, CPUSystem *uint64
	// CFS bandwidth: elapsed enforcement periods, periods throttled, and
	// the time throttled in nanoseconds.
	CFSPeriods, CFSThrottledPeriods, CFSThrottledNanos *uint64

	// Memory, in bytes: usage (page cache included), working set (usage
	// less inactive file pages), anonymous (rss), page cache, mapped
	// files, swap, kernel memory, and the peak usage.
	MemoryUsage, MemoryWorkingSet, MemoryRSS, MemoryCache, MemoryMappedFile *uint64
	MemorySwap, MemoryKernel, MemoryMaxUsage                                *uint64
	// MemoryFailcnt counts the times usage hit the limit (v1
	// memory.failcnt; v2 memory.events "max").
	MemoryFailcnt *uint64
	// Page faults of this cgroup alone and of its subtree (v2's
	// memory.stat is hierarchical: both are the same).
	Pgfault, Pgmajfault, HierPgfault, HierPgmajfault *uint64
	// OOMKills counts the processes the host's OOM killer killed here.
	OOMKills *uint64

	// The limits set: CFS period and quota in microseconds (quota nil
	// when unlimited), CPU shares (v2's cpu.weight converted back),
	// memory and memory+swap (v1) or swap (v2) limits in bytes (0 when
	// unlimited, as cAdvisor shows them), the task limit (0 when
	// unlimited).
	SpecCPUPeriod, SpecCPUQuota, SpecCPUShares *uint64
	SpecMemoryLimit, SpecSwapLimit             *uint64
	PidsMax                                    *uint64

	// Pressure stall totals in microseconds ("some" is waiting, "full"
	// is stalled), where the kernel has PSI.
	CPUSome, CPUFull, MemorySome, MemoryFull, IOSome, IOFull *uint64

	// IO is the block I/O per device.
	IO []DeviceIO
}

// DeviceIO is the block I/O of a cgroup on one device.
type DeviceIO struct {
	Major, Minor                                 uint64
	ReadBytes, WriteBytes, ReadCount, WriteCount uint64
}

// Metrics reads the cgroup's figures. A file that is missing,
// unreadable or malformed leaves its figures out (nil): metrics are
// best-effort, and one bad file must not hide the others.
func (c *Cgroup) Metrics() Metrics {
	var m Metrics
	if c.v2 {
		if d, ok := c.unified(); ok {
			readV2(d, &m)
		}
		return m
	}
	readV1(c, &m)
	// Hybrid mode: the unified hierarchy carries no controller but
	// still has the pressure files.
	if d, ok := c.unified(); ok {
		readPressure(d, &m)
	}
	return m
}

func readV1(c *Cgroup, m *Metrics) {
	if d, ok := c.dirFor("cpuacct"); ok {
		m.CPUUsage = optUint(d.path, "cpuacct.usage")
		m.CPUUser = optUint(d.path, "cpuacct.usage_user")
		m.CPUSystem = optUint(d.path, "cpuacct.usage_sys")
		if m.CPUUser == nil || m.CPUSystem == nil {
			// Older kernels: cpuacct.stat in USER_HZ (100 a second).
			kv := keyed(d.path, "cpuacct.stat")
			m.CPUUser, m.CPUSystem = scaled(kv["user"], 1e7), scaled(kv["system"], 1e7)
		}
	}
	if d, ok := c.dirFor("cpu"); ok {
		kv := keyed(d.path, "cpu.stat")
		m.CFSPeriods, m.CFSThrottledPeriods, m.CFSThrottledNanos = kv["nr_periods"], kv["nr_throttled"], kv["throttled_time"]
		m.SpecCPUPeriod = optUint(d.path, "cpu.cfs_period_us")
		if q := optInt(d.path, "cpu.cfs_quota_us"); q != nil && *q > 0 {
			m.SpecCPUQuota = u64(uint64(*q))
		}
		m.SpecCPUShares = optUint(d.path, "cpu.shares")
	}
	if d, ok := c.dirFor("memory"); ok {
		p := d.path
		m.MemoryUsage = optUint(p, "memory.usage_in_bytes")
		m.MemoryMaxUsage = optUint(p, "memory.max_usage_in_bytes")
		m.MemoryFailcnt = optUint(p, "memory.failcnt")
		m.MemoryKernel = optUint(p, "memory.kmem.usage_in_bytes")
		st := keyed(p, "memory.stat")
		m.MemoryRSS, m.MemoryCache, m.MemoryMappedFile = st["total_rss"], st["total_cache"], st["total_mapped_file"]
		m.MemorySwap = st["total_swap"] // only with swap accounting
		m.Pgfault, m.Pgmajfault = st["pgfault"], st["pgmajfault"]
		m.HierPgfault, m.HierPgmajfault = st["total_pgfault"], st["total_pgmajfault"]
		m.MemoryWorkingSet = workingSet(m.MemoryUsage, st["total_inactive_file"])
		m.OOMKills = keyed(p, "memory.oom_control")["oom_kill"]
		m.SpecMemoryLimit = specBytes(optUint(p, "memory.limit_in_bytes"))
		m.SpecSwapLimit = specBytes(optUint(p, "memory.memsw.limit_in_bytes"))
	}
	if d, ok := c.dirFor("pids"); ok {
		m.PidsMax = pidsMax(d.path)
	}
	if d, ok := c.dirFor("blkio"); ok {
		m.IO = blkioV1(d.path)
	}
}

func readV2(d string, m *Metrics) {
	cpu := keyed(d, "cpu.stat")
	m.CPUUsage, m.CPUUser, m.CPUSystem = scaled(cpu["usage_usec"], 1000), scaled(cpu["user_usec"], 1000), scaled(cpu["system_usec"], 1000)
	m.CFSPeriods, m.CFSThrottledPeriods = cpu["nr_periods"], cpu["nr_throttled"]
	m.CFSThrottledNanos = scaled(cpu["throttled_usec"], 1000)
	if v, err := readFile(d, "cpu.max"); err == nil {
		quota, period, _ := strings.Cut(v, " ")
		if n, err := strconv.ParseUint(period, 10, 64); err == nil {
			m.SpecCPUPeriod = u64(n)
		}
		if n, err := strconv.ParseUint(quota, 10, 64); err == nil {
			m.SpecCPUQuota = u64(n)
		}
	}
	if w := optUint(d, "cpu.weight"); w != nil && *w > 0 {
		m.SpecCPUShares = u64(WeightToCPUShares(*w))
	}
	if _, err := os.Stat(filepath.Join(d, "memory.current")); err == nil {
		m.MemoryUsage = optUint(d, "memory.current")
		m.MemoryMaxUsage = optUint(d, "memory.peak") // Linux 5.19+
		ev := keyed(d, "memory.events")
		m.MemoryFailcnt, m.OOMKills = ev["max"], ev["oom_kill"]
		st := keyed(d, "memory.stat")
		m.MemoryRSS, m.MemoryCache, m.MemoryMappedFile = st["anon"], st["file"], st["file_mapped"]
		m.MemoryKernel = st["kernel"] // Linux 5.18+
		m.Pgfault, m.Pgmajfault = st["pgfault"], st["pgmajfault"]
		m.HierPgfault, m.HierPgmajfault = st["pgfault"], st["pgmajfault"]
		m.MemoryWorkingSet = workingSet(m.MemoryUsage, st["inactive_file"])
		m.MemorySwap = optUint(d, "memory.swap.current")
		m.SpecMemoryLimit = specBytes(optMax(d, "memory.max"))
		m.SpecSwapLimit = specBytes(optMax(d, "memory.swap.max"))
	}
	if _, err := os.Stat(filepath.Join(d, "pids.max")); err == nil {
		m.PidsMax = pidsMax(d)
	}
	m.IO = ioStatV2(d)
	readPressure(d, m)
}

// readPressure reads the PSI totals of a v2 directory.
func readPressure(d string, m *Metrics) {
	m.CPUSome, m.CPUFull = pressure(d, "cpu.pressure")
	m.MemorySome, m.MemoryFull = pressure(d, "memory.pressure")
	m.IOSome, m.IOFull = pressure(d, "io.pressure")
}

// pressure returns the "total=" of a PSI file's some and full lines.
func pressure(d, file string) (some, full *uint64) {
	v, err := readFile(d, file)
	if err != nil {
		return nil, nil
	}
	for _, line := range strings.Split(v, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, kv := range f[1:] {
			t, ok := strings.CutPrefix(kv, "total=")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(t, 10, 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "some":
				some = u64(n)
			case "full":
				full = u64(n)
			}
		}
	}
	return some, full
}

// blkioV1 reads the throttle policy's per-device counters, which every
// v1 blkio hierarchy keeps whatever the I/O scheduler.
func blkioV1(d string) []DeviceIO {
	byDev := map[[2]uint64]*DeviceIO{}
	var order [][2]uint64
	get := func(maj, min uint64) *DeviceIO {
		k := [2]uint64{maj, min}
		if byDev[k] == nil {
			byDev[k] = &DeviceIO{Major: maj, Minor: min}
			order = append(order, k)
		}
		return byDev[k]
	}
	for _, f := range []string{"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"} {
		v, err := readFile(d, f)
		if err != nil {
			continue
		}
		bytes := strings.Contains(f, "bytes")
		for _, line := range strings.Split(v, "\n") {
			fs := strings.Fields(line)
			if len(fs) != 3 {
				continue
			}
			maj, min, ok := parseDev(fs[0])
			n, err := strconv.ParseUint(fs[2], 10, 64)
			if !ok || err != nil {
				continue
			}
			io := get(maj, min)
			switch {
			case fs[1] == "Read" && bytes:
				io.ReadBytes = n
			case fs[1] == "Write" && bytes:
				io.WriteBytes = n
			case fs[1] == "Read":
				io.ReadCount = n
			case fs[1] == "Write":
				io.WriteCount = n
			}
		}
	}
	out := make([]DeviceIO, 0, len(order))
	for _, k := range order {
		out = append(out, *byDev[k])
	}
	return out
}

// ioStatV2 reads io.stat ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N ...").
func ioStatV2(d string) []DeviceIO {
	v, err := readFile(d, "io.stat")
	if err != nil {
		return nil
	}
	var out []DeviceIO
	for _, line := range strings.Split(v, "\n") {
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		maj, min, ok := parseDev(fs[0])
		if !ok {
			continue
		}
		io := DeviceIO{Major: maj, Minor: min}
		for _, kv := range fs[1:] {
			k, val, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "rbytes":
				io.ReadBytes = n
			case "wbytes":
				io.WriteBytes = n
			case "rios":
				io.ReadCount = n
			case "wios":
				io.WriteCount = n
			}
		}
		out = append(out, io)
	}
	return out
}

func parseDev(s string) (maj, min uint64, ok bool) {
	a, b, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return x, y, err1 == nil && err2 == nil
}

// keyed reads a flat keyed file into a map; a missing file is empty.
func keyed(d, file string) map[string]*uint64 {
	out := map[string]*uint64{}
	v, err := readFile(d, file)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(v, "\n") {
		k, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64); err == nil {
			out[k] = u64(n)
		}
	}
	return out
}

func optUint(d, file string) *uint64 {
	n, err := readUint(d, file)
	if err != nil {
		return nil
	}
	return &n
}

func optInt(d, file string) *int64 {
	v, err := readFile(d, file)
	if err != nil {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// optMax reads a v2 limit file: "max" is math.MaxUint64.
func optMax(d, file string) *uint64 {
	v, err := readFile(d, file)
	if err != nil {
		return nil
	}
	if v == "max" {
		return u64(math.MaxUint64)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// pidsMax reads pids.max: "max" (no limit) is 0, as runc and cAdvisor
// report it.
func pidsMax(d string) *uint64 {
	v := optMax(d, "pids.max")
	if v != nil && *v == math.MaxUint64 {
		return u64(0)
	}
	return v
}

// specBytes is a memory limit as cAdvisor shows it: unlimited (v1's
// page-rounded maximum, v2's "max") is 0.
func specBytes(v *uint64) *uint64 {
	if v != nil && *v > 1<<62 {
		return u64(0)
	}
	return v
}

func workingSet(usage, inactive *uint64) *uint64 {
	if usage == nil {
		return nil
	}
	if inactive == nil || *inactive >= *usage {
		if inactive == nil {
			return u64(*usage)
		}
		return u64(0)
	}
	return u64(*usage - *inactive)
}

func scaled(v *uint64, by uint64) *uint64 {
	if v == nil {
		return nil
	}
	return u64(*v * by)
}

func u64(n uint64) *uint64 { return &n }

// WeightToCPUShares inverts CPUSharesToWeight (to within its rounding):
// the shares a cpu.weight stands for. cAdvisor inverts runc's old linear
// mapping instead, which would show the default weight 100 as 2597
// shares; this shows it as the 1024 it was set from.
func WeightToCPUShares(weight uint64) uint64 {
	switch {
	case weight <= 1:
		return 2
	case weight >= 10000:
		return 262144
	}
	// log10(weight) = (l*l + 125*l)/612 - 7/34, l = log2(shares).
	c := 612 * (math.Log10(float64(weight)) + 7.0/34.0)
	l := (-125 + math.Sqrt(125*125+4*c)) / 2
	shares := uint64(math.Round(math.Pow(2, l)))
	// CPUSharesToWeight rounds up: step down to shares that map back to
	// weight.
	for shares > 2 && CPUSharesToWeight(shares) > weight {
		shares--
	}
	return shares
}
