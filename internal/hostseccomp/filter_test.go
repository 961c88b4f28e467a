package hostseccomp

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/seccomp"
)

const deny = unix.SECCOMP_RET_TRAP

// run evaluates filter on one call with the sentry's BPF interpreter,
// which follows Linux's semantics and validation.
func run(t *testing.T, filter []unix.SockFilter, arch uint32, nr int32, args [6]uint64) uint32 {
	t.Helper()
	insns := make([]seccomp.Instruction, len(filter))
	for i, f := range filter {
		insns[i] = seccomp.Instruction{Code: f.Code, JT: f.Jt, JF: f.Jf, K: f.K}
	}
	p, err := seccomp.Compile(insns)
	if err != nil {
		t.Fatalf("the kernel would refuse the filter: %v", err)
	}
	return p.Run(seccomp.SeccompData{Nr: nr, Arch: arch, Args: args})
}

func TestBuildDecisions(t *testing.T) {
	rules := []Rule{
		Allow(unix.SYS_READ),
		ArgEq(unix.SYS_IOCTL, 1, unix.TCGETS),
		ArgEq(unix.SYS_IOCTL, 1, unix.TIOCINQ),
		{Nr: unix.SYS_IOCTL, Conds: []Cond{{Arg: 1, Op: MaskedEq, Mask: 0xff00, Value: 0xae00}}},
		{Nr: unix.SYS_MMAP, Conds: []Cond{{Arg: 2, Op: NoneOf, Mask: unix.PROT_EXEC}}},
		{Nr: unix.SYS_CLONE, Conds: []Cond{{Arg: 0, Op: AllOf, Mask: unix.CLONE_THREAD | unix.CLONE_VM}}},
		{Nr: unix.SYS_SOCKET, Conds: []Cond{{Arg: 0, Op: Eq, Value: unix.AF_INET}, {Arg: 1, Op: NoneOf, Mask: 0xf0}}},
	}
	f, err := Build(unix.AUDIT_ARCH_X86_64, rules, deny)
	if err != nil {
		t.Fatal(err)
	}
	const allow = unix.SECCOMP_RET_ALLOW
	for _, c := range []struct {
		name string
		arch uint32
		nr   int32
		args [6]uint64
		want uint32
	}{
		{"read", unix.AUDIT_ARCH_X86_64, unix.SYS_READ, [6]uint64{}, allow},
		{"write refused", unix.AUDIT_ARCH_X86_64, unix.SYS_WRITE, [6]uint64{}, deny},
		{"other arch", unix.AUDIT_ARCH_I386, unix.SYS_READ, [6]uint64{}, deny},
		{"x32", unix.AUDIT_ARCH_X86_64, x32Bit | unix.SYS_READ, [6]uint64{}, deny},
		{"kill number", unix.AUDIT_ARCH_X86_64, killNr, [6]uint64{}, unix.SECCOMP_RET_KILL_PROCESS},
		{"ioctl first alternative", unix.AUDIT_ARCH_X86_64, unix.SYS_IOCTL, [6]uint64{1: unix.TCGETS}, allow},
		{"ioctl second alternative", unix.AUDIT_ARCH_X86_64, unix.SYS_IOCTL, [6]uint64{1: unix.TIOCINQ}, allow},
		{"ioctl masked", unix.AUDIT_ARCH_X86_64, unix.SYS_IOCTL, [6]uint64{1: 0xc008ae67}, allow},
		{"ioctl other", unix.AUDIT_ARCH_X86_64, unix.SYS_IOCTL, [6]uint64{1: unix.TIOCSTI}, deny},
		{"ioctl eq high bits", unix.AUDIT_ARCH_X86_64, unix.SYS_IOCTL, [6]uint64{1: 1<<32 | unix.TCGETS}, deny},
		{"mmap data", unix.AUDIT_ARCH_X86_64, unix.SYS_MMAP, [6]uint64{2: unix.PROT_READ | unix.PROT_WRITE}, allow},
		{"mmap exec", unix.AUDIT_ARCH_X86_64, unix.SYS_MMAP, [6]uint64{2: unix.PROT_READ | unix.PROT_EXEC}, deny},
		{"thread", unix.AUDIT_ARCH_X86_64, unix.SYS_CLONE, [6]uint64{0: unix.CLONE_THREAD | unix.CLONE_VM | unix.CLONE_FS}, allow},
		{"fork", unix.AUDIT_ARCH_X86_64, unix.SYS_CLONE, [6]uint64{0: uint64(unix.SIGCHLD)}, deny},
		{"half a thread", unix.AUDIT_ARCH_X86_64, unix.SYS_CLONE, [6]uint64{0: unix.CLONE_THREAD}, deny},
		{"socket both hold", unix.AUDIT_ARCH_X86_64, unix.SYS_SOCKET, [6]uint64{0: unix.AF_INET, 1: unix.SOCK_STREAM}, allow},
		{"socket second fails", unix.AUDIT_ARCH_X86_64, unix.SYS_SOCKET, [6]uint64{0: unix.AF_INET, 1: 0x10}, deny},
		{"socket first fails", unix.AUDIT_ARCH_X86_64, unix.SYS_SOCKET, [6]uint64{0: unix.AF_PACKET, 1: unix.SOCK_STREAM}, deny},
	} {
		if got := run(t, f, c.arch, c.nr, c.args); got != c.want {
			t.Errorf("%s: got %#x, want %#x", c.name, got, c.want)
		}
	}
}

func TestBuildRefusesBadRules(t *testing.T) {
	if _, err := Build(unix.AUDIT_ARCH_X86_64, []Rule{{Nr: 1, Conds: []Cond{{Arg: 6, Op: Eq}}}}, deny); err == nil {
		t.Error("argument 6 accepted")
	}
	if _, err := Build(unix.AUDIT_ARCH_X86_64, []Rule{{Nr: 1, Conds: []Cond{{Arg: 0}}}}, deny); err == nil {
		t.Error("a condition without an op accepted")
	}
}
