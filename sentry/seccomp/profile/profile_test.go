package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/seccomp"
)

// dockerDefaultCaps is the default capability set of runc/containerd
// containers (and of Cocoon's).
var dockerDefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func compile(t *testing.T, p *Program) seccomp.Program {
	t.Helper()
	prog, err := seccomp.Compile(p.Instructions)
	if err != nil {
		t.Fatalf("seccomp.Compile: %v", err)
	}
	return prog
}

type call struct {
	name string
	nr   int32
	arch uint32
	args [6]uint64
	want uint32
}

func run(t *testing.T, prog seccomp.Program, tests []call) {
	t.Helper()
	for _, c := range tests {
		arch := c.arch
		if arch == 0 {
			arch = seccomp.AuditArchX86_64
		}
		got := prog.Run(seccomp.SeccompData{Nr: c.nr, Arch: arch, Args: c.args})
		if got != c.want {
			t.Errorf("%s (nr %d arch %#x args %x): got %#x, want %#x", c.name, c.nr, arch, c.args, got, c.want)
		}
	}
}

var (
	allow = seccomp.ActionAllow.Ret(0)
	eperm = seccomp.ActionErrno.Ret(uint16(unix.EPERM))
	kill  = seccomp.ActionKillThread.Ret(0)
)

func TestDefaultProfile(t *testing.T) {
	p, err := Compile(Default(), dockerDefaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	prog := compile(t, p)
	t.Logf("default profile: %d instructions", prog.Len())
	enosys := seccomp.ActionErrno.Ret(uint16(unix.ENOSYS))
	run(t, prog, []call{
		{name: "chmod", nr: unix.SYS_CHMOD, want: allow},
		{name: "read", nr: unix.SYS_READ, want: allow},
		{name: "sethostname", nr: unix.SYS_SETHOSTNAME, want: eperm},
		{name: "reboot", nr: unix.SYS_REBOOT, want: eperm},
		{name: "kexec_load", nr: unix.SYS_KEXEC_LOAD, want: eperm},
		{name: "mount", nr: unix.SYS_MOUNT, want: eperm},
		{name: "unshare", nr: unix.SYS_UNSHARE, want: eperm},
		{name: "unknown", nr: 1000, want: eperm},
		{name: "negative", nr: -1, want: eperm},
		{name: "x32 read", nr: seccomp.X32SyscallBit | unix.SYS_READ, want: eperm},
		{name: "i386", nr: unix.SYS_READ, arch: 0x40000003, want: kill},
		// clone without namespace flags is allowed, with CLONE_NEWNS not.
		{name: "clone", nr: unix.SYS_CLONE, args: [6]uint64{unix.CLONE_VM | unix.CLONE_THREAD}, want: allow},
		{name: "clone newns", nr: unix.SYS_CLONE, args: [6]uint64{unix.CLONE_NEWNS}, want: eperm},
		{name: "clone3", nr: unix.SYS_CLONE3, want: enosys},
		// personality: several EQ alternatives on one argument.
		{name: "personality 0", nr: unix.SYS_PERSONALITY, args: [6]uint64{0}, want: allow},
		{name: "personality query", nr: unix.SYS_PERSONALITY, args: [6]uint64{0xffffffff}, want: allow},
		{name: "personality other", nr: unix.SYS_PERSONALITY, args: [6]uint64{0x1234}, want: eperm},
		{name: "personality high word", nr: unix.SYS_PERSONALITY, args: [6]uint64{1 << 32}, want: eperm},
		// socket: AF_UNIX/AF_INET allowed (LT range), AF_VSOCK not.
		{name: "socket unix", nr: unix.SYS_SOCKET, args: [6]uint64{unix.AF_UNIX}, want: allow},
		{name: "socket inet6", nr: unix.SYS_SOCKET, args: [6]uint64{unix.AF_INET6}, want: allow},
		{name: "socket vsock", nr: unix.SYS_SOCKET, args: [6]uint64{unix.AF_VSOCK}, want: eperm},
	})

	// With CAP_SYS_ADMIN, mount and unshare are allowed (includes.caps).
	admin, err := Compile(Default(), append([]string{"CAP_SYS_ADMIN"}, dockerDefaultCaps...))
	if err != nil {
		t.Fatal(err)
	}
	run(t, compile(t, admin), []call{
		{name: "mount admin", nr: unix.SYS_MOUNT, want: allow},
		{name: "sethostname admin", nr: unix.SYS_SETHOSTNAME, want: allow},
		{name: "clone newns admin", nr: unix.SYS_CLONE, args: [6]uint64{unix.CLONE_NEWNS}, want: allow},
		{name: "reboot admin", nr: unix.SYS_REBOOT, want: eperm},
	})
}

func TestOperators(t *testing.T) {
	const js = `{
	"defaultAction": "SCMP_ACT_ALLOW",
	"architectures": ["SCMP_ARCH_X86_64"],
	"syscalls": [
		{"names": ["chmod", "chown32", "no_such_call"], "action": "SCMP_ACT_ERRNO"},
		{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
		{"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
		{"names": ["getpid"], "action": "SCMP_ACT_TRAP"},
		{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 4294967301, "op": "SCMP_CMP_EQ"}]},
		{"names": ["write"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 100, "op": "SCMP_CMP_GT"}]},
		{"names": ["close"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_LT"}]},
		{"names": ["dup"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_LE"}]},
		{"names": ["dup2"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 8589934592, "op": "SCMP_CMP_GE"}]},
		{"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_NE"}]},
		{"names": ["mmap"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": 4, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}, {"index": 3, "value": 1, "op": "SCMP_CMP_EQ"}]}
	]
}`
	sp, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	prog := compile(t, p)
	eacces := seccomp.ActionErrno.Ret(uint16(unix.EACCES))
	run(t, prog, []call{
		{name: "chmod", nr: unix.SYS_CHMOD, want: eperm},
		{name: "fchmod", nr: unix.SYS_FCHMOD, want: allow},
		{name: "sethostname", nr: unix.SYS_SETHOSTNAME, want: eacces},
		{name: "reboot", nr: unix.SYS_REBOOT, want: seccomp.ActionKillProcess.Ret(0)},
		{name: "getpid", nr: unix.SYS_GETPID, want: seccomp.ActionTrap.Ret(0)},
		{name: "x32 refused without x32 arch", nr: seccomp.X32SyscallBit | unix.SYS_GETPID, want: kill},
		{name: "read eq", nr: unix.SYS_READ, args: [6]uint64{1<<32 | 5}, want: eperm},
		{name: "read low only", nr: unix.SYS_READ, args: [6]uint64{5}, want: allow},
		{name: "write gt", nr: unix.SYS_WRITE, args: [6]uint64{0, 0, 101}, want: eperm},
		{name: "write eq", nr: unix.SYS_WRITE, args: [6]uint64{0, 0, 100}, want: allow},
		{name: "write high", nr: unix.SYS_WRITE, args: [6]uint64{0, 0, 1 << 32}, want: eperm},
		{name: "close lt", nr: unix.SYS_CLOSE, args: [6]uint64{2}, want: eperm},
		{name: "close eq", nr: unix.SYS_CLOSE, args: [6]uint64{3}, want: allow},
		{name: "close high", nr: unix.SYS_CLOSE, args: [6]uint64{1<<32 | 1}, want: allow},
		{name: "dup le", nr: unix.SYS_DUP, args: [6]uint64{3}, want: eperm},
		{name: "dup gt", nr: unix.SYS_DUP, args: [6]uint64{4}, want: allow},
		{name: "dup2 ge", nr: unix.SYS_DUP2, args: [6]uint64{0, 2 << 32}, want: eperm},
		{name: "dup2 lt", nr: unix.SYS_DUP2, args: [6]uint64{0, 1<<33 - 1}, want: allow},
		{name: "lseek ne", nr: unix.SYS_LSEEK, args: [6]uint64{0, 0, 1}, want: eperm},
		{name: "lseek ne high", nr: unix.SYS_LSEEK, args: [6]uint64{0, 0, 1 << 40}, want: eperm},
		{name: "lseek eq", nr: unix.SYS_LSEEK, args: [6]uint64{0, 0, 0}, want: allow},
		{name: "mmap both", nr: unix.SYS_MMAP, args: [6]uint64{0, 0, 7, 1}, want: eperm},
		{name: "mmap mask only", nr: unix.SYS_MMAP, args: [6]uint64{0, 0, 7, 2}, want: allow},
		{name: "mmap eq only", nr: unix.SYS_MMAP, args: [6]uint64{0, 0, 3, 1}, want: allow},
	})
}

func TestParseErrors(t *testing.T) {
	for name, js := range map[string]string{
		"syntax":        `{"defaultAction": `,
		"unknown field": `{"defaultAction": "SCMP_ACT_ALLOW", "sycalls": []}`,
		"trailing":      `{"defaultAction": "SCMP_ACT_ALLOW"} {}`,
	} {
		if _, err := Parse([]byte(js)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Parse(make([]byte, MaxProfileBytes+1)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("oversized: %v", err)
	}
	for name, js := range map[string]string{
		"action":   `{"defaultAction": "SCMP_ACT_BOGUS"}`,
		"notify":   `{"defaultAction": "SCMP_ACT_NOTIFY"}`,
		"operator": `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]}`,
		"index":    `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`,
	} {
		p, err := Parse([]byte(js))
		if err != nil {
			t.Errorf("%s: parse: %v", name, err)
			continue
		}
		if _, err := Compile(p, nil); err == nil {
			t.Errorf("%s: no compile error", name)
		}
	}
	// An empty profile installs nothing, as under runc.
	p, err := Parse([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if prog, err := Compile(p, nil); err != nil || prog != nil {
		t.Errorf("empty profile: %v, %v", prog, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	if err := os.WriteFile(path, []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, compile(t, p), []call{{name: "chmod", nr: unix.SYS_CHMOD, want: eperm}, {name: "read", nr: unix.SYS_READ, want: allow}})
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
	if err := os.WriteFile(path, make([]byte, MaxProfileBytes+10), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("oversized file: %v", err)
	}
}
