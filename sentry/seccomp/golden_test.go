package seccomp

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Golden programs in the shape libseccomp (scmp_bpf_disasm), Docker's and
// Kubernetes' RuntimeDefault profiles, and Linux's seccomp selftests
// produce, written as {code, jt, jf, k} rows, with the result each must
// give for a table of system calls.

type row struct {
	code   uint16
	jt, jf uint8
	k      uint32
}

func fromRows(rows []row) []Instruction {
	insns := make([]Instruction, len(rows))
	for i, r := range rows {
		insns[i] = Instruction{Code: r.code, JT: r.jt, JF: r.jf, K: r.k}
	}
	return insns
}

type goldenCase struct {
	name string
	data SeccompData
	want uint32
}

func call(nr uint32, args ...uint64) SeccompData {
	d := SeccompData{Nr: int32(nr), Arch: AuditArchX86_64, InstructionPointer: 0x7f12345678}
	copy(d.Args[:], args)
	return d
}

func runGolden(t *testing.T, name string, rows []row, cases []goldenCase) {
	t.Helper()
	insns := fromRows(rows)
	p, err := Compile(insns)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	f, err := (Filters{}).Install(p, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if got := p.Run(c.data); got != c.want {
			t.Errorf("%s: %s: Run = %#x, want %#x", name, c.name, got, c.want)
		}
		if got := refRun(insns, c.data); got != c.want {
			t.Errorf("%s: %s: refRun = %#x, want %#x", name, c.name, got, c.want)
		}
		// Through the stack, with the cache.
		wantAct, wantData := ParseRet(c.want)
		if wantAct == ActionAllow {
			wantData = 0
		}
		if a, d := f.Evaluate(c.data); a != wantAct || d != wantData {
			t.Errorf("%s: %s: Evaluate = %v/%d, want %v/%d", name, c.name, a, d, wantAct, wantData)
		}
	}
}

const eperm = RetErrno | uint32(unix.EPERM)

// TestGoldenLibseccompAllowList is libseccomp 2.5's output for
//
//	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
//	seccomp_rule_add(ctx, SCMP_ACT_ALLOW, read/write/close/exit_group/rt_sigreturn, 0);
//
// on x86_64: the arch check, the x32 range check (with -1 let through as
// libseccomp does for the "no syscall" number), then a chain of jeq.
func TestGoldenLibseccompAllowList(t *testing.T) {
	rows := []row{
		/* 0000 */ {0x20, 0x00, 0x00, 0x00000004}, // ld $data[4]
		/* 0001 */ {0x15, 0x00, 0x09, 0xc000003e}, // jeq 3221225534 true:0002 false:0011
		/* 0002 */ {0x20, 0x00, 0x00, 0x00000000}, // ld $data[0]
		/* 0003 */ {0x35, 0x00, 0x01, 0x40000000}, // jge 1073741824 true:0004 false:0005
		/* 0004 */ {0x15, 0x00, 0x06, 0xffffffff}, // jeq 4294967295 true:0005 false:0011
		/* 0005 */ {0x15, 0x04, 0x00, 0x0000000f}, // jeq 15 true:0010
		/* 0006 */ {0x15, 0x03, 0x00, 0x000000e7}, // jeq 231 true:0010
		/* 0007 */ {0x15, 0x02, 0x00, 0x00000003}, // jeq 3 true:0010
		/* 0008 */ {0x15, 0x01, 0x00, 0x00000001}, // jeq 1 true:0010
		/* 0009 */ {0x15, 0x00, 0x01, 0x00000000}, // jeq 0 true:0010 false:0011
		/* 0010 */ {0x06, 0x00, 0x00, 0x7fff0000}, // ret ALLOW
		/* 0011 */ {0x06, 0x00, 0x00, 0x00050001}, // ret ERRNO(1)
	}
	i386 := call(unix.SYS_READ)
	i386.Arch = 0x40000003
	x32 := call(X32SyscallBit | unix.SYS_READ)
	runGolden(t, "allow list", rows, []goldenCase{
		{"read", call(unix.SYS_READ), RetAllow},
		{"write", call(unix.SYS_WRITE, 1, 0x1000, 5), RetAllow},
		{"close", call(unix.SYS_CLOSE, 3), RetAllow},
		{"exit_group", call(unix.SYS_EXIT_GROUP), RetAllow},
		{"rt_sigreturn", call(unix.SYS_RT_SIGRETURN), RetAllow},
		{"open", call(unix.SYS_OPEN), eperm},
		{"getpid", call(unix.SYS_GETPID), eperm},
		{"exit", call(unix.SYS_EXIT), eperm},
		{"x32 read", x32, eperm},
		{"nr -1", call(0xffffffff), eperm},
		{"i386 arch", i386, eperm},
	})
}

