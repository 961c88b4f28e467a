package proc

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func testLimits() [unix.RLIMIT_RTTIME + 1]Limit {
	var l [unix.RLIMIT_RTTIME + 1]Limit
	for i := range l {
		l[i] = Limit{unlimited, unlimited}
	}
	l[unix.RLIMIT_STACK] = Limit{8 << 20, unlimited}
	l[unix.RLIMIT_NOFILE] = Limit{1024, 1 << 20}
	l[unix.RLIMIT_NICE] = Limit{0, 0}
	l[unix.RLIMIT_SIGPENDING] = Limit{63382, 63382}
	return l
}

func testProcess() *Process {
	leader := Thread{
		TID: 42, Name: "my prog)", State: 'S',
		SigBlocked: 1 << 13, SigPending: 1 << 9,
		UserTime: 1500 * time.Millisecond, SysTime: 250 * time.Millisecond, StartTime: 3 * time.Second,
		Creds: Creds{UID: 1000, EUID: 1000, SUID: 1000, FSUID: 1000, GID: 100, EGID: 100, SGID: 100, FSGID: 100,
			Groups: []uint32{4, 24}, CapBnd: 0x1ffffffffff},
		Seccomp: 2, SeccompFilters: 3,
	}
	other := leader
	other.TID, other.Name, other.State = 43, "worker", 'R'
	return &Process{
		PID: 42, PPID: 1, PGID: 42, SID: 1,
		Leader:     leader,
		Threads:    []Thread{leader, other},
		ExitSignal: int(unix.SIGCHLD),
		SigIgnored: 1 << 12, SigCaught: 1 << 1,
		SigQueued: 1,
		Limits:    testLimits(),
		Umask:     0o022, FDSize: 64,
		UserTime: 2 * time.Second, SysTime: 500 * time.Millisecond, ChildUser: time.Second,
	}
}

func TestFormatStat(t *testing.T) {
	p := testProcess()
	a := statArgs{
		p: p, t: &p.Leader, whole: true,
		mem:  Memory{VirtualBytes: 0x10000, ResidentPages: 5, BrkStart: 0x600000},
		code: memClass{startCode: 0x400000, endCode: 0x401000},
		exec: ExecInfo{StackStart: 0x7ffc0000, ArgStart: 0x7ffd0000, ArgEnd: 0x7ffd0010, EnvStart: 0x7ffd0010, EnvEnd: 0x7ffd0020},
	}
	got := string(formatStat(a))
	want := "42 (my prog)) S 1 42 1 0 -1 0 0 0 0 0 200 50 100 0 20 0 2 0 300 65536 5 18446744073709551615 " +
		"4194304 4198400 2147221504 0 0 512 8192 4096 2 0 0 0 17 0 0 0 0 0 0 0 0 6291456 " +
		"2147287040 2147287056 2147287056 2147287072 0\n"
	if got != want {
		t.Errorf("stat:\n got %q\nwant %q", got, want)
	}
	// procps parses from the last ')': 50 fields follow it.
	rest := got[strings.LastIndexByte(got, ')')+2:]
	if n := len(strings.Fields(rest)); n != 50 {
		t.Errorf("%d fields after the name, want 50", n)
	}

	// A thread's own view: its ID, its times, wchan 1 when not running.
	other := p.Threads[1]
	other.State = 'S'
	got = string(formatStat(statArgs{p: p, t: &other}))
	if !strings.HasPrefix(got, "43 (worker) S 1 42 1 0 -1 0 0 0 0 0 150 25 100 0 20 0 2 0 300 0 0 ") {
		t.Errorf("thread stat = %q", got)
	}
	if f := strings.Fields(got[strings.LastIndexByte(got, ')')+2:]); f[32] != "1" {
		t.Errorf("thread wchan = %s, want 1", f[32])
	}
	// A zombie reports its exit code last.
	z := *p
	z.Zombie, z.ExitCode = true, 256
	z.Leader.State = 'Z'
	got = string(formatStat(statArgs{p: &z, t: &z.Leader, whole: true}))
	if !strings.HasPrefix(got, "42 (my prog)) Z ") || !strings.HasSuffix(got, " 256\n") {
		t.Errorf("zombie stat = %q", got)
	}
}

