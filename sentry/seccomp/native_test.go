//go:build linux && amd64

package seccomp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The native differential test runs programs on the host kernel's seccomp
// and compares with Compile and Run. It is opt-in
// (COCOON_SECCOMP_NATIVE=1; COCOON_SECCOMP_NATIVE_N=count for more random
// programs with a random seed) because it needs seccomp(2) on the host: each
// batch runs in a child process (this test binary again) that installs
// filters on one of its threads. To observe a 32-bit result through
// SECCOMP_RET_ERRNO's 12 usable bits, the child installs each accepted
// program three times, with every RET rewritten into a jump to an
// epilogue returning ERRNO(bits of the result); a prefix makes each filter
// act only on the calls that carry its magic number in the high word of
// the sixth argument, and allow everything else (the Go runtime's calls).

const (
	nativeEnv       = "COCOON_SECCOMP_NATIVE"
	nativeChildEnv  = "COCOON_SECCOMP_NATIVE_CHILD"
	magicValidation = 0xc0de0000
	magicIP         = 0xc0de0001
	magicBase       = 0xc0de1000
	magicOffset     = 60 // high word of args[5]
)

type nativeCase struct {
	Prog    []Instruction
	OrigRax uint64
	Args    [6]uint64
	Magic   uint32
}

type nativeResult struct {
	// Errno is the kernel's answer to installing the program (0: loaded).
	Errno int
	// Parts are the 12+12+8 bits of the result, or Err for a rewritten
	// program the kernel refused.
	Parts [3]uint32
	Err   string
}

type nativeReport struct {
	IP      uint64
	Results []nativeResult
	Err     string
}

func observationPrefix(magic uint32) []Instruction {
	return []Instruction{
		Stmt(Ld|W|Abs, magicOffset),
		Jump(Jmp|Jeq|K, magic, 1, 0),
		Stmt(Ret|K, RetAllow),
		Stmt(Ld|Imm, 0), // programs start with A = 0
	}
}

var observationParts = [3]struct{ shift, mask uint32 }{{0, 0xfff}, {12, 0xfff}, {24, 0xff}}

// observe rewrites p (a program the kernel accepted) so that it returns
// ERRNO((result >> shift) & mask) for calls with magic.
func observe(p []Instruction, magic, shift, mask uint32) ([]Instruction, bool) {
	out := observationPrefix(magic)
	pos := make([]int, len(p))
	cur := len(out)
	for i, in := range p {
		pos[i] = cur
		switch in.Code {
		case Ret | K:
			cur += 2
		default:
			cur++
		}
	}
	epi := cur
	rel := func(from, to int) (uint32, bool) {
		d := to - from - 1
		return uint32(d), d >= 0
	}
	for i, in := range p {
		switch in.Code {
		case Ret | K:
			k, _ := rel(pos[i]+1, epi)
			out = append(out, Stmt(Ld|Imm, in.K), Stmt(Jmp|Ja, k))
		case Ret | A:
			k, _ := rel(pos[i], epi)
			out = append(out, Stmt(Jmp|Ja, k))
		case Jmp | Ja:
			k, _ := rel(pos[i], pos[i+1+int(in.K)])
			out = append(out, Stmt(Jmp|Ja, k))
		case Jmp | Jeq | K, Jmp | Jeq | X, Jmp | Jgt | K, Jmp | Jgt | X,
			Jmp | Jge | K, Jmp | Jge | X, Jmp | Jset | K, Jmp | Jset | X:
			jt, _ := rel(pos[i], pos[i+1+int(in.JT)])
			jf, _ := rel(pos[i], pos[i+1+int(in.JF)])
			if jt > 255 || jf > 255 {
				return nil, false
			}
			out = append(out, Jump(in.Code, in.K, uint8(jt), uint8(jf)))
		default:
			out = append(out, in)
		}
	}
	return append(out,
		Stmt(Alu|Rsh|K, shift), Stmt(Alu|And|K, mask), Stmt(Alu|Or|K, RetErrno), Stmt(Ret|A, 0)), true
}

func nativeInstall(insns []Instruction) unix.Errno {
	fprog := unix.SockFprog{Len: uint16(len(insns)), Filter: (*unix.SockFilter)(unsafe.Pointer(&insns[0]))}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, OpSetModeFilter, 0, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(insns)
	return e
}