// TestGoldenDockerArgs has the argument checks of Docker's/containerd's
// default profile as libseccomp compiles them (64-bit arguments compared
// high word first):
//
//	personality: allow when arg0 == 0x0, 0x8, 0x20000, 0x20008 or 0xffffffff
//	clone: allow when (arg0 & 0x7e020000) == 0 (no namespace flags)
//	socket: ERRNO(EACCES)... when arg0 == AF_VSOCK (40), else allow
//	everything else: ERRNO(EPERM)
func TestGoldenDockerArgs(t *testing.T) {
	rows := []row{
		/* 0000 */ {0x20, 0x00, 0x00, 0x00000004}, // ld $data[4]
		/* 0001 */ {0x15, 0x00, 0x21, 0xc000003e}, // jeq AUDIT_ARCH_X86_64 false:0035
		/* 0002 */ {0x20, 0x00, 0x00, 0x00000000}, // ld $data[0]
		/* 0003 */ {0x35, 0x1f, 0x00, 0x40000000}, // jge 0x40000000 true:0035
		/* 0004 */ {0x15, 0x00, 0x10, 0x00000087}, // jeq personality(135) false:0021
		/* 0005 */ {0x20, 0x00, 0x00, 0x00000014}, // ld $data[20]  (arg0 hi)
		/* 0006 */ {0x15, 0x00, 0x02, 0x00000000}, // jeq 0 false:0009
		/* 0007 */ {0x20, 0x00, 0x00, 0x00000010}, // ld $data[16]  (arg0 lo)
		/* 0008 */ {0x15, 0x1b, 0x00, 0xffffffff}, // jeq 0xffffffff true:0036
		/* 0009 */ {0x20, 0x00, 0x00, 0x00000014}, // ld $data[20]
		/* 0010 */ {0x15, 0x00, 0x18, 0x00000000}, // jeq 0 false:0035
		/* 0011 */ {0x20, 0x00, 0x00, 0x00000010}, // ld $data[16]
		/* 0012 */ {0x15, 0x17, 0x00, 0x00020008}, // jeq 0x20008 true:0036
		/* 0013 */ {0x15, 0x16, 0x00, 0x00020000}, // jeq 0x20000 true:0036
		/* 0014 */ {0x15, 0x15, 0x00, 0x00000008}, // jeq 8 true:0036
		/* 0015 */ {0x15, 0x14, 0x13, 0x00000000}, // jeq 0 true:0036 false:0035
		/* 0016 */ {0x06, 0x00, 0x00, 0x00000000}, // (padding: unreachable) ret KILL
		/* 0017 */ {0x06, 0x00, 0x00, 0x00000000}, // (padding: unreachable) ret KILL
		/* 0018 */ {0x06, 0x00, 0x00, 0x00000000}, // (padding: unreachable) ret KILL
		/* 0019 */ {0x06, 0x00, 0x00, 0x00000000}, // (padding: unreachable) ret KILL
		/* 0020 */ {0x06, 0x00, 0x00, 0x00000000}, // (padding: unreachable) ret KILL
		/* 0021 */ {0x15, 0x00, 0x07, 0x00000038}, // jeq clone(56) false:0029
		/* 0022 */ {0x20, 0x00, 0x00, 0x00000014}, // ld $data[20]
		/* 0023 */ {0x54, 0x00, 0x00, 0x00000000}, // and 0x0
		/* 0024 */ {0x15, 0x00, 0x0a, 0x00000000}, // jeq 0 false:0035
		/* 0025 */ {0x20, 0x00, 0x00, 0x00000010}, // ld $data[16]
		/* 0026 */ {0x54, 0x00, 0x00, 0x7e020000}, // and 0x7e020000
		/* 0027 */ {0x15, 0x08, 0x07, 0x00000000}, // jeq 0 true:0036 false:0035
		/* 0028 */ {0x06, 0x00, 0x00, 0x00000000}, // (padding: unreachable)
		/* 0029 */ {0x15, 0x00, 0x05, 0x00000029}, // jeq socket(41) false:0035
		/* 0030 */ {0x20, 0x00, 0x00, 0x00000014}, // ld $data[20]
		/* 0031 */ {0x15, 0x00, 0x04, 0x00000000}, // jeq 0 false:0036
		/* 0032 */ {0x20, 0x00, 0x00, 0x00000010}, // ld $data[16]
		/* 0033 */ {0x15, 0x00, 0x02, 0x00000028}, // jeq 40 false:0036
		/* 0034 */ {0x06, 0x00, 0x00, 0x0005000d}, // ret ERRNO(EACCES)
		/* 0035 */ {0x06, 0x00, 0x00, 0x00050001}, // ret ERRNO(EPERM)
		/* 0036 */ {0x06, 0x00, 0x00, 0x7fff0000}, // ret ALLOW
	}
	eacces := RetErrno | uint32(unix.EACCES)
	runGolden(t, "docker args", rows, []goldenCase{
		{"personality(0)", call(135, 0), RetAllow},
		{"personality(8)", call(135, 8), RetAllow},
		{"personality(0x20000)", call(135, 0x20000), RetAllow},
		{"personality(0x20008)", call(135, 0x20008), RetAllow},
		{"personality(0xffffffff)", call(135, 0xffffffff), RetAllow},
		{"personality(0x1_00000000)", call(135, 0x1_00000000), eperm},
		{"personality(0xffffffff_ffffffff)", call(135, ^uint64(0)), eperm},
		{"personality(0x400000)", call(135, 0x400000), eperm},
		{"clone(SIGCHLD)", call(56, uint64(unix.SIGCHLD)), RetAllow},
		{"clone(thread flags)", call(56, unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|unix.CLONE_THREAD|unix.CLONE_SYSVSEM|unix.CLONE_SETTLS|unix.CLONE_PARENT_SETTID|unix.CLONE_CHILD_CLEARTID), RetAllow},
		{"clone(CLONE_NEWUSER)", call(56, unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)), eperm},
		{"clone(CLONE_NEWNS)", call(56, unix.CLONE_NEWNS), eperm},
		{"clone(high bits only)", call(56, 0x7e020000<<32), RetAllow},
		{"socket(AF_INET)", call(41, unix.AF_INET), RetAllow},
		{"socket(AF_VSOCK)", call(41, unix.AF_VSOCK), eacces},
		{"socket(AF_VSOCK + 1<<32)", call(41, 1<<32|unix.AF_VSOCK), RetAllow},
		{"getpid", call(unix.SYS_GETPID), eperm},
		{"x32 personality", call(X32SyscallBit|135, 0), eperm},
	})
}

