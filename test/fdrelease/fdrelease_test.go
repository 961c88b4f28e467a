//go:build linux && amd64

// Package fdrelease checks that the sandbox gives back the host resources
// of files its programs remove: a removed file's donated host descriptor
// and its gofer FID (which keeps the file's blocks allocated on the host)
// go when the last open file of it closes, not when the sentry's dentry
// cache or garbage collector gets round to it.
//
//	go test ./test/fdrelease/ -count=1 -v
package fdrelease

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
	"github.com/cocoonrt/cocoon/test/internal/sentrystats"
)

// files is how many files the program creates and removes: well over
// nofile, so that removed files kept open on the host (until the dentry
// cache evicts them, 8000 names later) exhaust the limit.
const files = 3000

// nofile is the descriptor limit `cocoon do` (and so the gofer and the
// sentry) runs under: far above what the sandbox needs at any one time
// here, far below what it would need if removed files kept their host
// descriptors, so that a leak makes the program fail while it runs.
const nofile = 1024

// fdSlack is how many more host descriptors the sentry may hold after the
// program than before it started.
const fdSlack = 16

func TestRemovedFilesGiveBackHostDescriptors(t *testing.T) {
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	churn := filepath.Join(dir, "churn")
	build := exec.Command("go", "build", "-o", churn, "./churn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building churn: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-c", `ulimit -n ` + strconv.Itoa(nofile) + ` && exec "$0" "$@"`, cocoon}, cocoonbin.Do()...)
	args = append(args, "--", churn, "-dir", work, "-n", strconv.Itoa(files))
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = append(os.Environ(), sentrystats.Env+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cocoon do churn (descriptor limit %d): %v\nstdout:\n%s\nstderr:\n%s", nofile, err, stdout.String(), sentrystats.Summary(stderr.String()))
	}
	starts, ends, ok := sentrystats.Parse(stderr.String())
	if !ok {
		t.Fatalf("no sentry figures although COCOON_SENTRY_STATS is set\nstderr:\n%s", stderr.String())
	}
	start, end := starts["host_fds"], ends["host_fds"]
	t.Logf("host descriptors: %d at start, %d at exit", start, end)
	if end > start+fdSlack {
		t.Errorf("the sentry holds %d host descriptors after creating and removing %d files, %d at start (allowed %d more)", end, files, start, fdSlack)
	}
}