func TestFormatStatm(t *testing.T) {
	c := memClass{text: 2 * pageSize, data: 10 * pageSize, stack: 33 * pageSize, rssFile: 3, rssShmem: 1}
	got := string(formatStatm(Memory{VirtualBytes: 100 * pageSize, ResidentPages: 20}, c))
	if want := "100 20 4 2 0 43 0\n"; got != want {
		t.Errorf("statm = %q, want %q", got, want)
	}
}

func TestClassify(t *testing.T) {
	maps := []Mapping{
		{Start: 0x400000, End: 0x401000, Read: true, File: true, Path: "/bin/prog", Resident: 1},
		{Start: 0x401000, End: 0x403000, Read: true, Exec: true, File: true, Path: "/bin/prog", Resident: 2},
		{Start: 0x403000, End: 0x404000, Read: true, Write: true, File: true, Path: "/bin/prog", Resident: 1},
		{Start: 0x600000, End: 0x610000, Read: true, Write: true, Path: "[heap]", Resident: 4},
		{Start: 0x7f0000000000, End: 0x7f0000002000, Read: true, Exec: true, File: true, Path: "/lib/ld.so", Resident: 2},
		{Start: 0x7f0000010000, End: 0x7f0000011000, Read: true, Write: true, Shared: true, Resident: 1},
		{Start: 0x7ffd0000, End: 0x7ffe0000, Read: true, Write: true, GrowsDown: true, Path: "[stack]", Resident: 3},
	}
	c := classify(maps, "/bin/prog")
	want := memClass{
		total: 0x1000 + 0x2000 + 0x1000 + 0x10000 + 0x2000 + 0x1000 + 0x10000,
		data:  0x1000 + 0x10000, stack: 0x10000, exec: 0x2000 + 0x2000, text: 0x2000,
		startCode: 0x401000, endCode: 0x403000,
		rssAnon: 4 + 3, rssFile: 1 + 2 + 1 + 2, rssShmem: 1,
	}
	if c != want {
		t.Errorf("classify = %+v\nwant %+v", c, want)
	}
}

func TestFormatStatus(t *testing.T) {
	p := testProcess()
	got := string(formatStatus(statusArgs{
		p: p, t: &p.Leader, hasMM: true,
		mem:  Memory{VirtualBytes: 8192 << 10, ResidentPages: 5},
		code: memClass{data: 1 << 20, stack: 132 << 10, exec: 100 << 10, text: 40 << 10, rssAnon: 3, rssFile: 2},
	}))
	for _, want := range []string{
		"Name:\tmy prog)\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nNgid:\t0\nPid:\t42\nPPid:\t1\nTracerPid:\t0\n",
		"Uid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nFDSize:\t64\nGroups:\t4 24 \n",
		"NStgid:\t42\nNSpid:\t42\nNSpgid:\t42\nNSsid:\t1\n",
		"VmSize:\t    8192 kB\n",
		"VmRSS:\t      20 kB\nRssAnon:\t      12 kB\nRssFile:\t       8 kB\nRssShmem:\t       0 kB\n",
		"VmData:\t    1024 kB\nVmStk:\t     132 kB\nVmExe:\t      40 kB\nVmLib:\t      60 kB\n",
		"Threads:\t2\nSigQ:\t1/63382\n",
		"SigPnd:\t0000000000000200\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000002000\nSigIgn:\t0000000000001000\nSigCgt:\t0000000000000002\n",
		"CapBnd:\t000001ffffffffff\n",
		"NoNewPrivs:\t0\nSeccomp:\t2\nSeccomp_filters:\t3\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
	// Every line is "Key:\tvalue".
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if k, _, ok := strings.Cut(l, ":\t"); !ok || strings.ContainsAny(k, " \t") {
			t.Errorf("malformed status line %q", l)
		}
	}
	// A zombie: no umask, no memory.
	z := *p
	z.Zombie = true
	z.Leader.State = 'Z'
	z.Leader.Name = "a\nb\\c"
	got = string(formatStatus(statusArgs{p: &z, t: &z.Leader}))
	if strings.Contains(got, "Umask") || strings.Contains(got, "VmSize") || !strings.Contains(got, "State:\tZ (zombie)\n") {
		t.Errorf("zombie status:\n%s", got)
	}
	if !strings.HasPrefix(got, "Name:\ta\\nb\\\\c\n") {
		t.Errorf("name not escaped: %q", got[:20])
	}
}