// nativeCall makes a system call and returns the errno a filter's
// SECCOMP_RET_ERRNO set (Go's wrappers take rax = -4095 for a success).
//
//go:noinline
func nativeCall(origRax uint64, args [6]uint64) uint32 {
	r1, _, e := unix.RawSyscall6(uintptr(origRax), uintptr(args[0]), uintptr(args[1]), uintptr(args[2]), uintptr(args[3]), uintptr(args[4]), uintptr(args[5]))
	if e != 0 {
		return uint32(e)
	}
	return uint32(-int64(r1))
}

// TestNativeChild is the child side; it does nothing in normal runs.
func TestNativeChild(t *testing.T) {
	if os.Getenv(nativeChildEnv) != "1" {
		t.Skip("only run as the native test's child")
	}
	var cases []nativeCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		t.Fatal(err)
	}
	rep := nativeChild(cases)
	b, _ := json.Marshal(rep)
	fmt.Printf("\nRESULT:%s\n", b)
	os.Exit(0)
}

func nativeChild(cases []nativeCase) (rep nativeReport) {
	// The filters go on this thread only, which stays locked to this
	// goroutine until the process exits.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		rep.Err = "PR_SET_NO_NEW_PRIVS: " + err.Error()
		return
	}
	// Learn the instruction pointer of nativeCall's system call.
	for i, part := range []struct{ off, shift, mask uint32 }{
		{8, 0, 0xfff}, {8, 12, 0xfff}, {8, 24, 0xff}, {12, 0, 0xfff}, {12, 12, 0xfff}, {12, 24, 0xff},
	} {
		prog := append(observationPrefix(magicIP),
			Stmt(Ld|W|Abs, part.off), Stmt(Alu|Rsh|K, part.shift), Stmt(Alu|And|K, part.mask),
			Stmt(Alu|Or|K, RetErrno), Stmt(Ret|A, 0))
		if e := nativeInstall(prog); e != 0 {
			rep.Err = "installing the IP filter: " + e.Error()
			return
		}
		v := uint64(nativeCall(unix.SYS_GETPID, [6]uint64{5: magicIP << 32}))
		rep.IP |= v << (32*uint32(i/3) + part.shift)
	}
	for _, c := range cases {
		var res nativeResult
		validation := append(observationPrefix(magicValidation), c.Prog...)
		res.Errno = int(nativeInstall(validation))
		if res.Errno == 0 {
			for r, part := range observationParts {
				prog, ok := observe(c.Prog, c.Magic, part.shift, part.mask)
				if !ok {
					res.Err = "jump too long after rewriting"
					break
				}
				if e := nativeInstall(prog); e != 0 {
					res.Err = "rewritten program refused: " + e.Error()
					break
				}
				res.Parts[r] = nativeCall(c.OrigRax, c.Args)
			}
		}
		rep.Results = append(rep.Results, res)
	}
	return rep
}

// nativeEdgeCases are programs worth checking against the kernel on top
// of the random ones.
func nativeEdgeCases() [][]Instruction {
	ret := Stmt(Ret|K, RetAllow)
	return [][]Instruction{
		{Jump(Jmp|Jeq|K, 0, 0, 2), Stmt(St, 0), Stmt(Jmp|Ja, 1), ret, Stmt(Ld|Mem, 0), Stmt(Ret|A, 0)},
		{Stmt(St, 0), Jump(Jmp|Jeq|K, 0, 1, 0), ret, Stmt(Ld|Mem, 0), Stmt(Ret|A, 0)},
		{Stmt(Ld|Imm, 21), Stmt(Ldx|Imm, 33), Stmt(Alu|Lsh|X, 0), Stmt(Ret|A, 0)},
		{Stmt(Ld|Imm, 0x80000000), Stmt(Ldx|Imm, 0xffffffff), Stmt(Alu|Rsh|X, 0), Stmt(Ret|A, 0)},
		{Stmt(Ld|Imm, 0x80000000), Stmt(Alu|Neg, 0), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Len, 0), Stmt(Ldx|W|Len, 0), Stmt(Alu|Add|X, 0), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Abs, 0), Stmt(Alu|Mod|K, 7), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Abs, 0), Stmt(Alu|Xor|K, 7), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Abs, 2), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Abs, 64), Stmt(Ret|A, 0)},
		{Stmt(Ld|H|Abs, 0), Stmt(Ret|A, 0)},
		{Stmt(Alu|Div|K, 0), Stmt(Ret|A, 0)},
		{Stmt(Alu|Lsh|K, 32), Stmt(Ret|A, 0)},
		{Stmt(Jmp|Ja, 1), ret},
		{Jump(Jmp|Jeq|K, 0, 1, 0), ret},
		{Stmt(Ld|Imm, 0)},
		{Stmt(Ret|X, 0)},
		{Stmt(Ldx|Mem, 3), ret},
		{Stmt(St, 16), ret},
		{Stmt(Ld|W|Abs, 0), Stmt(Alu|Div|K, 7), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Abs, 16), Stmt(Ldx|Imm, 3), Stmt(Alu|Div|X, 0), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Abs, 20), Stmt(Alu|Mul|K, 0x9e3779b9), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Abs, 24), Stmt(Misc|Tax, 0), Stmt(Ld|W|Abs, 28), Stmt(Alu|Sub|X, 0), Stmt(Ret|A, 0)},
		{Stmt(Ld|W|Abs, 0), Jump(Jmp|Jset|K, 0x80000000, 0, 1), Stmt(Ret|K, 1), Stmt(Ret|K, 2)},
	}
}

