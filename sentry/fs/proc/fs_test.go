package proc

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// fakeProc is one process of fakeSource.
type fakeProc struct {
	p        Process
	exe, cwd string
	fds      []FD
	maps     []Mapping
	mem      Memory
	ex       ExecInfo
	// memBase and memory are the process's readable memory.
	memBase uint64
	memory  []byte
}

// fakeSource is a Source over plain data.
type fakeSource struct {
	mu       sync.Mutex
	procs    map[int32]*fakeProc
	caller   [2]int32
	callerOK bool
	sys      System
	meminfo  MemInfo
}

func (s *fakeSource) get(pid int32) (*fakeProc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[pid]
	return p, ok
}

func (s *fakeSource) Caller() (int32, int32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caller[0], s.caller[1], s.callerOK
}

func (s *fakeSource) PIDs() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int32
	for id := range s.procs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *fakeSource) ThreadGroupOf(tid int32) (int32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, p := range s.procs {
		if _, ok := p.p.Thread(tid); ok {
			return id, true
		}
	}
	return 0, false
}

func (s *fakeSource) Process(pid int32) (*Process, bool) {
	p, ok := s.get(pid)
	if !ok {
		return nil, false
	}
	c := p.p
	c.Threads = slices.Clone(c.Threads)
	return &c, true
}

func (s *fakeSource) Exe(pid int32) (string, bool) {
	p, ok := s.get(pid)
	return p.exe, ok && !p.p.Zombie
}

func (s *fakeSource) Cwd(pid int32) (string, bool) {
	p, ok := s.get(pid)
	return p.cwd, ok && !p.p.Zombie
}

func (s *fakeSource) FDs(pid int32) ([]FD, bool) {
	p, ok := s.get(pid)
	if !ok {
		return nil, false
	}
	return slices.Clone(p.fds), true
}

func (s *fakeSource) FD(pid, fd int32) (FD, bool) {
	fds, ok := s.FDs(pid)
	for _, f := range fds {
		if f.FD == fd {
			return f, ok
		}
	}
	return FD{}, false
}

func (s *fakeSource) Mappings(pid int32, countPages bool) ([]Mapping, bool) {
	p, ok := s.get(pid)
	if !ok || p.p.Zombie {
		return nil, false
	}
	maps := slices.Clone(p.maps)
	if !countPages {
		for i := range maps {
			maps[i].Resident, maps[i].SharedResident, maps[i].PssBytes = 0, 0, 0
		}
	}
	return maps, true
}

func (s *fakeSource) Memory(pid int32) (Memory, bool) {
	p, ok := s.get(pid)
	if !ok || p.p.Zombie {
		return Memory{}, false
	}
	return p.mem, true
}

func (s *fakeSource) ExecInfo(pid int32) (ExecInfo, bool) {
	p, ok := s.get(pid)
	if !ok || p.p.Zombie {
		return ExecInfo{}, false
	}
	return p.ex, true
}

func (s *fakeSource) ReadMemory(pid int32, addr uint64, dst []byte) (int, error) {
	p, ok := s.get(pid)
	if !ok {
		return 0, unix.ESRCH
	}
	if addr < p.memBase || addr >= p.memBase+uint64(len(p.memory)) {
		return 0, unix.EFAULT
	}
	return copy(dst, p.memory[addr-p.memBase:]), nil
}

func (s *fakeSource) SetComm(pid, tid int32, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[pid]
	if !ok {
		return unix.ESRCH
	}
	if s.caller[0] != pid {
		return unix.EINVAL
	}
	if tid == pid {
		p.p.Leader.Name = name
	}
	for i := range p.p.Threads {
		if p.p.Threads[i].TID == tid {
			p.p.Threads[i].Name = name
		}
	}
	return nil
}

func (s *fakeSource) System() System       { return s.sys }
func (s *fakeSource) Sysctl(string) string { return "0" }
func (s *fakeSource) MemInfo() MemInfo     { return s.meminfo }

var testBoot = time.Unix(1700000000, 0)