func TestFormatLimits(t *testing.T) {
	l := testLimits()
	got := string(formatLimits(&l))
	lines := strings.Split(got, "\n")
	want := map[int]string{
		0:  "Limit                     Soft Limit           Hard Limit           Units     ",
		1:  "Max cpu time              unlimited            unlimited            seconds   ",
		4:  "Max stack size            8388608              unlimited            bytes     ",
		8:  "Max open files            1024                 1048576              files     ",
		14: "Max nice priority         0                    0                    ",
		16: "Max realtime timeout      unlimited            unlimited            us        ",
	}
	if len(lines) != 18 || lines[17] != "" {
		t.Fatalf("limits has %d lines:\n%s", len(lines), got)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
}

func TestFormatMaps(t *testing.T) {
	maps := []Mapping{
		{Start: 0x555555554000, End: 0x555555556000, Read: true, Exec: true, File: true, Offset: 0x1000,
			Dev: unix.Mkdev(8, 1), Ino: 1234, Path: "/bin/true", Resident: 2, PssBytes: 8192, MayRead: true, MayExec: true, MayWrite: true},
		{Start: 0x7ffd0000, End: 0x7ffd1000, Read: true, Write: true, Resident: 1, SharedResident: 1, PssBytes: 2048, MayRead: true, MayWrite: true},
		{Start: 0x7ffe0000, End: 0x7fff0000, Read: true, Write: true, GrowsDown: true, Path: "[stack]"},
	}
	got := strings.Split(string(formatMaps(maps)), "\n")
	if want := "555555554000-555555556000 r-xp 00001000 08:01 1234"; !strings.HasPrefix(got[0], want+" ") {
		t.Errorf("line 0 = %q", got[0])
	}
	if i := strings.Index(got[0], "/bin/true"); i != 73 {
		t.Errorf("name at column %d, want 73: %q", i, got[0])
	}
	if want := "7ffd0000-7ffd1000 rw-p 00000000 00:00 0 "; got[1] != want {
		t.Errorf("anonymous line = %q, want %q", got[1], want)
	}
	if !strings.HasSuffix(got[2], " [stack]") || strings.Index(got[2], "[stack]") != 73 {
		t.Errorf("stack line = %q", got[2])
	}

	smaps := string(formatSmaps(maps))
	for _, want := range []string{
		"555555554000-555555556000 r-xp 00001000 08:01 1234",
		"Size:                  8 kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\nRss:                   8 kB\nPss:                   8 kB\nPss_Dirty:             0 kB\n",
		"Private_Clean:         8 kB\n",
		"Private_Hugetlb:       0 kB\nSwap:                  0 kB\n",
		"Anonymous:             0 kB\nKSM:                   0 kB\nLazyFree:              0 kB\n",
		"THPeligible:           0\nVmFlags: rd ex mr mw me \n",
		"7ffd0000-7ffd1000 rw-p 00000000 00:00 0 \nSize:                  4 kB\n",
		"Rss:                   4 kB\nPss:                   2 kB\nPss_Dirty:             2 kB\nShared_Clean:          0 kB\nShared_Dirty:          4 kB\nPrivate_Clean:         0 kB\nPrivate_Dirty:         0 kB\nReferenced:            4 kB\nAnonymous:             4 kB\n",
		"VmFlags: rd wr gd \n",
	} {
		if !strings.Contains(smaps, want) {
			t.Errorf("smaps lacks %q:\n%s", want, smaps)
		}
	}

	// The rollup: the sums under a header from the first mapping's
	// start to the last one's end, the Pss split by kind.
	rollup := string(formatSmapsRollup(maps))
	if want := "555555554000-7fff0000 ---p 00000000 00:00 0"; !strings.HasPrefix(rollup, want+" ") || strings.Index(rollup, "[rollup]\n") != 73 {
		t.Errorf("rollup header: %q", strings.SplitN(rollup, "\n", 2)[0])
	}
	if want := "Rss:                  12 kB\nPss:                  10 kB\nPss_Dirty:             2 kB\nPss_Anon:              2 kB\nPss_File:              8 kB\nPss_Shmem:             0 kB\n" +
		"Shared_Clean:          0 kB\nShared_Dirty:          4 kB\nPrivate_Clean:         8 kB\nPrivate_Dirty:         0 kB\nReferenced:           12 kB\nAnonymous:             4 kB\nKSM:                   0 kB\n"; !strings.Contains(rollup, want) {
		t.Errorf("rollup lacks %q:\n%s", want, rollup)
	}
	if strings.Contains(rollup, "Size:") || strings.Contains(rollup, "VmFlags") || !strings.HasSuffix(rollup, "Locked:                0 kB\n") {
		t.Errorf("rollup has per-mapping lines or lacks its last:\n%s", rollup)
	}
	if got := formatSmapsRollup(nil); len(got) != 0 {
		t.Errorf("rollup of no mappings = %q", got)
	}
}

func TestFormatSystemFiles(t *testing.T) {
	boot := time.Unix(1700000000, 0)
	now := boot.Add(100 * time.Second)
	s := System{BootTime: boot, UserTime: 10 * time.Second, SysTime: 5 * time.Second, Forks: 77, Running: 1, Threads: 5, LastPID: 77}

	if got, want := string(formatStatFile(s, now, 2)),
		"cpu  1000 0 500 18500 0 0 0 0 0 0\ncpu0 500 0 250 9250 0 0 0 0 0 0\ncpu1 500 0 250 9250 0 0 0 0 0 0\n"+
			"btime 1700000000\nprocesses 77\nprocs_running 1\nprocs_blocked 0\n"; got != want {
		t.Errorf("stat:\n got %q\nwant %q", got, want)
	}
	if got, want := string(formatUptime(s, now.Add(123*time.Millisecond), 2)), "100.12 185.24\n"; got != want {
		t.Errorf("uptime = %q, want %q", got, want)
	}
	// In a time namespace whose boot clock is a day ahead: uptime and
	// btime move by the day, the CPUs' idle time does not.
	ns := s
	ns.BootOffset = 24 * time.Hour
	if got, want := string(formatUptime(ns, now.Add(123*time.Millisecond), 2)), "86500.12 185.24\n"; got != want {
		t.Errorf("uptime in a time namespace = %q, want %q", got, want)
	}
	if got := string(formatStatFile(ns, now, 2)); !strings.Contains(got, "cpu  1000 0 500 18500 ") || !strings.Contains(got, "\nbtime 1699913600\n") {
		t.Errorf("stat in a time namespace:\n%s", got)
	}
	if got, want := string(formatLoadavg(s)), "0.00 0.00 0.00 1/5 77\n"; got != want {
		t.Errorf("loadavg = %q, want %q", got, want)
	}
	m := string(formatMeminfo(MemInfo{Total: 1 << 30, Used: 100 << 20, Shmem: 4 << 20}))
	for _, want := range []string{
		"MemTotal:        1048576 kB\nMemFree:          946176 kB\nMemAvailable:     946176 kB\nBuffers:               0 kB\nCached:                0 kB\n",
		"SwapTotal:             0 kB\nSwapFree:              0 kB\nAnonPages:         98304 kB\nShmem:              4096 kB\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("meminfo lacks %q:\n%s", want, m)
		}
	}
	if got, want := string(formatVmstat(MemInfo{Total: 1 << 30, Used: 100 << 20, Shmem: 4 << 20, OOMKills: 2, PageFaults: 30, MajorFaults: 7})),
		"nr_free_pages 236544\nnr_anon_pages 24576\nnr_shmem 1024\npswpin 0\npswpout 0\npgfault 30\npgmajfault 7\noom_kill 2\n"; got != want {
		t.Errorf("vmstat = %q, want %q", got, want)
	}
	if got := string(formatVersion("6.1.0", "#1 SMP Cocoon", "go1.26")); got != "Linux version 6.1.0 (cocoon@cocoon) (go1.26) #1 SMP Cocoon\n" {
		t.Errorf("version = %q", got)
	}
}

