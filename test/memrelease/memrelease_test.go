//go:build linux && amd64

// Package memrelease checks that the sentry's heap does not keep what
// programs that have ended left behind: after the program below, every
// task has exited and the sentry should hold about what it held before
// the program started.
//
//	go test ./test/memrelease/ -count=1 -v
package memrelease

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

// unshareLoop forks argv[1] children one after another; each unshares
// its mount namespace (what `unshare -m`, bubblewrap or a service with a
// private /tmp does) and exits.
const unshareLoop = `#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			if (unshare(CLONE_NEWNS) != 0) {
				perror("unshare");
				_exit(1);
			}
			_exit(0);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid || status != 0) {
			fprintf(stderr, "child %d: status %#x\n", i, status);
			return 1;
		}
	}
	return 0;
}
`

// namespaces is how many mount namespaces the program makes and leaves.
const namespaces = 2000

// objectsPerNamespace bounds the heap objects the sentry may still hold
// per ended namespace: a copy is a dozen objects or more (a root and a
// dentry for each mount, the mounts, their maps), so a sentry that keeps
// every copy holds several times the bound.
const objectsPerNamespace = 1

func TestEndedMountNamespacesAreFreed(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("no gcc to build the program: %v", err)
	}
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "unshare_loop.c")
	if err := os.WriteFile(src, []byte(unshareLoop), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "unshare_loop")
	if out, err := exec.Command(gcc, "-static", "-O1", "-o", prog, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	args := append(cocoonbin.Do(), "--", prog, strconv.Itoa(namespaces))
	cmd := exec.Command(cocoon, args...)
	cmd.Env = append(os.Environ(), sentrystats.Env+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cocoon do unshare_loop: %v\n%s", err, sentrystats.Summary(stderr.String()))
	}
	start, end, ok := sentrystats.Parse(stderr.String())
	if !ok {
		t.Fatalf("no sentry figures although %s is set\n%s", sentrystats.Env, stderr.String())
	}
	grown := end["heap_objects"] - start["heap_objects"]
	t.Logf("heap objects: %d at start, %d at exit after %d mount namespaces", start["heap_objects"], end["heap_objects"], namespaces)
	if grown > objectsPerNamespace*namespaces {
		t.Errorf("the sentry holds %d more heap objects after %d mount namespaces ended (allowed %d)\n%s",
			grown, namespaces, objectsPerNamespace*namespaces, sentrystats.Summary(stderr.String()))
	}
}
