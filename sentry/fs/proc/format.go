package proc

// Contents of /proc files, from plain snapshots, in the formats of Linux
// 6.1's fs/proc (field order, widths and separators are what procps,
// busybox and psutil parse).

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// pageSize is the sandbox's page size.
	pageSize = 4096
	// clockTicks is USER_HZ, the unit of times in /proc (AT_CLKTCK).
	clockTicks = 100
	// unlimited is RLIM_INFINITY.
	unlimited = ^uint64(0)
)

// ticks converts d to clock ticks.
func ticks(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(d / (time.Second / clockTicks))
}

// stateName is status's spelling of a state letter.
func stateName(s byte) string {
	switch s {
	case 'R':
		return "R (running)"
	case 'S':
		return "S (sleeping)"
	case 'D':
		return "D (disk sleep)"
	case 'T':
		return "T (stopped)"
	case 'Z':
		return "Z (zombie)"
	}
	return "X (dead)"
}

// memClass splits an address space as Linux's mm counters do.
type memClass struct {
	// Sizes in bytes: every VMA, private writable non-stack VMAs
	// (data_vm), stacks (stack_vm), executable non-writable non-stack
	// VMAs (exec_vm), and the executable's own code (end_code -
	// start_code, here its executable VMAs).
	total, data, stack, exec, text uint64
	// startCode and endCode bound the executable's code.
	startCode, endCode uint64
	// Resident pages of anonymous private, file and shared anonymous
	// memory.
	rssAnon, rssFile, rssShmem uint64
}

// classify computes memClass over maps; exe is the executable's path,
// whose executable mappings are its code.
func classify(maps []Mapping, exe string) memClass {
	var c memClass
	for _, m := range maps {
		size := m.End - m.Start
		c.total += size
		switch {
		case m.GrowsDown:
			c.stack += size
		case m.Write && !m.Shared:
			c.data += size
		case m.Exec && !m.Write:
			c.exec += size
		}
		if m.Exec && m.File && exe != "" && m.Path == exe {
			c.text += size
			if c.startCode == 0 || m.Start < c.startCode {
				c.startCode = m.Start
			}
			c.endCode = max(c.endCode, m.End)
		}
		switch {
		case m.File:
			c.rssFile += m.Resident
		case m.Shared:
			c.rssShmem += m.Resident
		default:
			c.rssAnon += m.Resident
		}
	}
	return c
}

// statArgs is what /proc/[pid]/stat shows.
type statArgs struct {
	p *Process
	// t is the thread shown: the leader for /proc/[pid]/stat.
	t *Thread
	// whole is set for the process view (/proc/[pid]/stat), where times
	// cover every thread and the ID is the process's.
	whole bool
	mem   Memory
	code  memClass
	exec  ExecInfo
}

// fields writes space-separated numbers.
type fields struct{ b []byte }

func (f *fields) u(v uint64) { f.b = strconv.AppendUint(append(f.b, ' '), v, 10) }
func (f *fields) i(v int64)  { f.b = strconv.AppendInt(append(f.b, ' '), v, 10) }