func TestFormatMounts(t *testing.T) {
	mounts := DefaultMounts()
	mounts[0].Dev = unix.Mkdev(259, 1)
	if got, want := string(formatMounts(mounts)),
		"none / goferfs ro,relatime 0 0\ntmpfs /dev tmpfs rw,nosuid 0 0\n"+
			"proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\nsysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0\n"; got != want {
		t.Errorf("mounts:\n got %q\nwant %q", got, want)
	}
	if got, want := string(formatMountinfo(mounts)),
		"1 0 259:1 / / ro,relatime - goferfs none ro\n"+
			"2 1 0:16 / /dev rw,nosuid - tmpfs tmpfs rw,mode=755\n"+
			"3 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"+
			"4 1 0:16 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n"; got != want {
		t.Errorf("mountinfo:\n got %q\nwant %q", got, want)
	}
	if got, want := string(formatFilesystems(mounts)), "\tgoferfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tsysfs\n"; got != want {
		t.Errorf("filesystems = %q, want %q", got, want)
	}
	if got := mangle("a b\\c"); got != "a\\040b\\134c" {
		t.Errorf("mangle = %q", got)
	}
	for path, want := range map[string]int{"/etc/passwd": 1, "/dev/null": 2, "/dev": 2, "/devices": 1, "/proc/1/stat": 3, "/": 1} {
		if got := mountOf(mounts, path); got != want {
			t.Errorf("mountOf(%q) = %d, want %d", path, got, want)
		}
	}
	// Nested mounts get the closest parent.
	nested := append(mounts, Mount{Source: "shm", Target: "/dev/shm", FSType: "tmpfs", Options: "rw"})
	if _, parents := mountIDs(nested); parents[4] != 2 {
		t.Errorf("/dev/shm's parent = %d, want 2", parents[4])
	}
}