// newFake returns a source with init (1) and a two-thread process (42,
// threads 42 and 43) whose caller is thread 43.
func newFake() *fakeSource {
	p := testProcess()
	args := "prog\x00-v\x00"
	env := "HOME=/root\x00X=1\x00"
	const base = 0x7ffd0000
	memory := []byte(args + env)
	init := Process{PID: 1, PGID: 1, SID: 1, Leader: Thread{TID: 1, Name: "init", State: 'S'}, Limits: testLimits()}
	init.Threads = []Thread{init.Leader}
	return &fakeSource{
		procs: map[int32]*fakeProc{
			1: {p: init, exe: "/sbin/init", cwd: "/"},
			42: {
				p: *p, exe: "/usr/bin/prog", cwd: "/home/user",
				fds: []FD{
					{FD: 0, Target: "/dev/pts/0", Flags: unix.O_RDWR},
					{FD: 1, Target: "pipe:[77]", Flags: unix.O_WRONLY, Ino: 77},
					{FD: 3, Target: "/etc/passwd", Flags: unix.O_RDONLY | unix.O_CLOEXEC | oLargefile, Pos: 10, Ino: 1234},
				},
				maps: []Mapping{
					{Start: 0x400000, End: 0x402000, Read: true, Exec: true, File: true, Path: "/usr/bin/prog", Resident: 2, PssBytes: 8192},
					{Start: 0x600000, End: 0x610000, Read: true, Write: true, Path: "[heap]", Resident: 4, PssBytes: 16384},
				},
				mem:     Memory{VirtualBytes: 0x12000, ResidentPages: 6, BrkStart: 0x600000, Brk: 0x610000},
				ex:      ExecInfo{ArgStart: base, ArgEnd: base + uint64(len(args)), EnvStart: base + uint64(len(args)), EnvEnd: base + uint64(len(memory)), StackStart: base - 0x100},
				memBase: base, memory: memory,
			},
		},
		caller: [2]int32{42, 43}, callerOK: true,
		sys:     System{BootTime: testBoot, Hostname: "sandbox", Domainname: "(none)", Processes: 2, Threads: 3, Running: 1, LastPID: 43, Forks: 43, UserTime: time.Second},
		meminfo: MemInfo{Total: 1 << 30, Used: 1 << 20},
	}
}

// newTree mounts a /proc over src in an empty root.
func newTree(src Source) *vfs.Dentry {
	root := vfs.NewRoot(synth.NewDir(0o755, map[string]vfs.Inode{}))
	root.MountChild("proc", New(src, Config{NumCPU: 2, Now: func() time.Time { return testBoot.Add(time.Minute) }}))
	return root
}

func resolve(root *vfs.Dentry, path string, follow bool) (*vfs.Dentry, error) {
	return vfs.Resolve(root, root, path, vfs.ResolveOpts{FollowFinal: follow})
}

func open(t *testing.T, root *vfs.Dentry, path string) *vfs.File {
	t.Helper()
	d, err := resolve(root, path, true)
	if err != nil {
		t.Fatalf("resolve %s: %v", path, err)
	}
	impl, err := d.Inode().Open(unix.O_RDONLY)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return vfs.NewFile(impl, d, unix.O_RDONLY)
}