// formatStat renders /proc/[pid]/stat and /proc/[pid]/task/[tid]/stat
// (fs/proc/array.c do_task_stat).
func formatStat(a statArgs) []byte {
	p, t := a.p, a.t
	// The ID is the thread's: the leader's, which is the PID, for
	// /proc/[pid]/stat.
	id, user, sys := t.TID, t.UserTime, t.SysTime
	if a.whole {
		user, sys = p.UserTime, p.SysTime
	}
	var f fields
	f.b = fmt.Appendf(nil, "%d (%s) %c", id, t.Name, t.State)
	f.i(int64(p.PPID))
	f.i(int64(p.PGID))
	f.i(int64(p.SID))
	f.i(0)  // tty_nr: the sandbox has no controlling terminals
	f.i(-1) // tpgid
	var flags uint64
	if p.Exiting {
		flags |= 0x4 // PF_EXITING
	}
	f.u(flags)
	// minflt, cminflt, majflt, cmajflt: the thread's own in a task's
	// file, the process's in its own; children's from the process.
	minFlt, majFlt := t.MinFlt, t.MajFlt
	if a.whole {
		minFlt, majFlt = p.MinFlt, p.MajFlt
	}
	f.u(minFlt)
	f.u(p.ChildMinFlt)
	f.u(majFlt)
	f.u(p.ChildMajFlt)
	f.u(ticks(user))
	f.u(ticks(sys))
	f.i(int64(ticks(p.ChildUser)))
	f.i(int64(ticks(p.ChildSys)))
	f.i(20 + int64(t.Nice)) // priority: SCHED_OTHER's, 20 + nice
	f.i(int64(t.Nice))
	f.i(int64(len(p.Threads)))
	f.i(0) // itrealvalue, always 0 since Linux 2.6.17
	f.u(ticks(t.StartTime))
	f.u(a.mem.VirtualBytes)
	f.i(int64(a.mem.ResidentPages))
	f.u(p.Limits[unix.RLIMIT_RSS].Cur)
	f.u(a.code.startCode)
	f.u(a.code.endCode)
	f.u(a.exec.StackStart)
	f.u(0) // kstkesp: Linux shows it only for a task dumping core
	f.u(0) // kstkeip
	f.u(t.SigPending & 0x7fffffff)
	f.u(t.SigBlocked & 0x7fffffff)
	f.u(p.SigIgnored & 0x7fffffff)
	f.u(p.SigCaught & 0x7fffffff)
	// wchan: 1 for a task not running, as Linux shows without a symbol.
	wchan := uint64(0)
	if (!a.whole || len(p.Threads) < 2) && t.State != 'R' {
		wchan = 1
	}
	f.u(wchan)
	f.u(0) // nswap
	f.u(0) // cnswap
	f.i(int64(p.ExitSignal))
	f.i(0)                     // processor: getcpu(2) reports CPU 0 too
	f.u(0)                     // rt_priority
	f.u(uint64(t.SchedPolicy)) // policy
	f.u(0)                     // delayacct_blkio_ticks
	f.u(0)                     // guest_time
	f.i(0)                     // cguest_time
	f.u(0)                     // start_data: not recorded by the loader
	f.u(0)                     // end_data
	f.u(a.mem.BrkStart)
	f.u(a.exec.ArgStart)
	f.u(a.exec.ArgEnd)
	f.u(a.exec.EnvStart)
	f.u(a.exec.EnvEnd)
	exit := int64(0)
	if p.Zombie {
		exit = int64(p.ExitCode)
	}
	f.i(exit)
	return append(f.b, '\n')
}

// formatStatm renders /proc/[pid]/statm, in pages.
func formatStatm(mem Memory, c memClass) []byte {
	return fmt.Appendf(nil, "%d %d %d %d 0 %d 0\n",
		mem.VirtualBytes/pageSize, mem.ResidentPages, c.rssFile+c.rssShmem,
		c.text/pageSize, (c.data+c.stack)/pageSize)
}

// escapeName escapes a task name as status does: "\n" and "\\".
func escapeName(s string) string {
	if !strings.ContainsAny(s, "\n\\") {
		return s
	}
	return strings.NewReplacer("\\", "\\\\", "\n", "\\n").Replace(s)
}

// statusArgs is what /proc/[pid]/status shows.
type statusArgs struct {
	p *Process
	t *Thread
	// hasMM is set for a live process: memory lines are shown.
	hasMM bool
	mem   Memory
	code  memClass
}

