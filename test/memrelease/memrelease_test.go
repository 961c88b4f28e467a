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

// churn does argv[1] times, one after another, what argv[2] names, in
// the directory argv[3]:
//
//   - unshare: fork a child that unshares its mount namespace (what
//     `unshare -m`, bubblewrap or a service with a private /tmp does)
//     and exits;
//   - fifo: make a FIFO, open it, write to it, close and remove it (a
//     shell script's mkfifo);
//   - lock: create a file, take a POSIX record lock and a flock on it,
//     close and remove it (a lock file per job; a new inode each time).
//
// Each item uses one path, so that the dentry cache keeps one negative
// dentry, not one per item.
const churn = `#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int unshare_once(void) {
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS) == 0 ? 0 : 1);
	int status;
	return waitpid(pid, &status, 0) == pid && status == 0 ? 0 : -1;
}

static int fifo_once(const char *path) {
	if (mkfifo(path, 0600) != 0)
		return -1;
	int fd = open(path, O_RDWR);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return -1;
	close(fd);
	return unlink(path);
}

static int lock_once(const char *path) {
	int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
		return -1;
	close(fd);
	return unlink(path);
}

int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	const char *mode = argv[2];
	char path[4096];
	snprintf(path, sizeof path, "%s/churn", argv[3]);
	for (int i = 0; i < n; i++) {
		int err = !strcmp(mode, "unshare") ? unshare_once()
		        : !strcmp(mode, "fifo")    ? fifo_once(path)
		        : !strcmp(mode, "lock")    ? lock_once(path)
		                                   : -1;
		if (err != 0) {
			fprintf(stderr, "%s %d: ", mode, i);
			perror("");
			return 1;
		}
	}
	return 0;
}
`

// How many items each test makes and leaves, and how many heap objects
// the sentry may still hold per item: a mount namespace's copy is a dozen
// objects or more (a root and a dentry for each mount, the mounts, their
// maps), a FIFO's pipe several (the pipe, its buffer, its wait channel,
// the table's entry), a file's lock state a few (the state, its flock
// map, the table's entry), so a sentry that keeps them holds several
// times the bound.
const (
	items          = 2000
	objectsPerItem = 1
)

func TestEndedMountNamespacesAreFreed(t *testing.T) {
	expectFreed(t, "unshare", "mount namespaces ended")
}

func TestRemovedFIFOsAreFreed(t *testing.T) {
	expectFreed(t, "fifo", "FIFOs were used and removed")
}

func TestLocksOfRemovedFilesAreFreed(t *testing.T) {
	expectFreed(t, "lock", "files were locked and removed")
}

// expectFreed runs churn's mode for items items and checks that the
// sentry holds at most objectsPerItem more heap objects for each once
// every task has exited; what says what the items went through.
func expectFreed(t *testing.T, mode, what string) {
	t.Helper()
	start, end, summary := runProgram(t, churn, strconv.Itoa(items), mode, "/tmp")
	grown := end["heap_objects"] - start["heap_objects"]
	t.Logf("heap objects: %d at start, %d at exit after %d %s", start["heap_objects"], end["heap_objects"], items, what)
	if grown > objectsPerItem*items {
		t.Errorf("the sentry holds %d more heap objects after %d %s (allowed %d)\n%s", grown, items, what, objectsPerItem*items, summary)
	}
}

// runProgram builds the C program src and runs it with args in a
// sandbox, and returns the sentry's figures at start and exit, and a
// summary of its report for a failure.
func runProgram(t *testing.T, src string, args ...string) (start, end map[string]int, summary string) {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skipf("no gcc to build the program: %v", err)
	}
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	srcPath := filepath.Join(dir, "prog.c")
	if err := os.WriteFile(srcPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "prog")
	if out, err := exec.Command(gcc, "-static", "-O1", "-o", prog, srcPath).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	cmd := exec.Command(cocoon, append(append(cocoonbin.Do(), "--", prog), args...)...)
	cmd.Env = append(os.Environ(), sentrystats.Env+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cocoon do %s: %v\n%s", prog, err, sentrystats.Summary(stderr.String()))
	}
	start, end, ok := sentrystats.Parse(stderr.String())
	if !ok {
		t.Fatalf("no sentry figures although %s is set\n%s", sentrystats.Env, stderr.String())
	}
	return start, end, sentrystats.Summary(stderr.String())
}