func readFile(t *testing.T, root *vfs.Dentry, path string) string {
	t.Helper()
	f := open(t, root, path)
	defer f.DecRef()
	var out []byte
	buf := make([]byte, 7) // small reads: the pieces must make one snapshot
	for {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func readlink(t *testing.T, root *vfs.Dentry, path string) string {
	t.Helper()
	d, err := resolve(root, path, false)
	if err != nil {
		t.Fatalf("resolve %s: %v", path, err)
	}
	target, err := d.Inode().Readlink()
	if err != nil {
		t.Fatalf("readlink %s: %v", path, err)
	}
	return target
}

func readdir(t *testing.T, root *vfs.Dentry, path string, maxBytes int) []vfs.Dirent {
	t.Helper()
	f := open(t, root, path)
	defer f.DecRef()
	var all []vfs.Dirent
	for {
		var got []vfs.Dirent
		if err := f.Readdir(maxBytes, func(e vfs.Dirent) bool { got = append(got, e); return true }); err != nil {
			t.Fatalf("readdir %s: %v", path, err)
		}
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
	}
}

func names(ents []vfs.Dirent) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

func TestRootDir(t *testing.T) {
	root := newTree(newFake())
	for _, maxBytes := range []int{1 << 16, 64} { // whole, and a few entries per call
		ents := readdir(t, root, "/proc", maxBytes)
		got := names(ents)
		want := []string{".", "..", "self", "thread-self", "mounts", "net", "meminfo", "vmstat", "stat", "uptime", "loadavg",
			"cpuinfo", "version", "filesystems", "sys", "sysvipc", "1", "42"}
		if !slices.Equal(got, want) {
			t.Errorf("readdir(%d) = %q, want %q", maxBytes, got, want)
		}
		for i := 1; i < len(ents); i++ {
			if ents[i].Off <= ents[i-1].Off {
				t.Errorf("cookies not increasing at %q", ents[i].Name)
			}
		}
		// Inode numbers agree with stat.
		for _, e := range ents[2:] {
			d, err := resolve(root, "/proc/"+e.Name, false)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := d.Inode().Stat()
			if st.Ino != e.Ino || direntType(st.Mode) != e.Type {
				t.Errorf("%s: dirent ino %d type %d, stat ino %d mode %o", e.Name, e.Ino, e.Type, st.Ino, st.Mode)
			}
		}
	}
	d, _ := resolve(root, "/proc", true)
	pst, _ := d.Inode().Stat()
	if pst.Ino != rootIno || pst.Mode != unix.S_IFDIR|0o555 || pst.Dev != procDev {
		t.Errorf("/proc stat = ino %d mode %o", pst.Ino, pst.Mode)
	}
	for _, bad := range []string{"042", "0", "-1", "abc", "43x", "99"} {
		if _, err := resolve(root, "/proc/"+bad, true); err != unix.ENOENT {
			t.Errorf("/proc/%s: %v, want ENOENT", bad, err)
		}
	}
}

func TestSelf(t *testing.T) {
	src := newFake()
	root := newTree(src)
	if got := readlink(t, root, "/proc/self"); got != "42" {
		t.Errorf("self -> %q", got)
	}
	if got := readlink(t, root, "/proc/thread-self"); got != "42/task/43" {
		t.Errorf("thread-self -> %q", got)
	}
	if got := readFile(t, root, "/proc/self/comm"); got != "my prog)\n" {
		t.Errorf("self/comm = %q", got)
	}
	if got := readFile(t, root, "/proc/thread-self/comm"); got != "worker\n" {
		t.Errorf("thread-self/comm = %q", got)
	}
	// The link is computed on every use, though the VFS caches it.
	src.mu.Lock()
	src.caller = [2]int32{1, 1}
	src.mu.Unlock()
	if got := readlink(t, root, "/proc/self"); got != "1" {
		t.Errorf("self -> %q after the caller changed", got)
	}
	src.mu.Lock()
	src.callerOK = false
	src.mu.Unlock()
	if _, err := resolve(root, "/proc/self/stat", true); err != unix.ENOENT {
		t.Errorf("self without a caller: %v, want ENOENT", err)
	}
	if got := readlink(t, root, "/proc/mounts"); got != "self/mounts" {
		t.Errorf("mounts -> %q", got)
	}
}

func TestProcessDir(t *testing.T) {
	root := newTree(newFake())
	got := names(readdir(t, root, "/proc/42", 1<<16))
	want := []string{".", "..", "auxv", "cgroup", "cmdline", "comm", "cwd", "environ", "exe", "fd", "fdinfo",
		"limits", "maps", "mountinfo", "mounts", "net", "ns", "oom_score_adj", "root", "smaps", "smaps_rollup", "stat", "statm",
		"status", "wchan", "task"}
	if !slices.Equal(got, want) {
		t.Errorf("/proc/42 = %q", got)
	}
	d, _ := resolve(root, "/proc/42", true)
	st, _ := d.Inode().Stat()
	if st.Uid != 1000 || st.Gid != 100 || st.Mode != unix.S_IFDIR|0o555 {
		t.Errorf("/proc/42 owner %d:%d mode %o", st.Uid, st.Gid, st.Mode)
	}

	stat := readFile(t, root, "/proc/42/stat")
	if !strings.HasPrefix(stat, "42 (my prog)) S 1 42 1 0 -1 ") {
		t.Errorf("stat = %q", stat)
	}
	f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+2:])
	if len(f) != 50 || f[20] != "73728" || f[21] != "6" || f[22] != "18446744073709551615" || f[23] != "4194304" || f[24] != "4202496" {
		t.Errorf("stat memory fields = %q", f[20:25])
	}
	if want := strconv.Itoa(0x7ffd0000); f[45] != want {
		t.Errorf("arg_start = %s, want %s", f[45], want)
	}
	if got := readFile(t, root, "/proc/42/statm"); got != "18 6 2 2 0 16 0\n" {
		t.Errorf("statm = %q", got)
	}
	status := readFile(t, root, "/proc/42/status")
	for _, want := range []string{"Name:\tmy prog)\n", "Pid:\t42\n", "VmRSS:\t      24 kB\n", "RssFile:\t       8 kB\n", "VmExe:\t       8 kB\n", "Threads:\t2\n"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q", want)
		}
	}
	if got := readFile(t, root, "/proc/42/cmdline"); got != "prog\x00-v\x00" {
		t.Errorf("cmdline = %q", got)
	}
	if got := readFile(t, root, "/proc/42/environ"); got != "HOME=/root\x00X=1\x00" {
		t.Errorf("environ = %q", got)
	}
	if got := readlink(t, root, "/proc/42/exe"); got != "/usr/bin/prog" {
		t.Errorf("exe -> %q", got)
	}
	if got := readlink(t, root, "/proc/42/cwd"); got != "/home/user" {
		t.Errorf("cwd -> %q", got)
	}
	if got := readlink(t, root, "/proc/42/root"); got != "/" {
		t.Errorf("root -> %q", got)
	}
	if got := readFile(t, root, "/proc/42/maps"); !strings.HasPrefix(got, "00400000-00402000 r-xp 00000000 00:00 0 ") || !strings.Contains(got, " [heap]\n") {
		t.Errorf("maps = %q", got)
	}
	if got := readFile(t, root, "/proc/42/smaps"); !strings.Contains(got, "Rss:                  16 kB\n") {
		t.Errorf("smaps = %q", got)
	}
	if got := readFile(t, root, "/proc/42/limits"); !strings.Contains(got, "Max open files            1024                 1048576              files     \n") {
		t.Errorf("limits = %q", got)
	}
	if got := readFile(t, root, "/proc/42/cgroup"); got != "0::/\n" {
		t.Errorf("cgroup = %q", got)
	}
	if got := readFile(t, root, "/proc/42/mounts"); !strings.HasPrefix(got, "none / goferfs ro,relatime 0 0\n") {
		t.Errorf("mounts = %q", got)
	}
	if got := readFile(t, root, "/proc/42/mountinfo"); !strings.HasPrefix(got, "1 0 0:0 / / ro,relatime - goferfs none ro\n") {
		t.Errorf("mountinfo = %q", got)
	}
	if got := readFile(t, root, "/proc/42/wchan"); got != "0" {
		t.Errorf("wchan = %q", got)
	}
	if got := readFile(t, root, "/proc/42/oom_score_adj"); got != "0\n" {
		t.Errorf("oom_score_adj = %q", got)
	}
	if got := readlink(t, root, "/proc/42/ns/pid"); got != "pid:[4026531836]" {
		t.Errorf("ns/pid -> %q", got)
	}
	if got := readlink(t, root, "/proc/42/ns/time_for_children"); got != "time:[4026531834]" {
		t.Errorf("ns/time_for_children -> %q", got)
	}
	if got := readlink(t, root, "/proc/42/ns/uts"); got != "uts:[4026531838]" {
		t.Errorf("ns/uts -> %q", got)
	}
	if got := readlink(t, root, "/proc/1/ns/uts"); got != "uts:[4026531838]" {
		t.Errorf("init's ns/uts -> %q", got)
	}
	if got := names(readdir(t, root, "/proc/42/ns", 1<<16)); len(got) != 12 {
		t.Errorf("ns = %q", got)
	}
}

