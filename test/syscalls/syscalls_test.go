// Package syscalls_test is Cocoon's differential syscall test suite.
//
// Every *.c file in this directory is a small Linux program that checks one
// piece of syscall behaviour. TestMain compiles each one with `gcc -static`,
// creates a fixture directory and builds the cocoon binary. TestNative runs
// every program directly on the host kernel (the oracle); TestSandbox runs the
// same binary under `cocoon do`. Both must meet the program's expectation:
// exit status 0, or, for a program whose first line is `// expect: signal N`,
// death by signal N natively and exit status 128+N under cocoon.
//
// A program whose header comment has a line `// sandbox: pending REASON`
// checks behaviour the sandbox does not implement yet: TestNative judges it
// as usual, and TestSandbox still runs it but skips it while it fails, and
// fails once it passes (so that the marker is removed and it stays passing).
package syscalls_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

// runTimeout bounds one run of one test program.
const runTimeout = 30 * time.Second

// program is one compiled test program.
type program struct {
	name     string // file name without .c
	bin      string // path of the static binary
	buildErr error  // compile failure, with gcc's output
	signal   int    // expected fatal signal; 0 means expect exit status 0
	pending  string // reason from `// sandbox: pending REASON`; "" if none
	// sysctls are the `// sandbox: sysctl NAME=VALUE` settings the program
	// runs with: natively in a fresh IPC namespace that has them (the
	// sysctls a pod may set are per namespace), in the sandbox through
	// `cocoon do --sysctl`.
	sysctls []string
}

var (
	skipReason string     // set when the suite cannot run at all (no gcc)
	programs   []*program // sorted by name
	fixtureDir string     // argv[1] of every program

	cocoonBin  string        // path of the cocoon binary
	cocoonErr  error         // why there is no cocoon binary
	cocoonDone chan struct{} // closed once cocoonBin/cocoonErr are set
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	cocoonDone = make(chan struct{})
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		skipReason = "gcc not found in PATH (install it, e.g. via the Makefile): " + err.Error()
		close(cocoonDone)
		return m.Run()
	}

	tmp, err := os.MkdirTemp("", "cocoon-syscalls-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "syscalls_test:", err)
		return 2
	}
	// Resolve symlinks so that paths seen by the programs (getcwd) are
	// canonical.
	if r, err := filepath.EvalSymlinks(tmp); err == nil {
		tmp = r
	}
	// Keep the tree world-readable: the sandbox may not run as root.
	if err := os.Chmod(tmp, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "syscalls_test:", err)
		return 2
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		defer close(cocoonDone)
		cocoonBin, cocoonErr = buildCocoon(ctx, tmp)
	}()
	defer func() {
		cancel()
		bg.Wait()
	}()

	fixtureDir = filepath.Join(tmp, "fixture")
	if err := makeFixture(fixtureDir); err != nil {
		fmt.Fprintln(os.Stderr, "syscalls_test: creating fixture:", err)
		return 2
	}
	binDir := filepath.Join(tmp, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "syscalls_test:", err)
		return 2
	}
	if err := buildPrograms(gcc, binDir); err != nil {
		fmt.Fprintln(os.Stderr, "syscalls_test:", err)
		return 2
	}
	return m.Run()
}

// buildPrograms compiles every *.c in the package directory, in parallel.
func buildPrograms(gcc, binDir string) error {
	srcs, err := filepath.Glob("*.c")
	if err != nil {
		return err
	}
	if len(srcs) == 0 {
		return errors.New("no *.c test programs found")
	}
	sort.Strings(srcs)
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for _, src := range srcs {
		p := &program{
			name: strings.TrimSuffix(src, ".c"),
			bin:  filepath.Join(binDir, strings.TrimSuffix(src, ".c")),
		}
		programs = append(programs, p)
		p.signal, p.buildErr = parseExpect(src)
		if p.buildErr == nil {
			p.pending, p.sysctls, p.buildErr = parseSandboxLines(src)
		}
		if p.buildErr != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := exec.Command(gcc, "-static", "-O1", "-Wall", "-o", p.bin, src).CombinedOutput()
			if err != nil {
				p.buildErr = fmt.Errorf("gcc -static -O1 -Wall -o %s %s: %v\n%s", p.bin, src, err, out)
			}
		}()
	}
	wg.Wait()
	return nil
}

// parseExpect reads the expectation from the first line of a program:
// `// expect: signal N` means the program must die by signal N.
func parseExpect(src string) (int, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, sc.Err()
	}
	line := strings.TrimSpace(sc.Text())
	rest, ok := strings.CutPrefix(line, "// expect:")
	if !ok {
		return 0, nil
	}
	fields := strings.Fields(rest)
	if len(fields) != 2 || fields[0] != "signal" {
		return 0, fmt.Errorf("%s: malformed expect line %q (want `// expect: signal N`)", src, line)
	}
	n, err := strconv.Atoi(fields[1])
	if err != nil || n <= 0 || n >= 65 {
		return 0, fmt.Errorf("%s: bad signal number in %q", src, line)
	}
	return n, nil
}