func TestFormatFDInfo(t *testing.T) {
	fd := FD{FD: 3, Pos: 5, Flags: unix.O_RDWR | unix.O_CLOEXEC | oLargefile, Ino: 99}
	if got, want := string(formatFDInfo(&fd, 1)), "pos:\t5\nflags:\t02100002\nmnt_id:\t1\nino:\t99\n"; got != want {
		t.Errorf("fdinfo = %q, want %q", got, want)
	}
}

func TestFormatCPUInfo(t *testing.T) {
	c := cpuIdent{
		vendor: "GenuineIntel", modelName: "Test CPU @ 2.00GHz", family: 6, model: 85, step: 7, level: 22,
		clflush: 64, physBits: 46, virtBits: 48, flags: []string{"fpu", "sse2", "avx2"}, haveIdent: true, haveExtent: true,
	}
	got := string(formatCPUIdent(c, 2))
	want := "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Test CPU @ 2.00GHz\n" +
		"stepping\t: 7\ncpuid level\t: 22\nflags\t\t: fpu sse2 avx2\nclflush size\t: 64\ncache_alignment\t: 64\n" +
		"address sizes\t: 46 bits physical, 48 bits virtual\n\n"
	if got != want+strings.Replace(want, "processor\t: 0", "processor\t: 1", 1) {
		t.Errorf("cpuinfo:\n%s", got)
	}
	// The real CPU: x86-64 always has these.
	if host := identifyCPU(); host.haveIdent {
		flags := " " + strings.Join(host.flags, " ") + " "
		for _, f := range []string{"fpu", "sse2", "lm"} {
			if !strings.Contains(flags, " "+f+" ") {
				t.Errorf("host flags lack %s: %v", f, host.flags)
			}
		}
		if host.vendor == "" || host.family == 0 {
			t.Errorf("host CPU = %+v", host)
		}
	}
}
