package strace

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var errFault = errors.New("fault")

// fakeMem is a sparse task memory made of regions.
type fakeMem struct {
	regions map[uint64][]byte
}

func newFakeMem() *fakeMem { return &fakeMem{regions: map[uint64][]byte{}} }

func (m *fakeMem) put(addr uint64, data []byte) uint64 {
	m.regions[addr] = data
	return addr
}

func (m *fakeMem) putStr(addr uint64, s string) uint64 {
	return m.put(addr, append([]byte(s), 0))
}

func (m *fakeMem) putU64s(addr uint64, vs ...uint64) uint64 {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return m.put(addr, b)
}

// region returns the bytes readable at addr.
func (m *fakeMem) region(addr uint64) []byte {
	for base, data := range m.regions {
		if addr >= base && addr < base+uint64(len(data)) {
			return data[addr-base:]
		}
	}
	return nil
}

func (m *fakeMem) CopyIn(addr uint64, dst []byte) (int, error) {
	n := copy(dst, m.region(addr))
	if n < len(dst) {
		return n, errFault
	}
	return n, nil
}

func (m *fakeMem) CopyInString(addr uint64, maxLen int) (string, error) {
	r := m.region(addr)
	for i, c := range r {
		if c == 0 {
			return string(r[:i]), nil
		}
		if i >= maxLen {
			return "", unix.ENAMETOOLONG
		}
	}
	return "", errFault
}

func nr(t *testing.T, name string) uint64 {
	t.Helper()
	n, ok := Number(name)
	if !ok {
		t.Fatalf("Number(%q) unknown", name)
	}
	return n
}

func errRet(e unix.Errno) uint64 { return uint64(-int64(e)) }

func TestTable(t *testing.T) {
	for n := uint64(0); n <= 334; n++ {
		if strings.HasPrefix(Name(n), "syscall_") {
			t.Errorf("syscall %d has no name", n)
		}
	}
	for n := uint64(424); n <= 462; n++ {
		if strings.HasPrefix(Name(n), "syscall_") {
			t.Errorf("syscall %d has no name", n)
		}
	}
	for n := range table {
		info := table[n]
		if info.name == "" {
			continue
		}
		if got, ok := Number(info.name); !ok || got != uint64(n) {
			t.Errorf("Number(%q) = %d, %v; want %d", info.name, got, ok, n)
		}
		if info.argc > 6 {
			t.Errorf("%s: argc %d", info.name, info.argc)
		}
	}
	for name, want := range map[string]uint64{
		"read": 0, "write": 1, "openat": 257, "exit_group": 231,
		"clone3": 435, "mseal": 462, "newfstatat": 262, "_sysctl": 156,
		"rseq": 334, "pidfd_send_signal": 424,
	} {
		if got, ok := Number(name); !ok || got != want {
			t.Errorf("Number(%q) = %d, %v; want %d", name, got, ok, want)
		}
		if got := Name(want); got != name {
			t.Errorf("Name(%d) = %q; want %q", want, got, name)
		}
	}
	// The x/sys syscall numbers agree.
	for name, want := range map[string]uint64{
		"execve": unix.SYS_EXECVE, "futex": unix.SYS_FUTEX,
		"statx": unix.SYS_STATX, "io_uring_setup": unix.SYS_IO_URING_SETUP,
		"faccessat2": unix.SYS_FACCESSAT2, "cachestat": unix.SYS_CACHESTAT,
	} {
		if got := nr(t, name); got != want {
			t.Errorf("Number(%q) = %d; want %d", name, got, want)
		}
	}
	for _, n := range []uint64{335, 423, 1000, 1 << 40, ^uint64(0)} {
		if got, want := Name(n), "syscall_"; !strings.HasPrefix(got, want) {
			t.Errorf("Name(%d) = %q", n, got)
		}
	}
	if got := Name(335); got != "syscall_335" {
		t.Errorf("Name(335) = %q", got)
	}
	if _, ok := Number("syscall_335"); ok {
		t.Errorf("Number(syscall_335) is known")
	}
	if _, ok := Number("nonesuch"); ok {
		t.Errorf("Number(nonesuch) is known")
	}
}

const (
	strAddr = 0x10000
	bufAddr = 0x20000
	outAddr = 0x30000
	badAddr = 0xdead0000
)