// pendingPrefix starts the header line that marks a program whose
// behaviour the sandbox does not implement yet.
const pendingPrefix = "// sandbox:"

// parseSandboxLines reads the `// sandbox:` lines of the header comment of
// a program (its leading `//` lines): the reason of a `pending REASON`
// line, or "", and the NAME=VALUE of each `sysctl NAME=VALUE` line.
func parseSandboxLines(src string) (reason string, sysctls []string, err error) {
	f, err := os.Open(src)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "//") {
			break
		}
		rest, ok := strings.CutPrefix(line, pendingPrefix)
		if !ok {
			continue
		}
		kind, arg, _ := strings.Cut(strings.TrimSpace(rest), " ")
		arg = strings.TrimSpace(arg)
		switch {
		case kind == "pending" && arg != "" && reason == "":
			reason = arg
		case kind == "pending-on" && arg != "" && reason == "":
			// pending-on PLATFORM REASON: pending when the suite runs
			// on that platform (COCOON_PLATFORM) only.
			platform, why, _ := strings.Cut(arg, " ")
			if strings.TrimSpace(why) == "" {
				return "", nil, fmt.Errorf("%s: %q names no reason", src, line)
			}
			if os.Getenv("COCOON_PLATFORM") == platform {
				reason = platform + ": " + strings.TrimSpace(why)
			}
		case kind == "sysctl" && strings.Contains(arg, "="):
			sysctls = append(sysctls, arg)
		default:
			return "", nil, fmt.Errorf("%s: malformed or repeated sandbox line %q (want one `// sandbox: pending REASON` or `// sandbox: pending-on PLATFORM REASON`, or `// sandbox: sysctl NAME=VALUE` lines)", src, line)
		}
	}
	return reason, sysctls, sc.Err()
}

// makeFixture creates the read-only data the programs inspect. Its layout is
// mirrored in check.h and relied upon by the programs.
func makeFixture(dir string) error {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i % 251)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"small.txt", []byte("hello, cocoon\n")},
		{"big.bin", big},
		{"tail.bin", bytes.Repeat([]byte{'x'}, 4096+100)},
		{"empty", nil},
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o644); err != nil { // undo the umask
			return err
		}
	}
	mtime := time.Unix(1000000000, 0)
	if err := os.Chtimes(filepath.Join(dir, "small.txt"), mtime, mtime); err != nil {
		return err
	}
	if err := os.Link(filepath.Join(dir, "small.txt"), filepath.Join(dir, "hardlink")); err != nil {
		return err
	}
	links := [][2]string{ // name, target
		{"link", "small.txt"},
		{"dangling", "does-not-exist"},
		{"loop1", "loop2"},
		{"loop2", "loop1"},
		{"dirlink", "dir"},
	}
	for _, l := range links {
		if err := os.Symlink(l[1], filepath.Join(dir, l[0])); err != nil {
			return err
		}
	}
	// dir/: f000..f099 (empty files), sub/ (empty dir), lnk -> f000.
	d := filepath.Join(dir, "dir")
	if err := os.Mkdir(d, 0o755); err != nil {
		return err
	}
	for i := range 100 {
		p := filepath.Join(d, fmt.Sprintf("f%03d", i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(d, "sub"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("f000", filepath.Join(d, "lnk")); err != nil {
		return err
	}
	for _, p := range []string{dir, d, filepath.Join(d, "sub")} {
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// buildCocoon returns the cocoon binary: $COCOON_BIN if it names an existing
// file, else a fresh `go build ./cmd/cocoon` from the module root.
func buildCocoon(ctx context.Context, tmp string) (string, error) {
	if env := os.Getenv("COCOON_BIN"); env != "" {
		if st, err := os.Stat(env); err == nil && !st.IsDir() {
			return filepath.Abs(env)
		}
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			return "", fmt.Errorf("no go tool to build cocoon with: %v", err)
		}
	}
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	root := filepath.Dir(gomod)
	bin := filepath.Join(tmp, "cocoon")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/cocoon")
	cmd.Dir = root
	// If the suite finishes first (e.g. -run TestNative), stop the whole
	// build, compilers included.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("go build -o %s ./cmd/cocoon (in %s): %v\n%s", bin, root, err, out)
		if missing, _ := filepath.Glob(filepath.Join(root, "cmd", "cocoon", "*.go")); len(missing) == 0 {
			msg = "the sandbox does not exist yet: ./cmd/cocoon has no Go files\n" + msg
		}
		return "", errors.New(msg)
	}
	return bin, nil
}

func TestNative(t *testing.T) {
	forEach(t, func(t *testing.T, p *program) {
		var r result
		if len(p.sysctls) == 0 {
			r = run(p.bin, fixtureDir)
		} else {
			if os.Geteuid() != 0 {
				t.Skip("setting sysctls in a fresh IPC namespace needs root")
			}
			// unshare(1) gives the program an IPC namespace of its own
			// whose sysctls the shell sets before exec'ing it.
			script := ""
			for _, kv := range p.sysctls {
				name, value, _ := strings.Cut(kv, "=")
				script += fmt.Sprintf("printf '%%s\\n' '%s' > /proc/sys/%s && ", value, strings.ReplaceAll(name, ".", "/"))
			}
			// A net.* setting belongs to a network namespace: the
			// program gets its own so the host's stays as it is.
			flags := []string{"--ipc"}
			for _, kv := range p.sysctls {
				if strings.HasPrefix(kv, "net.") {
					flags = append(flags, "--net")
					break
				}
			}
			r = run("unshare", append(append(flags, "--", "/bin/sh", "-c", script+`exec "$0" "$@"`), p.bin, fixtureDir)...)
		}
		if msg := checkNative(p, r); msg != "" {
			t.Errorf("native %s: %s%s", p.name, msg, r.out)
		}
	})
}

func TestSandbox(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	<-cocoonDone
	if cocoonErr != nil {
		t.Fatalf("no cocoon binary (set COCOON_BIN to use a prebuilt one): %v", cocoonErr)
	}
	forEach(t, func(t *testing.T, p *program) {
		args := cocoonbin.Do()
		for _, kv := range p.sysctls {
			args = append(args, "--sysctl", kv)
		}
		r := run(cocoonBin, append(args, "--", p.bin, fixtureDir)...)
		msg := checkSandbox(p, r)
		switch {
		case p.pending == "" && msg != "":
			t.Errorf("cocoon do -- %s: %s%s", p.name, msg, r.out)
		case p.pending != "" && msg != "":
			t.Logf("cocoon do -- %s: %s%s", p.name, msg, r.out)
			t.Skipf("pending: %s", p.pending)
		case p.pending != "":
			t.Errorf("cocoon do -- %s: passes in the sandbox now: remove the pending marker (`%s pending %s`)%s",
				p.name, pendingPrefix, p.pending, r.out)
		}
	})
}

// forEach runs f as a parallel subtest per program. The number of subtests
// running at once is bounded by go test's -parallel flag (GOMAXPROCS by
// default: 2 on the CI machine).
func forEach(t *testing.T, f func(*testing.T, *program)) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			if p.buildErr != nil {
				t.Fatalf("build failed: %v", p.buildErr)
			}
			f(t, p)
		})
	}
}