// TestGoldenLibseccompGreaterThan is libseccomp's SCMP_CMP_GT on a 64-bit
// argument: allow mmap only when arg2 (prot) > 0x3 and kill when arg1
// (len) >= 0x1_0000_0000.
func TestGoldenLibseccompGreaterThan(t *testing.T) {
	rows := []row{
		/* 0000 */ {0x20, 0x00, 0x00, 0x00000000}, // ld $data[0]
		/* 0001 */ {0x15, 0x00, 0x0c, 0x00000009}, // jeq mmap false:0014
		/* 0002 */ {0x20, 0x00, 0x00, 0x0000001c}, // ld $data[28]  arg1 hi
		/* 0003 */ {0x25, 0x0b, 0x00, 0x00000000}, // jgt 0 true:0015 (kill)
		/* 0004 */ {0x20, 0x00, 0x00, 0x00000024}, // ld $data[36]  arg2 hi
		/* 0005 */ {0x25, 0x07, 0x00, 0x00000000}, // jgt 0 true:0013
		/* 0006 */ {0x15, 0x00, 0x05, 0x00000000}, // jeq 0 false:0012
		/* 0007 */ {0x20, 0x00, 0x00, 0x00000020}, // ld $data[32]  arg2 lo
		/* 0008 */ {0x25, 0x04, 0x03, 0x00000003}, // jgt 3 true:0013 false:0012
		/* 0009 */ {0x06, 0x00, 0x00, 0x00000000}, // unreachable
		/* 0010 */ {0x06, 0x00, 0x00, 0x00000000}, // unreachable
		/* 0011 */ {0x06, 0x00, 0x00, 0x00000000}, // unreachable
		/* 0012 */ {0x06, 0x00, 0x00, 0x00050016}, // ret ERRNO(EINVAL)
		/* 0013 */ {0x06, 0x00, 0x00, 0x7fff0000}, // ret ALLOW
		/* 0014 */ {0x06, 0x00, 0x00, 0x7ffc0000}, // ret LOG
		/* 0015 */ {0x06, 0x00, 0x00, 0x80000000}, // ret KILL_PROCESS
	}
	einval := RetErrno | uint32(unix.EINVAL)
	runGolden(t, "gt", rows, []goldenCase{
		{"prot 4", call(9, 0, 4096, 4), RetAllow},
		{"prot 3", call(9, 0, 4096, 3), einval},
		{"prot 0", call(9, 0, 4096, 0), einval},
		{"prot 1<<32", call(9, 0, 4096, 1<<32), RetAllow},
		{"prot 0xffffffff", call(9, 0, 4096, 0xffffffff), RetAllow},
		{"len 1<<32", call(9, 0, 1<<32, 7), RetKillProcess},
		{"other", call(10, 0, 1<<32, 7), RetLog},
	})
}