func TestFDDir(t *testing.T) {
	root := newTree(newFake())
	ents := readdir(t, root, "/proc/42/fd", 1<<16)
	if got := names(ents); !slices.Equal(got, []string{".", "..", "0", "1", "3"}) {
		t.Errorf("fd = %q", got)
	}
	for _, e := range ents[2:] {
		if e.Type != unix.DT_LNK {
			t.Errorf("fd %s type %d", e.Name, e.Type)
		}
	}
	for fd, want := range map[string]string{"0": "/dev/pts/0", "1": "pipe:[77]", "3": "/etc/passwd"} {
		if got := readlink(t, root, "/proc/42/fd/"+fd); got != want {
			t.Errorf("fd/%s -> %q, want %q", fd, got, want)
		}
	}
	for fd, mode := range map[string]uint32{"0": 0o700, "1": 0o300, "3": 0o500} {
		d, _ := resolve(root, "/proc/42/fd/"+fd, false)
		st, err := d.Inode().Stat()
		if err != nil || st.Mode != unix.S_IFLNK|mode {
			t.Errorf("fd/%s mode %o (%v), want %o", fd, st.Mode, err, unix.S_IFLNK|mode)
		}
	}
	// A path target is followed like any symlink.
	if _, err := resolve(root, "/proc/42/fd/3", true); err != unix.ENOENT {
		t.Errorf("following fd/3 into an empty root: %v, want ENOENT", err)
	}
	if _, err := resolve(root, "/proc/42/fd/2", false); err != unix.ENOENT {
		t.Errorf("fd/2: %v, want ENOENT", err)
	}
	if got := readFile(t, root, "/proc/42/fdinfo/3"); got != "pos:\t10\nflags:\t02100000\nmnt_id:\t1\nino:\t1234\n" {
		t.Errorf("fdinfo/3 = %q", got)
	}
	if got := readFile(t, root, "/proc/42/fdinfo/1"); got != "pos:\t0\nflags:\t01\nmnt_id:\t0\nino:\t77\n" {
		t.Errorf("fdinfo/1 = %q", got)
	}
}

