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

// fifoLoop makes argv[1] FIFOs one after another at one path in
// argv[2] (one name, so that the dentry cache keeps one negative
// dentry, not one per FIFO); each is opened, written to, closed and
// removed (a shell script's mkfifo).
const fifoLoop = `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	char path[4096];
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/fifo", argv[2]);
		if (mkfifo(path, 0600) != 0) {
			perror("mkfifo");
			return 1;
		}
		int fd = open(path, O_RDWR);
		if (fd < 0 || write(fd, "x", 1) != 1) {
			perror(path);
			return 1;
		}
		close(fd);
		if (unlink(path) != 0) {
			perror("unlink");
			return 1;
		}
	}
	return 0;
}
`

// fifos is how many FIFOs the program makes and removes.
const fifos = 2000

// objectsPerFIFO bounds the heap objects the sentry may still hold per
// removed FIFO: a FIFO's pipe is several (the pipe, its buffer, its
// wait channel, the table's entry).
const objectsPerFIFO = 1

// lockLoop creates, locks (a POSIX record lock and a flock), closes and
// removes argv[1] files one after another at one path in argv[2] (a
// lock file per job; a new inode each time).
const lockLoop = `#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int n = atoi(argv[1]);
	char path[4096];
	snprintf(path, sizeof path, "%s/lockfile", argv[2]);
	for (int i = 0; i < n; i++) {
		int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
			perror(path);
			return 1;
		}
		close(fd);
		if (unlink(path) != 0) {
			perror("unlink");
			return 1;
		}
	}
	return 0;
}
`

// lockFiles is how many files the program locks and removes.
const lockFiles = 2000

// objectsPerLockFile bounds the heap objects the sentry may still hold
// per removed locked file: a file's lock state is a few (the state, its
// flock map, the table's entry).
const objectsPerLockFile = 1

func TestEndedMountNamespacesAreFreed(t *testing.T) {
	expectFreed(t, unshareLoop, namespaces, objectsPerNamespace, "mount namespaces ended")
}

func TestRemovedFIFOsAreFreed(t *testing.T) {
	expectFreed(t, fifoLoop, fifos, objectsPerFIFO, "FIFOs were used and removed", "/tmp")
}

func TestLocksOfRemovedFilesAreFreed(t *testing.T) {
	expectFreed(t, lockLoop, lockFiles, objectsPerLockFile, "files were locked and removed", "/tmp")
}

// expectFreed runs the C program src for count items (its first
// argument; args follow) and checks that the sentry holds at most
// perItem more heap objects for each once every task has exited; what
// says what the items went through.
func expectFreed(t *testing.T, src string, count, perItem int, what string, args ...string) {
	t.Helper()
	start, end, summary := runProgram(t, src, append([]string{strconv.Itoa(count)}, args...)...)
	grown := end["heap_objects"] - start["heap_objects"]
	t.Logf("heap objects: %d at start, %d at exit after %d %s", start["heap_objects"], end["heap_objects"], count, what)
	if grown > perItem*count {
		t.Errorf("the sentry holds %d more heap objects after %d %s (allowed %d)\n%s", grown, count, what, perItem*count, summary)
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