// formatStatus renders /proc/[pid]/status (fs/proc/array.c
// proc_pid_status). Lines the sentry has no measurement for (VmPeak,
// VmHWM, VmPTE, context switches, CPU and memory-node affinity) are
// omitted, which parsers of this file tolerate.
func formatStatus(a statusArgs) []byte {
	p, t := a.p, a.t
	var b bytes.Buffer
	fmt.Fprintf(&b, "Name:\t%s\n", escapeName(t.Name))
	if !p.Zombie {
		fmt.Fprintf(&b, "Umask:\t%04o\n", p.Umask)
	}
	fmt.Fprintf(&b, "State:\t%s\n", stateName(t.State))
	fmt.Fprintf(&b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", p.PID, t.TID, p.PPID)
	c := t.Creds
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\n", c.UID, c.EUID, c.SUID, c.FSUID)
	fmt.Fprintf(&b, "Gid:\t%d\t%d\t%d\t%d\n", c.GID, c.EGID, c.SGID, c.FSGID)
	fmt.Fprintf(&b, "FDSize:\t%d\n", p.FDSize)
	b.WriteString("Groups:\t")
	for i, g := range c.Groups {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(uint64(g), 10))
	}
	b.WriteString(" \n")
	nsLine := func(label string, ids []int32, id int32) {
		if ids == nil {
			ids = []int32{id}
		}
		b.WriteString(label)
		for _, v := range ids {
			fmt.Fprintf(&b, "\t%d", v)
		}
		b.WriteByte('\n')
	}
	nsLine("NStgid:", p.NSPIDs, p.PID)
	nsLine("NSpid:", t.NSTIDs, t.TID)
	nsLine("NSpgid:", p.NSPGIDs, p.PGID)
	nsLine("NSsid:", p.NSSIDs, p.SID)
	if a.hasMM {
		kb := func(label string, bytes uint64) { fmt.Fprintf(&b, "%s:\t%8d kB\n", label, bytes>>10) }
		kb("VmSize", a.mem.VirtualBytes)
		kb("VmLck", a.mem.LockedBytes)
		kb("VmPin", 0)
		kb("VmRSS", a.mem.ResidentPages*pageSize)
		kb("RssAnon", a.code.rssAnon*pageSize)
		kb("RssFile", a.code.rssFile*pageSize)
		kb("RssShmem", a.code.rssShmem*pageSize)
		kb("VmData", a.code.data)
		kb("VmStk", a.code.stack)
		kb("VmExe", a.code.text)
		kb("VmLib", a.code.exec-min(a.code.exec, a.code.text))
		kb("VmSwap", 0) // the sandbox has no swap
		fmt.Fprintf(&b, "HugetlbPages:\t%8d kB\n", 0)
	}
	b.WriteString("CoreDumping:\t0\n")
	fmt.Fprintf(&b, "Threads:\t%d\n", len(p.Threads))
	fmt.Fprintf(&b, "SigQ:\t%d/%d\n", p.SigQueued, p.Limits[unix.RLIMIT_SIGPENDING].Cur)
	fmt.Fprintf(&b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		t.SigPending, p.SigPending, t.SigBlocked, p.SigIgnored, p.SigCaught)
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
		c.CapInh, c.CapPrm, c.CapEff, c.CapBnd, c.CapAmb)
	nnp := 0
	if t.NoNewPrivs {
		nnp = 1
	}
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\n", nnp)
	fmt.Fprintf(&b, "Seccomp:\t%d\nSeccomp_filters:\t%d\n", t.Seccomp, t.SeccompFilters)
	return b.Bytes()
}

// limitNames are /proc/[pid]/limits' rows, by RLIMIT_*.
var limitNames = [...]struct{ name, unit string }{
	unix.RLIMIT_CPU:        {"Max cpu time", "seconds"},
	unix.RLIMIT_FSIZE:      {"Max file size", "bytes"},
	unix.RLIMIT_DATA:       {"Max data size", "bytes"},
	unix.RLIMIT_STACK:      {"Max stack size", "bytes"},
	unix.RLIMIT_CORE:       {"Max core file size", "bytes"},
	unix.RLIMIT_RSS:        {"Max resident set", "bytes"},
	unix.RLIMIT_NPROC:      {"Max processes", "processes"},
	unix.RLIMIT_NOFILE:     {"Max open files", "files"},
	unix.RLIMIT_MEMLOCK:    {"Max locked memory", "bytes"},
	unix.RLIMIT_AS:         {"Max address space", "bytes"},
	unix.RLIMIT_LOCKS:      {"Max file locks", "locks"},
	unix.RLIMIT_SIGPENDING: {"Max pending signals", "signals"},
	unix.RLIMIT_MSGQUEUE:   {"Max msgqueue size", "bytes"},
	unix.RLIMIT_NICE:       {"Max nice priority", ""},
	unix.RLIMIT_RTPRIO:     {"Max realtime priority", ""},
	unix.RLIMIT_RTTIME:     {"Max realtime timeout", "us"},
}