func TestTaskDir(t *testing.T) {
	root := newTree(newFake())
	if got := names(readdir(t, root, "/proc/42/task", 1<<16)); !slices.Equal(got, []string{".", "..", "42", "43"}) {
		t.Errorf("task = %q", got)
	}
	stat := readFile(t, root, "/proc/42/task/43/stat")
	if !strings.HasPrefix(stat, "43 (worker) R 1 42 1 0 -1 0 0 0 0 0 150 25 ") {
		t.Errorf("task/43/stat = %q", stat)
	}
	if got := readFile(t, root, "/proc/42/task/43/status"); !strings.Contains(got, "Name:\tworker\nUmask:\t0022\nState:\tR (running)\nTgid:\t42\nNgid:\t0\nPid:\t43\n") {
		t.Errorf("task/43/status = %q", got)
	}
	if got := readFile(t, root, "/proc/42/task/42/comm"); got != "my prog)\n" {
		t.Errorf("task/42/comm = %q", got)
	}
	if got := names(readdir(t, root, "/proc/42/task/43", 1<<16)); slices.Contains(got, "task") || !slices.Contains(got, "stat") {
		t.Errorf("task/43 = %q", got)
	}
	if _, err := resolve(root, "/proc/42/task/44", true); err != unix.ENOENT {
		t.Errorf("task/44: %v", err)
	}
	// A thread's ID works at the top level, unlisted.
	if got := readFile(t, root, "/proc/43/comm"); got != "worker\n" {
		t.Errorf("/proc/43/comm = %q", got)
	}
}