// TestGoldenSelftests are filters from Linux's
// tools/testing/selftests/seccomp/seccomp_bpf.c.
func TestGoldenSelftests(t *testing.T) {
	// KILL_one_arg_one: kill getpid when arg0 == 0x0C0FFEE.
	runGolden(t, "KILL_one_arg_one", []row{
		{Ld | W | Abs, 0, 0, OffsetNr},
		{Jmp | Jeq | K, 0, 3, unix.SYS_GETPID},
		{Ld | W | Abs, 0, 0, OffsetArgLow(0)},
		{Jmp | Jeq | K, 0, 1, 0x0C0FFEE},
		{Ret | K, 0, 0, RetKillThread},
		{Ret | K, 0, 0, RetAllow},
	}, []goldenCase{
		{"getpid(0xc0ffee)", call(unix.SYS_GETPID, 0xC0FFEE), RetKillThread},
		{"getpid(0)", call(unix.SYS_GETPID, 0), RetAllow},
		// Only the low word is compared: the test's 32-bit check.
		{"getpid(0x1_00c0ffee)", call(unix.SYS_GETPID, 0x1_00C0FFEE), RetKillThread},
		{"getppid(0xc0ffee)", call(unix.SYS_GETPPID, 0xC0FFEE), RetAllow},
	})
	// KILL_one_arg_six: the sixth argument.
	runGolden(t, "KILL_one_arg_six", []row{
		{Ld | W | Abs, 0, 0, OffsetNr},
		{Jmp | Jeq | K, 0, 3, unix.SYS_MMAP},
		{Ld | W | Abs, 0, 0, OffsetArgLow(5)},
		{Jmp | Jeq | K, 0, 1, 0x0C0FFEE},
		{Ret | K, 0, 0, RetKillProcess},
		{Ret | K, 0, 0, RetAllow},
	}, []goldenCase{
		{"mmap pgoff 0xc0ffee", call(unix.SYS_MMAP, 0, 4096, 3, 2, 0xffffffff, 0xC0FFEE), RetKillProcess},
		{"mmap pgoff 0", call(unix.SYS_MMAP, 0, 4096, 3, 2, 0xffffffff, 0), RetAllow},
	})
	// ERRNO_order: the filter that returns ERRNO(12) for read.
	runGolden(t, "ERRNO_valid", []row{
		{Ld | W | Abs, 0, 0, OffsetNr},
		{Jmp | Jeq | K, 0, 1, unix.SYS_READ},
		{Ret | K, 0, 0, RetErrno | uint32(unix.E2BIG)},
		{Ret | K, 0, 0, RetAllow},
	}, []goldenCase{
		{"read", call(unix.SYS_READ), RetErrno | uint32(unix.E2BIG)},
		{"write", call(unix.SYS_WRITE), RetAllow},
	})
	// arg_out_of_range: a load of syscall_arg(6) is rejected.
	if _, err := Compile([]Instruction{Stmt(Ld|W|Abs, OffsetArgLow(6)), Stmt(Ret|K, RetAllow)}); err == nil {
		t.Errorf("arg_out_of_range accepted")
	}
	// filter_size_limits: 4096 instructions load, 4097 do not.
	if _, err := Compile(repeat(Stmt(Ret|K, RetAllow), 4096)); err != nil {
		t.Errorf("4096: %v", err)
	}
	if _, err := Compile(repeat(Stmt(Ret|K, RetAllow), 4097)); err == nil {
		t.Errorf("4097 accepted")
	}
	// ERRNO_capped: ERRNO(4096) returns -4095.
	if v := VerdictOf(Result{Ret: RetErrno | 4096}); v.Return != neg(MaxErrno) {
		t.Errorf("ERRNO_capped: %#x", v.Return)
	}
	// TRAP: the handler sees SIGSYS, SYS_SECCOMP and the syscall.
	d := call(unix.SYS_GETPID)
	si := VerdictOf(Result{Ret: RetTrap}).SigInfo(d)
	if si[0] != byte(unix.SIGSYS) || si[8] != SysSeccomp || si[24] != unix.SYS_GETPID || si[16] != 0x78 {
		t.Errorf("TRAP siginfo %x", si[:32])
	}
}