func a(vs ...uint64) [6]uint64 {
	var r [6]uint64
	copy(r[:], vs)
	return r
}

func TestGolden(t *testing.T) {
	m := newFakeMem()
	passwd := m.putStr(strAddr, "/etc/passwd")
	tmp := m.putStr(strAddr+0x100, "/tmp/x\n\"q\"")
	hello := m.put(bufAddr, []byte("hello\n"))
	long := m.put(bufAddr+0x100, []byte(strings.Repeat("a", 100)))
	bin := m.put(bufAddr+0x200, []byte("\x7fELF\x02\x01\x01\x00\x00\x30"))
	readBuf := m.put(outAddr, []byte("hello\nworld"))
	ts := m.putU64s(outAddr+0x100, 1, 500)
	sa := m.putU64s(outAddr+0x200, 0x401000, saRestorer|0x10000000, 0x402000, 1<<1|1<<14)
	argv := m.putU64s(outAddr+0x300, m.putStr(strAddr+0x200, "ls"), m.putStr(strAddr+0x210, "-l"), 0)
	envp := m.putU64s(outAddr+0x400, m.putStr(strAddr+0x220, "HOME=/"), 0)
	fds := m.put(outAddr+0x500, []byte{3, 0, 0, 0, 4, 0, 0, 0})
	st := make([]byte, 144)
	binary.LittleEndian.PutUint32(st[24:], unix.S_IFREG|0644)
	binary.LittleEndian.PutUint64(st[48:], 1234)
	stat := m.put(outAddr+0x600, st)
	uts := make([]byte, 6*65)
	copy(uts, "Linux")
	copy(uts[65:], "cocoon")
	utsAddr := m.put(outAddr+0x800, uts)
	iov := m.putU64s(outAddr+0xa00, hello, 6, long, 100)
	cwd := m.putStr(outAddr+0xb00, "/home/user")
	var dents []byte
	for _, name := range []string{".", "..", "file"} {
		rec := make([]byte, 24)
		binary.LittleEndian.PutUint16(rec[16:], 24)
		copy(rec[19:], name)
		dents = append(dents, rec...)
	}
	dentsAddr := m.put(outAddr+0xc00, dents)
	rlim := m.putU64s(outAddr+0xd00, 8<<20, ^uint64(0))
	status := m.put(outAddr+0xe00, []byte{0, 2, 0, 0})
	sun := m.put(outAddr+0xf00, append([]byte{1, 0}, "/run/sock\x00"...))
	sin := m.put(outAddr+0xf80, []byte{2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	fsbase := m.putU64s(outAddr+0x1000, 0x7f0000001000)

	tests := []struct {
		name  string
		entry bool // Entry, not Exit
		nr    string
		args  [6]uint64
		ret   uint64
		want  string
	}{
		{"openat", true, "openat", a(uint64(0xffffffffffffff9c), passwd, unix.O_RDONLY|unix.O_CLOEXEC), 0,
			`openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)`},
		{"openat ok", false, "openat", a(uint64(0xffffffffffffff9c), passwd, unix.O_RDONLY|unix.O_CLOEXEC), 3,
			`openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`},
		{"openat creat", true, "openat", a(5, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|oLargefile, 0644), 0,
			`openat(5, "/tmp/x\n\"q\"", O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE, 0644)`},
		{"open tmpfile", true, "open", a(passwd, unix.O_RDWR|unix.O_TMPFILE|unix.O_EXCL, 0600), 0,
			`open("/etc/passwd", O_RDWR|O_EXCL|O_TMPFILE, 0600)`},
		{"openat enoent", false, "openat", a(uint64(0xffffffffffffff9c), passwd, unix.O_RDONLY), errRet(unix.ENOENT),
			`openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = -1 ENOENT (No such file or directory)`},
		{"bad pointer", false, "openat", a(uint64(0xffffffffffffff9c), badAddr, unix.O_RDONLY), errRet(unix.EFAULT),
			`openat(AT_FDCWD, 0xdead0000, O_RDONLY) = -1 EFAULT (Bad address)`},
		{"read entry", true, "read", a(3, readBuf, 4096), 0,
			`read(3, 0x30000, 4096)`},
		{"read exit", false, "read", a(3, readBuf, 4096), 6,
			`read(3, "hello\n", 4096) = 6`},
		{"read eof", false, "read", a(3, readBuf, 4096), 0,
			`read(3, "", 4096) = 0`},
		{"read bad", false, "read", a(3, badAddr, 4096), 6,
			`read(3, 0xdead0000, 4096) = 6`},
		{"read eagain", false, "read", a(0, readBuf, 4096), errRet(unix.EAGAIN),
			`read(0, 0x30000, 4096) = -1 EAGAIN (Resource temporarily unavailable)`},
		{"write", false, "write", a(1, hello, 6), 6,
			`write(1, "hello\n", 6) = 6`},
		{"write long", true, "write", a(1, long, 100), 0,
			`write(1, "` + strings.Repeat("a", 64) + `"..., 100)`},
		{"write binary", true, "write", a(1, bin, 10), 0,
			`write(1, "\177ELF\2\1\1\0\0000", 10)`},
		{"mmap", false, "mmap", a(0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, uint64(0xffffffffffffffff), 0), 0x7f1234560000,
			`mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1234560000`},
		{"mmap file", true, "mmap", a(0x400000, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_FIXED|unix.MAP_DENYWRITE, 3, 0x1000), 0,
			`mmap(0x400000, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x1000)`},
		{"mmap enomem", false, "mmap", a(0, 1<<40, unix.PROT_READ, unix.MAP_SHARED|unix.MAP_ANONYMOUS, uint64(0xffffffffffffffff), 0), errRet(unix.ENOMEM),
			`mmap(NULL, 1099511627776, PROT_READ, MAP_SHARED|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)`},
		{"mprotect", false, "mprotect", a(0x7f1234560000, 4096, unix.PROT_NONE), 0,
			`mprotect(0x7f1234560000, 4096, PROT_NONE) = 0`},
		{"rt_sigaction", false, "rt_sigaction", a(uint64(unix.SIGINT), sa, 0, 8), 0,
			`rt_sigaction(SIGINT, {sa_handler=0x401000, sa_mask=[INT TERM], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x402000}, NULL, 8) = 0`},
		{"rt_sigaction old", false, "rt_sigaction", a(uint64(unix.SIGCHLD), 0, sa, 8), 0,
			`rt_sigaction(SIGCHLD, NULL, {sa_handler=0x401000, sa_mask=[INT TERM], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x402000}, 8) = 0`},
		{"rt_sigprocmask", false, "rt_sigprocmask", a(unix.SIG_BLOCK, m.putU64s(outAddr+0x1100, ^uint64(0)), 0, 8), 0,
			`rt_sigprocmask(SIG_BLOCK, ~[], NULL, 8) = 0`},
		{"fcntl getfd", false, "fcntl", a(3, unix.F_GETFD), 1,
			`fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)`},
		{"fcntl getfl", false, "fcntl", a(3, unix.F_GETFL), unix.O_RDWR | oLargefile,
			`fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)`},
		{"fcntl setfd", false, "fcntl", a(3, unix.F_SETFD, unix.FD_CLOEXEC), 0,
			`fcntl(3, F_SETFD, FD_CLOEXEC) = 0`},
		{"fcntl dupfd", false, "fcntl", a(3, unix.F_DUPFD_CLOEXEC, 10), 10,
			`fcntl(3, F_DUPFD_CLOEXEC, 10) = 10`},
		{"ioctl tcgets", false, "ioctl", a(1, unix.TCGETS, 0x7ffd1000), errRet(unix.ENOTTY),
			`ioctl(1, TCGETS, 0x7ffd1000) = -1 ENOTTY (Inappropriate ioctl for device)`},
		{"ioctl tunsetiff", true, "ioctl", a(3, unix.TUNSETIFF, 0x7ffd1000), 0,
			`ioctl(3, TUNSETIFF, 0x7ffd1000)`},
		{"ioctl siocsifmtu", false, "ioctl", a(4, unix.SIOCSIFMTU, 0x7ffd1000), 0,
			`ioctl(4, SIOCSIFMTU, 0x7ffd1000) = 0`},
		{"ioctl unknown", true, "ioctl", a(1, 0xc0de, 0), 0,
			`ioctl(1, 0xc0de, 0)`},
		{"clock_gettime", false, "clock_gettime", a(unix.CLOCK_MONOTONIC, ts), 0,
			`clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=500}) = 0`},
		{"clock_gettime entry", true, "clock_gettime", a(unix.CLOCK_MONOTONIC, ts), 0,
			`clock_gettime(CLOCK_MONOTONIC, 0x30100)`},
		{"nanosleep", false, "nanosleep", a(ts, 0), 0,
			`nanosleep({tv_sec=1, tv_nsec=500}, NULL) = 0`},
		{"execve", true, "execve", a(m.putStr(strAddr+0x300, "/bin/ls"), argv, envp), 0,
			`execve("/bin/ls", ["ls", "-l"], ["HOME=/"])`},
		{"execve exit", false, "execve", a(strAddr+0x300, argv, envp), 0,
			`execve(0x10300, 0x30300, 0x30400) = 0`},
		{"pipe2", false, "pipe2", a(fds, unix.O_CLOEXEC), 0,
			`pipe2([3, 4], O_CLOEXEC) = 0`},
		{"pipe2 entry", true, "pipe2", a(fds, 0), 0,
			`pipe2(0x30500, 0)`},
		{"fstat", false, "fstat", a(3, stat), 0,
			`fstat(3, {st_mode=S_IFREG|0644, st_size=1234, ...}) = 0`},
		{"newfstatat", false, "newfstatat", a(uint64(0xffffffffffffff9c), passwd, stat, unix.AT_SYMLINK_NOFOLLOW), 0,
			`newfstatat(AT_FDCWD, "/etc/passwd", {st_mode=S_IFREG|0644, st_size=1234, ...}, AT_SYMLINK_NOFOLLOW) = 0`},
		{"uname", false, "uname", a(utsAddr), 0,
			`uname({sysname="Linux", nodename="cocoon", ...}) = 0`},
		{"writev", false, "writev", a(1, iov, 2), 106,
			`writev(1, [{iov_base="hello\n", iov_len=6}, ...], 2) = 106`},
		{"readv", false, "readv", a(0, iov, 1), 3,
			`readv(0, [{iov_base="hel", iov_len=6}], 1) = 3`},
		{"getcwd", false, "getcwd", a(cwd, 4096), 11,
			`getcwd("/home/user", 4096) = 11`},
		{"readlink", false, "readlink", a(passwd, cwd, 4096), 5,
			`readlink("/etc/passwd", "/home", 4096) = 5`},
		{"getdents64", false, "getdents64", a(3, dentsAddr, 32768), 72,
			`getdents64(3, 0x30c00 /* 3 entries */, 32768) = 72`},
		{"prlimit64", false, "prlimit64", a(0, unix.RLIMIT_STACK, 0, rlim), 0,
			`prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8388608, rlim_max=RLIM64_INFINITY}) = 0`},
		{"wait4", false, "wait4", a(uint64(0xffffffffffffffff), status, 0, 0), 42,
			`wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 2}], 0, NULL) = 42`},
		{"connect", false, "connect", a(3, sun, 12), 0,
			`connect(3, {sa_family=AF_UNIX, sun_path="/run/sock"}, 12) = 0`},
		{"bind", false, "bind", a(3, sin, 16), 0,
			`bind(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = 0`},
		{"socket", false, "socket", a(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0), 4,
			`socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, 0) = 4`},
		{"arch_prctl set", false, "arch_prctl", a(0x1002, 0x7f0000001000), 0,
			`arch_prctl(ARCH_SET_FS, 0x7f0000001000) = 0`},
		{"arch_prctl get", false, "arch_prctl", a(0x1003, fsbase), 0,
			`arch_prctl(ARCH_GET_FS, [0x7f0000001000]) = 0`},
		{"access", false, "access", a(passwd, unix.R_OK|unix.W_OK), errRet(unix.EACCES),
			`access("/etc/passwd", R_OK|W_OK) = -1 EACCES (Permission denied)`},
		{"faccessat", true, "faccessat", a(uint64(0xffffffffffffff9c), passwd, 0), 0,
			`faccessat(AT_FDCWD, "/etc/passwd", F_OK)`},
		{"lseek", false, "lseek", a(3, uint64(0xfffffffffffffff6), unix.SEEK_END), 90,
			`lseek(3, -10, SEEK_END) = 90`},
		{"clone", true, "clone", a(unix.CLONE_VM|unix.CLONE_VFORK|uint64(unix.SIGCHLD), 0x7000, 0, 0, 0), 0,
			`clone(CLONE_VM|CLONE_VFORK|SIGCHLD, 0x7000, NULL, NULL, 0)`},
		{"futex", false, "futex", a(0x601000, 128|1, 1), 0,
			`futex(0x601000, FUTEX_WAKE_PRIVATE, 1, 0, NULL, 0) = 0`},
		{"kill", false, "kill", a(7, uint64(unix.SIGTERM)), 0,
			`kill(7, SIGTERM) = 0`},
		{"statx", true, "statx", a(uint64(0xffffffffffffff9c), passwd, unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS|unix.STATX_MNT_ID, outAddr), 0,
			`statx(AT_FDCWD, "/etc/passwd", AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_BASIC_STATS|STATX_MNT_ID, 0x30000)`},
		{"unlinkat", true, "unlinkat", a(4, passwd, unix.AT_REMOVEDIR), 0,
			`unlinkat(4, "/etc/passwd", AT_REMOVEDIR)`},
		{"umask", false, "umask", a(022), 077,
			`umask(022) = 63`},
		{"exit_group", true, "exit_group", a(0), 0,
			`exit_group(0)`},
		{"getpid", false, "getpid", a(), 1,
			`getpid() = 1`},
		{"brk", false, "brk", a(0), 0x555555560000,
			`brk(NULL) = 0x555555560000`},
		{"restart", false, "read", a(0, readBuf, 10), errRet(512),
			`read(0, 0x30000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)`},
		{"unknown errno", false, "close", a(3), errRet(4000),
			`close(3) = -1 ERRNO_4000 (Unknown error 4000)`},
		{"unknown syscall", false, "", a(1, 2, 3, 4, 5, 6), 0,
			`syscall_400(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = 0`},
	}
	for _, tc := range tests {
		n := uint64(400)
		if tc.nr != "" {
			n = nr(t, tc.nr)
		}
		var got string
		if tc.entry {
			got = Entry(m, n, tc.args)
		} else {
			got = Exit(m, n, tc.args, tc.ret)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestLongPath(t *testing.T) {
	m := newFakeMem()
	long := strings.Repeat("x", 2000)
	addr := m.putStr(strAddr, long)
	got := Entry(m, nr(t, "chdir"), a(addr))
	want := `chdir("` + long[:pathMax] + `"...)`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// A string running into unmapped memory prints its address.
	m.put(bufAddr, []byte("abc"))
	if got, want := Entry(m, nr(t, "chdir"), a(bufAddr)), "chdir(0x20000)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// A nil Memory prints addresses.
	if got, want := Entry(nil, nr(t, "chdir"), a(addr)), "chdir(0x10000)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestStrArrayLimit(t *testing.T) {
	m := newFakeMem()
	s := m.putStr(strAddr, "a")
	ptrs := make([]uint64, 12)
	for i := range 11 {
		ptrs[i] = s
	}
	argv := m.putU64s(outAddr, ptrs...)
	got := Entry(m, nr(t, "execve"), a(s, argv, 0))
	want := `execve("a", ["a", "a", "a", "a", "a", "a", "a", "a", ...], NULL)`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestAllSyscallsFormat(t *testing.T) {
	m := newFakeMem()
	m.put(0x1000, make([]byte, 8192))
	for n := uint64(0); n < uint64(len(table))+10; n++ {
		args := a(0x1000, 0x1000, 0x1000, 0x1000, 0x1000, 0x1000)
		e := Entry(m, n, args)
		if !strings.HasPrefix(e, Name(n)+"(") || !strings.HasSuffix(e, ")") {
			t.Errorf("Entry(%d) = %q", n, e)
		}
		for _, ret := range []uint64{0, 16, errRet(unix.EINVAL)} {
			x := Exit(m, n, args, ret)
			if !strings.HasPrefix(x, Name(n)+"(") || !strings.Contains(x, ") = ") {
				t.Errorf("Exit(%d) = %q", n, x)
			}
		}
	}
}

func BenchmarkExitRead(b *testing.B) {
	m := newFakeMem()
	buf := m.put(bufAddr, []byte("hello\nworld"))
	b.ReportAllocs()
	for b.Loop() {
		Exit(m, 0, a(3, buf, 4096), 6)
	}
}