// result is the outcome of one run.
type result struct {
	ws     *syscall.WaitStatus // nil if the command did not complete
	stdout string
	out    string // printable summary: why it did not complete, command, output
}

// run runs a command with stdin from /dev/null under the run timeout.
func run(name string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := result{stdout: stdout.String()}
	r.out = fmt.Sprintf("\ncommand: %s %s\n--- stdout:\n%s--- stderr:\n%s",
		name, strings.Join(args, " "), stdout.String(), stderr.String())
	switch {
	case ctx.Err() != nil:
		r.out = fmt.Sprintf(": timed out after %v%s", runTimeout, r.out)
	case cmd.ProcessState == nil:
		r.out = fmt.Sprintf(": cannot run: %v%s", err, r.out)
	default:
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		r.ws = &ws
	}
	return r
}

func describe(ws syscall.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	default:
		return fmt.Sprintf("wait status %#x", uint32(ws))
	}
}

// faultMarker is what a `// expect: signal N` program writes to stdout right
// before the access that must kill it (see about_to_fault in check.h), so
// that dying earlier, for a wrong reason, is not mistaken for a pass.
const faultMarker = "about to fault\n"

// checkNative returns "" if a native run meets p's expectation.
func checkNative(p *program, r result) string {
	if r.ws == nil {
		return "did not complete"
	}
	if p.signal != 0 {
		if !r.ws.Signaled() || int(r.ws.Signal()) != p.signal {
			return fmt.Sprintf("got %s, want death by signal %d", describe(*r.ws), p.signal)
		}
		return checkMarker(r)
	}
	if r.ws.Exited() && r.ws.ExitStatus() == 0 {
		return ""
	}
	return fmt.Sprintf("got %s, want exit status 0", describe(*r.ws))
}

// checkSandbox returns "" if a run under cocoon meets p's expectation:
// cocoon reports a program killed by signal N as exit status 128+N.
func checkSandbox(p *program, r result) string {
	if r.ws == nil {
		return "did not complete"
	}
	want := 0
	if p.signal != 0 {
		want = 128 + p.signal
	}
	if !r.ws.Exited() || r.ws.ExitStatus() != want {
		return fmt.Sprintf("got %s, want exit status %d", describe(*r.ws), want)
	}
	if p.signal != 0 {
		return checkMarker(r)
	}
	return ""
}

func checkMarker(r result) string {
	if r.stdout != faultMarker {
		return fmt.Sprintf("died as expected, but stdout is %q, want %q: it died before reaching the faulting access", r.stdout, faultMarker)
	}
	return ""
}