// formatLimits renders /proc/[pid]/limits (fs/proc/base.c
// proc_pid_limits).
func formatLimits(l *[unix.RLIMIT_RTTIME + 1]Limit) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	val := func(v uint64) {
		if v == unlimited {
			fmt.Fprintf(&b, "%-20s ", "unlimited")
		} else {
			fmt.Fprintf(&b, "%-20d ", v)
		}
	}
	for i, n := range limitNames {
		fmt.Fprintf(&b, "%-25s ", n.name)
		val(l[i].Cur)
		val(l[i].Max)
		if n.unit != "" {
			fmt.Fprintf(&b, "%-10s\n", n.unit)
		} else {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// mapsLine appends one /proc/[pid]/maps line (fs/proc/task_mmu.c
// show_map_vma): the name starts at column 73.
func mapsLine(b []byte, m *Mapping) []byte {
	start := len(b)
	perm := func(ok bool, c byte) byte {
		if ok {
			return c
		}
		return '-'
	}
	share := byte('p')
	if m.Shared {
		share = 's'
	}
	off := m.Offset
	if !m.File {
		off = 0
	}
	b = fmt.Appendf(b, "%08x-%08x %c%c%c%c %08x %02x:%02x %d ", m.Start, m.End,
		perm(m.Read, 'r'), perm(m.Write, 'w'), perm(m.Exec, 'x'), share,
		off, unix.Major(m.Dev), unix.Minor(m.Dev), m.Ino)
	if m.Path != "" {
		for len(b)-start < 25+8*6-1 {
			b = append(b, ' ')
		}
		b = append(b, ' ')
		b = append(b, escapePath(m.Path)...)
	}
	return append(b, '\n')
}

// escapePath escapes a newline in a path as seq_file_path does.
func escapePath(p string) string {
	return strings.ReplaceAll(p, "\n", "\\012")
}

// formatMaps renders /proc/[pid]/maps.
func formatMaps(maps []Mapping) []byte {
	var b []byte
	for i := range maps {
		b = mapsLine(b, &maps[i])
	}
	return b
}

// smapsCounts are the memory counters of smaps, of one mapping or, summed,
// of an address space (smaps_rollup). The sentry keeps no dirty bits:
// anonymous memory is reported dirty and file memory clean, which is what
// they almost always are.
type smapsCounts struct {
	rss, pss, pssDirty, pssAnon, pssFile, pssShmem uint64
	sharedClean, sharedDirty                       uint64
	privateClean, privateDirty                     uint64
	anonymous                                      uint64
}

func mappingCounts(m *Mapping) smapsCounts {
	rss := m.Resident * pageSize
	shared := min(m.SharedResident, m.Resident) * pageSize
	private := rss - shared
	c := smapsCounts{rss: rss, pss: m.PssBytes}
	switch {
	case m.File:
		c.sharedClean, c.privateClean = shared, private
		c.pssFile = m.PssBytes
	default:
		c.sharedDirty, c.privateDirty, c.pssDirty = shared, private, m.PssBytes
		if m.Shared {
			c.pssShmem = m.PssBytes
		} else {
			c.anonymous, c.pssAnon = rss, m.PssBytes
		}
	}
	return c
}

func (c *smapsCounts) add(o smapsCounts) {
	c.rss += o.rss
	c.pss += o.pss
	c.pssDirty += o.pssDirty
	c.pssAnon += o.pssAnon
	c.pssFile += o.pssFile
	c.pssShmem += o.pssShmem
	c.sharedClean += o.sharedClean
	c.sharedDirty += o.sharedDirty
	c.privateClean += o.privateClean
	c.privateDirty += o.privateDirty
	c.anonymous += o.anonymous
}

// appendSmapsCounts appends the counter lines of __show_smap, from Rss to
// Locked; rollup adds the Pss split of smaps_rollup.
func appendSmapsCounts(b []byte, c smapsCounts, rollup bool) []byte {
	kb := func(label string, bytes uint64) {
		b = fmt.Appendf(b, "%-16s%8d kB\n", label+":", bytes>>10)
	}
	kb("Rss", c.rss)
	kb("Pss", c.pss)
	kb("Pss_Dirty", c.pssDirty)
	if rollup {
		kb("Pss_Anon", c.pssAnon)
		kb("Pss_File", c.pssFile)
		kb("Pss_Shmem", c.pssShmem)
	}
	kb("Shared_Clean", c.sharedClean)
	kb("Shared_Dirty", c.sharedDirty)
	kb("Private_Clean", c.privateClean)
	kb("Private_Dirty", c.privateDirty)
	kb("Referenced", c.rss)
	kb("Anonymous", c.anonymous)
	kb("KSM", 0)
	kb("LazyFree", 0)
	kb("AnonHugePages", 0)
	kb("ShmemPmdMapped", 0)
	kb("FilePmdMapped", 0)
	kb("Shared_Hugetlb", 0)
	b = fmt.Appendf(b, "Private_Hugetlb: %7d kB\n", 0)
	kb("Swap", 0)
	kb("SwapPss", 0)
	kb("Locked", 0)
	return b
}

// formatSmaps renders /proc/[pid]/smaps (show_smap).
func formatSmaps(maps []Mapping) []byte {
	var b []byte
	for i := range maps {
		m := &maps[i]
		b = mapsLine(b, m)
		b = fmt.Appendf(b, "%-16s%8d kB\n", "Size:", (m.End-m.Start)>>10)
		b = fmt.Appendf(b, "%-16s%8d kB\n", "KernelPageSize:", pageSize>>10)
		b = fmt.Appendf(b, "%-16s%8d kB\n", "MMUPageSize:", pageSize>>10)
		b = appendSmapsCounts(b, mappingCounts(m), false)
		b = fmt.Appendf(b, "THPeligible:    %8d\nVmFlags: ", 0)
		for _, fl := range []struct {
			on   bool
			name string
		}{
			{m.Read, "rd"}, {m.Write, "wr"}, {m.Exec, "ex"}, {m.Shared, "sh"},
			{m.MayRead, "mr"}, {m.MayWrite, "mw"}, {m.MayExec, "me"}, {m.Shared, "ms"},
			{m.GrowsDown, "gd"},
		} {
			if fl.on {
				b = append(b, fl.name...)
				b = append(b, ' ')
			}
		}
		b = append(b, '\n')
	}
	return b
}

// formatSmapsRollup renders /proc/[pid]/smaps_rollup (show_smaps_rollup):
// the sums of smaps over the address space, under a header spanning it.
// An address space with no mappings (a zombie's) shows nothing.
func formatSmapsRollup(maps []Mapping) []byte {
	if len(maps) == 0 {
		return nil
	}
	var c smapsCounts
	for i := range maps {
		c.add(mappingCounts(&maps[i]))
	}
	b := mapsLine(nil, &Mapping{Start: maps[0].Start, End: maps[len(maps)-1].End, Path: "[rollup]"})
	return appendSmapsCounts(b, c, true)
}

// formatFDInfo renders /proc/[pid]/fdinfo/N.
func formatFDInfo(fd *FD, mntID int) []byte {
	return fmt.Appendf(nil, "pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n", fd.Pos, fd.Flags, mntID, fd.Ino)
}

// mangle escapes a mount table field as Linux's mangle() does.
func mangle(s string) string {
	return strings.NewReplacer(" ", "\\040", "\t", "\\011", "\n", "\\012", "\\", "\\134").Replace(s)
}

// mountIDs numbers the mounts from 1 and finds each one's parent (the
// mount with the longest target that is a proper prefix of its own).
func mountIDs(mounts []Mount) (ids, parents []int) {
	ids = make([]int, len(mounts))
	parents = make([]int, len(mounts))
	for i, m := range mounts {
		ids[i] = i + 1
		best := -1
		for j, o := range mounts {
			if j != i && isUnder(m.Target, o.Target) && (best < 0 || len(o.Target) > len(mounts[best].Target)) {
				best = j
			}
		}
		if best >= 0 {
			parents[i] = best + 1
		}
	}
	return ids, parents
}

// isUnder reports whether path p lies strictly under directory dir.
func isUnder(p, dir string) bool {
	if p == dir {
		return false
	}
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return strings.HasPrefix(p, dir+"/")
}

// mountOf returns the ID of the mount a path lies on, 0 if none.
func mountOf(mounts []Mount, path string) int {
	best := -1
	for i, m := range mounts {
		if (path == m.Target || isUnder(path, m.Target)) && (best < 0 || len(m.Target) > len(mounts[best].Target)) {
			best = i
		}
	}
	return best + 1
}

// formatMounts renders /proc/[pid]/mounts.
func formatMounts(mounts []Mount) []byte {
	var b []byte
	for _, m := range mounts {
		b = fmt.Appendf(b, "%s %s %s %s 0 0\n", mangle(m.Source), mangle(m.Target), m.FSType, m.Options)
	}
	return b
}

// superOptions returns a mount's file system options.
func superOptions(m Mount) string {
	if m.SuperOptions != "" {
		return m.SuperOptions
	}
	if strings.HasPrefix(m.Options, "ro") {
		return "ro"
	}
	return "rw"
}

// formatMountinfo renders /proc/[pid]/mountinfo.
func formatMountinfo(mounts []Mount) []byte {
	ids, parents := mountIDs(mounts)
	var b []byte
	for i, m := range mounts {
		id, parent := int64(ids[i]), int64(parents[i])
		if m.ID != 0 {
			id, parent = m.ID, m.ParentID
		}
		optional := ""
		if m.Propagation != "" {
			optional = " " + m.Propagation
		}
		root := m.Root
		if root == "" {
			root = "/"
		}
		b = fmt.Appendf(b, "%d %d %d:%d %s %s %s%s - %s %s %s\n", id, parent,
			unix.Major(m.Dev), unix.Minor(m.Dev), mangle(root), mangle(m.Target), m.Options, optional,
			m.FSType, mangle(m.Source), superOptions(m))
	}
	return b
}

// formatFilesystems renders /proc/filesystems: the types mounted in the
// sandbox, the only ones it has.
func formatFilesystems(mounts []Mount) []byte {
	var b []byte
	seen := map[string]bool{}
	for _, m := range mounts {
		if seen[m.FSType] {
			continue
		}
		seen[m.FSType] = true
		if m.NoDev {
			b = append(b, "nodev"...)
		}
		b = fmt.Appendf(b, "\t%s\n", m.FSType)
	}
	return b
}

// formatMeminfo renders /proc/meminfo. The sandbox's memory is its memory
// file: no page cache, no swap, so those lines are real zeroes.
func formatMeminfo(m MemInfo) []byte {
	used := min(m.Used, m.Total)
	free := m.Total - used
	var b []byte
	kb := func(label string, bytes uint64) {
		b = fmt.Appendf(b, "%-16s%8d kB\n", label+":", bytes>>10)
	}
	kb("MemTotal", m.Total)
	kb("MemFree", free)
	kb("MemAvailable", free)
	kb("Buffers", 0)
	kb("Cached", 0)
	kb("SwapCached", 0)
	kb("SwapTotal", 0)
	kb("SwapFree", 0)
	kb("AnonPages", used-min(used, m.Shmem))
	kb("Shmem", m.Shmem)
	return b
}

// formatVmstat renders /proc/vmstat: the counters the sandbox keeps, in
// pages and events, named as Linux names them and agreeing with
// /proc/meminfo. Linux's other counters (LRU lists, reclaim, compaction)
// are not measured and left out; swap is counted because there is none.
// Faults are those the sandbox's kernel served (sentry/kernel/page_faults.go).
func formatVmstat(m MemInfo) []byte {
	used := min(m.Used, m.Total)
	shmem := min(m.Shmem, used)
	var b []byte
	line := func(name string, v uint64) { b = fmt.Appendf(b, "%s %d\n", name, v) }
	line("nr_free_pages", (m.Total-used)/pageSize)
	line("nr_anon_pages", (used-shmem)/pageSize)
	line("nr_shmem", shmem/pageSize)
	line("pswpin", 0)
	line("pswpout", 0)
	line("pgfault", m.PageFaults)
	line("pgmajfault", m.MajorFaults)
	line("oom_kill", m.OOMKills)
	return b
}

// cpuTimes splits the sandbox's CPU time over ncpu CPUs: busy time is the
// threads' measured time, idle the rest of uptime × ncpu. The sentry does
// not know which CPU ran what, so each CPU line gets an equal share.
type cpuTimes struct {
	user, system, idle uint64 // ticks
}

func splitCPU(s System, uptime time.Duration, ncpu int) (total cpuTimes, each cpuTimes) {
	total.user, total.system = ticks(s.UserTime), ticks(s.SysTime)
	capacity := ticks(uptime) * uint64(ncpu)
	busy := total.user + total.system
	if capacity > busy {
		total.idle = capacity - busy
	}
	n := uint64(ncpu)
	each = cpuTimes{user: total.user / n, system: total.system / n, idle: total.idle / n}
	return total, each
}

// formatStatFile renders /proc/stat. Interrupt, context switch and softirq
// counts are not measured and left out.
func formatStatFile(s System, now time.Time, ncpu int) []byte {
	total, each := splitCPU(s, now.Sub(s.BootTime), ncpu)
	line := func(b []byte, name string, c cpuTimes) []byte {
		return fmt.Appendf(b, "%s %d 0 %d %d 0 0 0 0 0 0\n", name, c.user, c.system, c.idle)
	}
	b := line(nil, "cpu ", total)
	for i := 0; i < ncpu; i++ {
		b = line(b, "cpu"+strconv.Itoa(i), each)
	}
	b = fmt.Appendf(b, "btime %d\nprocesses %d\nprocs_running %d\nprocs_blocked 0\n",
		s.BootTime.Add(-s.BootOffset).Unix(), s.Forks, s.Running)
	return b
}

// centiseconds formats d as seconds with two decimals.
func centiseconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	cs := d / (10 * time.Millisecond)
	return fmt.Sprintf("%d.%02d", cs/100, cs%100)
}

// formatUptime renders /proc/uptime: uptime (in the caller's time
// namespace) and the CPUs' total idle time.
func formatUptime(s System, now time.Time, ncpu int) []byte {
	up := now.Sub(s.BootTime)
	idle := up*time.Duration(ncpu) - s.UserTime - s.SysTime
	return []byte(centiseconds(up+s.BootOffset) + " " + centiseconds(idle) + "\n")
}

// formatLoadavg renders /proc/loadavg: the kernel's 1, 5 and 15-minute
// load averages (sentry/kernel/loadavg.go), rounded to two decimals as
// Linux's loadavg_proc_show does, the active/total thread counts and the
// last PID.
func formatLoadavg(s System) []byte {
	const fshift, fixed1 = 11, 1 << 11
	var b []byte
	for _, l := range s.LoadAvg {
		l += fixed1 / 200 // round to the nearest hundredth
		b = fmt.Appendf(b, "%d.%02d ", l>>fshift, ((l&(fixed1-1))*100)>>fshift)
	}
	return fmt.Appendf(b, "%d/%d %d\n", s.Running, s.Threads, s.LastPID)
}

// formatVersion renders /proc/version.
func formatVersion(release, version, compiler string) []byte {
	return fmt.Appendf(nil, "Linux version %s (cocoon@cocoon) (%s) %s\n", release, compiler, version)
}