func TestProcessExit(t *testing.T) {
	src := newFake()
	root := newTree(src)
	f := open(t, root, "/proc/42/stat")
	defer f.DecRef()
	cached, _ := resolve(root, "/proc/42/status", true)

	// Zombie: state Z, no memory, no exe.
	src.mu.Lock()
	p := src.procs[42]
	p.p.Zombie, p.p.ExitCode = true, 9
	p.p.Leader.State = 'Z'
	p.p.Threads = nil
	src.mu.Unlock()
	buf := make([]byte, 4096)
	n, err := f.PRead(buf, 0)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "42 (my prog)) Z ") || !strings.HasSuffix(string(buf[:n]), " 9\n") {
		t.Errorf("zombie stat = %q, %v", buf[:n], err)
	}
	if _, err := resolve(root, "/proc/42/exe", true); err != unix.ENOENT {
		t.Errorf("zombie exe: %v, want ENOENT", err)
	}
	if got := readFile(t, root, "/proc/42/cmdline"); got != "" {
		t.Errorf("zombie cmdline = %q", got)
	}
	if got := names(readdir(t, root, "/proc/42/task", 1<<16)); !slices.Equal(got, []string{".", "..", "42"}) {
		t.Errorf("zombie task = %q", got)
	}

	// Reaped: everything under it is gone, cached dentries included.
	src.mu.Lock()
	delete(src.procs, 42)
	src.mu.Unlock()
	if _, err := f.PRead(buf, 0); err != unix.ESRCH {
		t.Errorf("read after reaping: %v, want ESRCH", err)
	}
	if _, err := cached.Inode().Stat(); err != unix.ENOENT {
		t.Errorf("stat after reaping: %v, want ENOENT", err)
	}
	for _, path := range []string{"/proc/42/status", "/proc/self/stat", "/proc/42/fd/0"} {
		if _, err := resolve(root, path, true); err != unix.ENOENT {
			t.Errorf("%s after reaping: %v, want ENOENT", path, err)
		}
	}
	// The VFS hands back a cached final dentry; its stat fails.
	if d, err := resolve(root, "/proc/42", true); err == nil {
		if _, err := d.Inode().Stat(); err != unix.ENOENT {
			t.Errorf("stat /proc/42 after reaping: %v, want ENOENT", err)
		}
	}
	if got := names(readdir(t, root, "/proc", 1<<16)); slices.Contains(got, "42") {
		t.Errorf("/proc still lists 42: %q", got)
	}
}

func TestReadSemantics(t *testing.T) {
	src := newFake()
	root := newTree(src)
	f := open(t, root, "/proc/42/comm")
	defer f.DecRef()
	buf := make([]byte, 3)
	n, _ := f.PRead(buf, 0)
	first := string(buf[:n])
	// A rename between reads does not tear the snapshot...
	src.mu.Lock()
	src.procs[42].p.Leader.Name = "renamed"
	src.mu.Unlock()
	m, _ := f.PRead(buf, 3)
	if got := first + string(buf[:m]); got != "my pro" {
		t.Errorf("pieces = %q", got)
	}
	// ...and a read from 0 sees it.
	all := make([]byte, 64)
	n, _ = f.PRead(all, 0)
	if string(all[:n]) != "renamed\n" {
		t.Errorf("reread = %q", all[:n])
	}
	if n, err := f.PRead(all, 100); n != 0 || err != nil {
		t.Errorf("read past the end = %d, %v", n, err)
	}
	st, err := f.Impl().Stat()
	if err != nil || st.Size != 0 || st.Mode != unix.S_IFREG|0o644 {
		t.Errorf("stat = %+v, %v", st, err)
	}

	d, _ := resolve(root, "/proc/42/stat", true)
	if _, err := d.Inode().Open(unix.O_WRONLY); err != unix.EACCES {
		t.Errorf("open stat for writing: %v, want EACCES", err)
	}
	// comm is writable: 15 bytes of what is written, up to a NUL.
	d, _ = resolve(root, "/proc/42/task/43/comm", true)
	impl, err := d.Inode().Open(unix.O_WRONLY | unix.O_TRUNC)
	if err != nil {
		t.Fatalf("open comm for writing: %v", err)
	}
	w := vfs.NewFile(impl, d, unix.O_WRONLY)
	if n, err := w.Write([]byte("a-very-long-thread-name")); n != 23 || err != nil {
		t.Errorf("write comm = %d, %v", n, err)
	}
	if got := readFile(t, root, "/proc/42/task/43/comm"); got != "a-very-long-thr\n" {
		t.Errorf("comm after write = %q", got)
	}
	if n, err := w.Write([]byte("ab\x00cd")); n != 5 || err != nil {
		t.Errorf("write comm = %d, %v", n, err)
	}
	w.DecRef()
	if got := readFile(t, root, "/proc/43/comm"); got != "ab\n" {
		t.Errorf("comm after write = %q", got)
	}
	src.mu.Lock()
	src.caller = [2]int32{1, 1}
	src.mu.Unlock()
	impl, _ = d.Inode().Open(unix.O_WRONLY)
	if _, err := impl.WriteAt([]byte("x"), 0); err != unix.EINVAL {
		t.Errorf("renaming another process's thread: %v, want EINVAL", err)
	}
	d, _ = resolve(root, "/proc/42", true)
	if _, err = d.Inode().Open(unix.O_RDWR); err != unix.EISDIR {
		t.Errorf("open dir for writing: %v, want EISDIR", err)
	}
	if _, err := d.Inode().Readlink(); err != unix.EINVAL {
		t.Errorf("readlink of a dir: %v, want EINVAL", err)
	}
}