// TestGoldenKubernetesLogAndTrace covers a stack the way a container
// runtime (Kubernetes seccompProfile Localhost with SCMP_ACT_LOG default)
// and an application (its own filter) build it: the runtime's filter is
// older; the application's ERRNO wins over the runtime's LOG.
func TestGoldenKubernetesLogAndTrace(t *testing.T) {
	runtimeProfile := mustCompile(t, fromRows([]row{
		{0x20, 0, 0, 4}, {0x15, 1, 0, 0xc000003e}, {0x06, 0, 0, RetKillProcess},
		{0x20, 0, 0, 0}, {0x15, 0, 1, unix.SYS_PTRACE}, {0x06, 0, 0, eperm},
		{0x06, 0, 0, RetLog},
	})...)
	app := mustCompile(t, fromRows([]row{
		{0x20, 0, 0, 0}, {0x15, 0, 1, unix.SYS_UNAME}, {0x06, 0, 0, RetErrno | uint32(unix.ENOSYS)},
		{0x06, 0, 0, RetAllow},
	})...)
	var f Filters
	f, _ = f.Install(runtimeProfile, false)
	f, _ = f.Install(app, true)
	for _, c := range []struct {
		d    SeccompData
		want uint32
		log  bool
	}{
		{call(unix.SYS_UNAME), RetErrno | uint32(unix.ENOSYS), true},
		{call(unix.SYS_PTRACE), eperm, false},
		{call(unix.SYS_GETPID), RetLog, false},
	} {
		if r := f.Run(c.d); r.Ret != c.want || r.Log != c.log {
			t.Errorf("nr %d: %+v, want %#x log %v", c.d.Nr, r, c.want, c.log)
		}
	}
	if v := VerdictOf(f.Run(call(unix.SYS_GETPID))); v.Kind != VerdictRun || !v.Log {
		t.Errorf("log verdict %+v", v)
	}
}
