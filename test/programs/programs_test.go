// Package programs runs real programs natively and inside `cocoon do` and
// requires identical output and exit status.
package programs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

var cocoon string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cocoon-programs")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cocoon, err = cocoonbin.Path(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is the fixed environment both runs get, so env(1) output compares.
var env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LANG=C", "COCOON_TEST=1"}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, sandboxed bool, dir string, argv ...string) result {
	t.Helper()
	// Generous: the 20,000-file tar scenario takes a minute on a loaded
	// 2-core machine; the bound only stops a hung program.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if sandboxed {
		argv = append(append(append([]string{cocoon}, cocoonbin.Do()...), "--"), argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return result{out.String(), errb.String(), code}
}

// same runs argv natively and in a sandbox and compares everything.
func same(t *testing.T, dir string, argv ...string) result {
	t.Helper()
	native := run(t, false, dir, argv...)
	sandbox := run(t, true, dir, argv...)
	if native.code != sandbox.code {
		t.Errorf("exit status: native %d, sandbox %d (sandbox stderr: %s)", native.code, sandbox.code, sandbox.stderr)
	}
	if native.stdout != sandbox.stdout {
		t.Errorf("stdout differs:\nnative:\n%s\nsandbox:\n%s", clip(native.stdout), clip(sandbox.stdout))
	}
	if native.stderr != sandbox.stderr {
		t.Errorf("stderr differs:\nnative:\n%s\nsandbox:\n%s", clip(native.stderr), clip(sandbox.stderr))
	}
	return sandbox
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}

func busybox(t *testing.T) string {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("busybox is not installed (make test installs busybox-static)")
	return ""
}

func TestBusyboxEcho(t *testing.T) {
	r := same(t, "/", busybox(t), "echo", "hello", "from", "a", "sandbox")
	if r.stdout != "hello from a sandbox\n" {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestBusyboxLsEtc(t *testing.T) {
	// Not "/etc": its ".." is the root, which the sandbox's writable
	// overlay merges, and overlayfs reports a merged directory's link
	// count as 1.
	same(t, "/", busybox(t), "ls", "-la", "/etc/apt")
}

func TestBusyboxShellArithmetic(t *testing.T) {
	r := same(t, "/", busybox(t), "sh", "-c", "x=1; echo $((x+41))")
	if r.stdout != "42\n" {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestExitStatus(t *testing.T) {
	r := same(t, "/", busybox(t), "sh", "-c", "exit 7")
	if r.code != 7 {
		t.Errorf("exit status %d, want 7", r.code)
	}
}

func TestMissingProgram(t *testing.T) {
	r := run(t, true, "/", "/no/such/program")
	if r.code != 127 || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("exit %d, stderr %q; want 127 and a clear message", r.code, r.stderr)
	}
}

// bigFile writes a 100 MB file with varied content and returns its path and
// sha256.
func bigFile(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	block := make([]byte, 1<<20)
	for i := 0; i < 100; i++ {
		for j := range block {
			block[j] = byte(i*31 + j*7 + j>>9)
		}
		f.Write(block)
		h.Write(block)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, fmt.Sprintf("%x", h.Sum(nil))
}

func TestSha256sum100MB(t *testing.T) {
	path, sum := bigFile(t)
	t.Run("busybox", func(t *testing.T) {
		r := same(t, "/", busybox(t), "sha256sum", path)
		if !strings.HasPrefix(r.stdout, sum) {
			t.Errorf("sum %q, want %s", r.stdout, sum)
		}
	})
	t.Run("host", func(t *testing.T) {
		r := same(t, "/", "/usr/bin/sha256sum", path)
		if !strings.HasPrefix(r.stdout, sum) {
			t.Errorf("sum %q, want %s", r.stdout, sum)
		}
	})
}

func TestHostLsUsrBin(t *testing.T) {
	same(t, "/", "/bin/ls", "-la", "/usr/bin")
}

func TestHostEnv(t *testing.T) {
	r := same(t, "/", "/usr/bin/env")
	if !strings.Contains(r.stdout, "COCOON_TEST=1") {
		t.Errorf("environment not passed: %q", r.stdout)
	}
}

func TestWorkingDirectory(t *testing.T) {
	r := same(t, "/usr/share", busybox(t), "pwd")
	if r.stdout != "/usr/share\n" {
		t.Errorf("pwd %q", r.stdout)
	}
}

func TestScript(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hello.sh")
	if err := os.WriteFile(script, []byte("#!"+busybox(t)+" sh\necho script says $1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := same(t, dir, script, "hi")
	if r.stdout != "script says hi\n" {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestSymlinksStayInsideRoot serves a tree whose symlinks point at a host
// file outside it: inside the sandbox they resolve within the served tree,
// so the host file is never read.
func TestSymlinksStayInsideRoot(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("HOST-SECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	data, err := os.ReadFile(busybox(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Symlink(secret, filepath.Join(root, "abs"))
	rel, _ := filepath.Rel(root, secret)
	os.Symlink(rel, filepath.Join(root, "rel"))
	os.Symlink("../../../../../../../../"+secret, filepath.Join(root, "dotdot"))
	for _, link := range []string{"/abs", "/rel", "/dotdot"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, cocoon, append(cocoonbin.Do(), "--root", root, "--", "/bin/busybox", "cat", link)...)
		cmd.Dir = "/"
		out, _ := cmd.CombinedOutput()
		cancel()
		if strings.Contains(string(out), "HOST-SECRET") {
			t.Errorf("cat %s read the host file outside the root: %q", link, out)
		}
		if !strings.Contains(string(out), "No such file") {
			t.Errorf("cat %s: %q, want No such file", link, out)
		}
	}
}