func TestSystemFiles(t *testing.T) {
	root := newTree(newFake())
	if got := readFile(t, root, "/proc/meminfo"); !strings.HasPrefix(got, "MemTotal:        1048576 kB\nMemFree:         1047552 kB\n") {
		t.Errorf("meminfo = %q", got)
	}
	if got := readFile(t, root, "/proc/uptime"); got != "60.00 119.00\n" {
		t.Errorf("uptime = %q", got)
	}
	if got := readFile(t, root, "/proc/loadavg"); got != "0.00 0.00 0.00 1/3 43\n" {
		t.Errorf("loadavg = %q", got)
	}
	if got := readFile(t, root, "/proc/stat"); !strings.HasPrefix(got, "cpu  100 0 0 11900 0 0 0 0 0 0\ncpu0 50 0 0 5950 ") ||
		!strings.Contains(got, "\nbtime 1700000000\nprocesses 43\nprocs_running 1\n") {
		t.Errorf("stat = %q", got)
	}
	if got := readFile(t, root, "/proc/cpuinfo"); strings.Count(got, "processor\t: ") != 2 {
		t.Errorf("cpuinfo = %q", got)
	}
	if got := readFile(t, root, "/proc/version"); !strings.HasPrefix(got, "Linux version 6.1.0 ") {
		t.Errorf("version = %q", got)
	}
	if got := readFile(t, root, "/proc/filesystems"); !strings.Contains(got, "nodev\tproc\n") {
		t.Errorf("filesystems = %q", got)
	}
	for path, want := range map[string]string{
		"kernel/hostname":          "sandbox\n",
		"kernel/osrelease":         "6.1.0\n",
		"kernel/ostype":            "Linux\n",
		"kernel/pid_max":           "4194304\n",
		"kernel/ngroups_max":       "65536\n",
		"kernel/cap_last_cap":      "40\n",
		"vm/overcommit_memory":     "0\n",
		"fs/file-max":              "9223372036854775807\n",
		"kernel/random/boot_id":    readFile(t, root, "/proc/sys/kernel/random/boot_id"),
		"kernel/version":           "#1 SMP Cocoon\n",
		"kernel/domainname":        "(none)\n",
		"kernel/random/../ostype":  "Linux\n",
		"kernel/../vm/../fs/../fs": "",
	} {
		if want == "" {
			continue
		}
		if got := readFile(t, root, "/proc/sys/"+path); got != want {
			t.Errorf("sys/%s = %q, want %q", path, got, want)
		}
	}
	u1 := readFile(t, root, "/proc/sys/kernel/random/uuid")
	u2 := readFile(t, root, "/proc/sys/kernel/random/uuid")
	if len(u1) != 37 || u1 == u2 || u1[14] != '4' {
		t.Errorf("uuids %q %q", u1, u2)
	}
	if got := names(readdir(t, root, "/proc/sys/kernel", 1<<16)); !slices.Contains(got, "random") || !slices.Contains(got, "hostname") {
		t.Errorf("sys/kernel = %q", got)
	}
}

func TestConcurrentReads(t *testing.T) {
	root := newTree(newFake())
	f := open(t, root, "/proc/42/status")
	defer f.DecRef()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for j := 0; j < 100; j++ {
				if _, err := f.PRead(buf, int64(j%5)*64); err != nil && !errors.Is(err, io.EOF) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