func TestNativeDifferential(t *testing.T) {
	if os.Getenv(nativeEnv) != "1" {
		t.Skip("set " + nativeEnv + "=1 to compare with the host kernel's seccomp")
	}
	n, seed := 700, int64(4)
	if v, err := strconv.Atoi(os.Getenv(nativeEnv + "_N")); err == nil {
		n, seed = v, time.Now().UnixNano()
	}
	t.Logf("%d random programs, seed %d", n, seed)
	r := rand.New(rand.NewSource(seed))
	var progs [][]Instruction
	progs = append(progs, nativeEdgeCases()...)
	for i := 0; i < n; i++ {
		progs = append(progs, randomProgram(r, 1+r.Intn(40), i%3 != 0, true))
	}
	var batch []nativeCase
	cost := 0
	accepted, compared := 0, 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		rep := runNativeChild(t, batch)
		for i, c := range batch {
			res := rep.Results[i]
			_, err := Compile(c.Prog)
			if (err == nil) != (res.Errno == 0) || (err != nil && res.Errno != int(unix.EINVAL)) {
				t.Errorf("program %v: Compile error %v, kernel errno %d", c.Prog, err, res.Errno)
				continue
			}
			if err != nil {
				continue
			}
			accepted++
			if res.Err != "" {
				t.Logf("program %v: %s", c.Prog, res.Err)
				continue
			}
			d := NewData(c.OrigRax, rep.IP, c.Args)
			kernel := res.Parts[0] | res.Parts[1]<<12 | res.Parts[2]<<24
			p, _ := Compile(c.Prog)
			if got := p.Run(d); got != kernel {
				t.Errorf("program %v on %+v: Run = %#x, kernel %#x", c.Prog, d, got, kernel)
			}
			compared++
		}
		batch, cost = nil, 0
	}
	for i, prog := range progs {
		magic := uint32(magicBase + i)
		d := randomData(r)
		// Linux lets uretprobe (335) and uprobe (336) bypass seccomp
		// (seccomp_uprobe_exception, Linux 6.11+); the sentry, which
		// has neither, filters them like any other number.
		if d.Nr == 335 || d.Nr == 336 {
			d.Nr = 39
		}
		origRax := uint64(uint32(d.Nr))
		if r.Intn(4) == 0 {
			origRax |= uint64(r.Uint32()) << 32
		}
		d.Args[5] = d.Args[5]&0xffffffff | uint64(magic)<<32
		// Filter instructions this case costs the child's stack, at most.
		c := len(prog) + 8 + 3*(2*len(prog)+12)
		if cost+c > MaxPathInstructions-200 {
			flush()
		}
		batch = append(batch, nativeCase{Prog: prog, OrigRax: origRax, Args: d.Args, Magic: magic})
		cost += c
	}
	flush()
	t.Logf("%d programs, %d accepted by both, %d results compared", len(progs), accepted, compared)
	if compared < len(progs)/4 {
		t.Errorf("only %d results compared", compared)
	}
}

func runNativeChild(t *testing.T, cases []nativeCase) nativeReport {
	t.Helper()
	in, _ := json.Marshal(cases)
	cmd := exec.Command(os.Args[0], "-test.run=^TestNativeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), nativeChildEnv+"=1")
	cmd.Stdin = bytes.NewReader(in)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "RESULT:"); ok {
			var rep nativeReport
			if err := json.Unmarshal([]byte(line), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Err != "" {
				t.Fatalf("child: %s", rep.Err)
			}
			if len(rep.Results) != len(cases) {
				t.Fatalf("child answered %d of %d cases", len(rep.Results), len(cases))
			}
			return rep
		}
	}
	t.Fatalf("no result from the child:\n%s", out.String())
	return nativeReport{}
}
