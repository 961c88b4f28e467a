package programs

// Real programs that lean on the file system: each scenario runs as one
// shell script, inside `cocoon do` and natively, in a directory prepared
// natively under t.TempDir(). The sandbox sees that directory through its
// writable overlay and its writes vanish at exit, so the sandbox runs
// first and the native run then starts from the same pristine state.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

// need fails the test when a program the Makefile installs is missing.
func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed (make test installs it): %v", p, err)
		}
	}
}

// sameScript runs `/bin/sh -c script` in dir, in a sandbox and then
// natively, and requires identical stdout, stderr and exit status. It
// returns the sandbox's result and how long the sandbox run took.
func sameScript(t *testing.T, dir, script string) (result, time.Duration) {
	t.Helper()
	start := time.Now()
	sandbox := run(t, true, dir, "/bin/sh", "-c", script)
	took := time.Since(start)
	start = time.Now()
	native := run(t, false, dir, "/bin/sh", "-c", script)
	t.Logf("sandbox %v, native %v", took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if native.code != sandbox.code {
		t.Errorf("exit status: native %d, sandbox %d (sandbox stderr: %s)", native.code, sandbox.code, clip(sandbox.stderr))
	}
	if native.stdout != sandbox.stdout {
		t.Errorf("stdout differs:\nnative:\n%s\nsandbox:\n%s", clip(native.stdout), clip(sandbox.stdout))
	}
	if native.stderr != sandbox.stderr {
		t.Errorf("stderr differs:\nnative:\n%s\nsandbox:\n%s", clip(native.stderr), clip(sandbox.stderr))
	}
	return sandbox, took
}

// fsTreeFiles is the number of regular files makeTree writes.
const fsTreeFiles = 20000

// makeTree writes a deterministic tree of fsTreeFiles regular files under
// root: 20 top directories of 10 subdirectories of 100 files, of varied
// sizes and modes, plus symlinks (relative, absolute-in-tree, dangling) and
// hard links. The directories get a fixed mtime; the files keep their
// creation times, which tar records and restores whatever they are.
func makeTree(t *testing.T, root string) {
	t.Helper()
	mtime := time.Unix(1_600_000_000, 0)
	modes := []os.FileMode{0o644, 0o600, 0o755, 0o444, 0o640}
	buf := make([]byte, 0, 64<<10)
	n := 0
	var dirs []string
	for a := 0; a < 20; a++ {
		for b := 0; b < 10; b++ {
			dir := filepath.Join(root, fmt.Sprintf("d%02d", a), fmt.Sprintf("s%d", b))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, dir)
			for c := 0; c < 100; c++ {
				size := (n * 37) % 2048
				if n%1000 == 7 {
					size = 64<<10 + n // a few larger files
				}
				buf = buf[:0]
				for i := 0; len(buf) < size; i++ {
					buf = append(buf, fmt.Sprintf("%d:%d ", n, i)...)
				}
				buf = buf[:size]
				name := filepath.Join(dir, fmt.Sprintf("f%03d", c))
				if err := os.WriteFile(name, buf, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(name, modes[n%len(modes)]); err != nil {
					t.Fatal(err)
				}
				switch {
				case c%10 == 3:
					os.Symlink(fmt.Sprintf("f%03d", c), filepath.Join(dir, fmt.Sprintf("l%03d", c)))
				case c%25 == 4:
					os.Symlink(fmt.Sprintf("../s%d/f%03d", (b+1)%10, c), filepath.Join(dir, fmt.Sprintf("r%03d", c)))
				case c == 99:
					os.Symlink("does-not-exist", filepath.Join(dir, "dangling"))
				case c%20 == 5:
					if err := os.Link(name, filepath.Join(dir, fmt.Sprintf("h%03d", c))); err != nil {
						t.Fatal(err)
					}
				}
				n++
			}
		}
	}
	for _, d := range []string{"empty", "deep/a/b/c/d/e/f/g/h"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "deep/a/b/c/d/e/f/g/h/leaf"), []byte("leaf\n"), 0o644)
	os.Chmod(filepath.Join(root, "d01"), 0o700)
	os.Chmod(filepath.Join(root, "d02/s3"), 0o750)
	// Directory mtimes last, deepest first, once nothing more is added.
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Chtimes(dirs[i], mtime, mtime)
	}
}

// TestFSTarExtract20000 extracts a tarball of a 20,000-file tree and
// compares the result with the source with diff -r, then compares every
// entry's type, mode, link count, size and mtime.
func TestFSTarExtract20000(t *testing.T) {
	need(t, "tar", "diff", "find", "stat", "md5sum")
	dir := t.TempDir()
	start := time.Now()
	makeTree(t, filepath.Join(dir, "src"))
	if out, err := exec.Command("tar", "-C", dir, "-cf", filepath.Join(dir, "tree.tar"), "src").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	t.Logf("writing the tree and its tarball natively took %v", time.Since(start).Round(time.Millisecond))
	r, took := sameScript(t, dir, `
set -e
mkdir dst
tar -xf tree.tar -C dst
diff -r --no-dereference src dst/src && echo same
find dst | wc -l
find dst -type f | wc -l
list() { (cd "$1" && find src -exec stat -c '%n %F %a %h %s %Y %N' {} + | sort); }
list . >a.txt
list dst >b.txt
cmp a.txt b.txt && echo metadata same
md5sum <b.txt
tar -cf - -C dst src --sort=name --owner=0 --group=0 --numeric-owner | md5sum
`)
	t.Logf("20,000-file extraction script in the sandbox took %v", took)
	if !strings.HasPrefix(r.stdout, "same\n") || !strings.Contains(r.stdout, "metadata same\n") {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestFSSqliteConcurrentWriters runs several sqlite3 processes inserting
// into one database at once, each insert its own BEGIN IMMEDIATE
// transaction (fcntl record locks, fsync, journal create/unlink), then
// checks the row count and the database's integrity. The wal variant
// shares the -shm file through MAP_SHARED mappings between processes.
func TestFSSqliteConcurrentWriters(t *testing.T) {
	need(t, "sqlite3", "sort")
	for _, mode := range []string{"delete", "wal"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			r, _ := sameScript(t, dir, `
set -e
sqlite3 db 'pragma journal_mode=`+mode+`; create table t(w integer, i integer, pad text);' >/dev/null
writer() {
	i=1
	while [ $i -le 100 ]; do
		echo "BEGIN IMMEDIATE; INSERT INTO t VALUES($1, $i, hex(randomblob(200))); COMMIT;"
		i=$((i+1))
	done | sqlite3 -bail -cmd '.timeout 60000' db || rc=$?
	echo "writer $1 exit ${rc:-0}"
}
writer 1 >w1 2>&1 & writer 2 >w2 2>&1 & writer 3 >w3 2>&1 & writer 4 >w4 2>&1 &
wait
cat w1 w2 w3 w4
sqlite3 db 'pragma journal_mode; select count(*), count(distinct w), sum(i) from t; select w, count(*) from t group by w order by w; pragma integrity_check;'
`)
			if !strings.Contains(r.stdout, "400|4|20200\n") || !strings.HasSuffix(r.stdout, "ok\n") {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}

// TestFSGit makes a repository with two commits, with fixed identities and
// dates so that every object hash matches the native run.
func TestFSGit(t *testing.T) {
	need(t, "git")
	dir := t.TempDir()
	r, _ := sameScript(t, dir, `
set -e
export GIT_AUTHOR_NAME=Cocoon GIT_AUTHOR_EMAIL=cocoon@example.com
export GIT_COMMITTER_NAME=Cocoon GIT_COMMITTER_EMAIL=cocoon@example.com
export GIT_AUTHOR_DATE='2024-01-02T03:04:05Z' GIT_COMMITTER_DATE='2024-01-02T03:04:05Z'
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
git -c init.defaultBranch=main init -q repo
cd repo
echo hello >a.txt
mkdir -p sub/deeper
printf 'line %s\n' 1 2 3 >sub/b.txt
echo '#!/bin/sh' >sub/deeper/run.sh
chmod +x sub/deeper/run.sh
ln -s a.txt link
git add .
git commit -q -m first
echo more >>a.txt
git mv sub/b.txt sub/c.txt
git rm -q --cached link
rm link
git commit -q -am second
git status --porcelain
git log --format='%H %T %s'
git ls-tree -r HEAD
git cat-file -p HEAD~1:sub/b.txt
git diff --stat HEAD~1 HEAD
git gc -q
git fsck --strict 2>&1
git count-objects -v | grep -v size
`)
	if !strings.Contains(r.stdout, " second\n") {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestFSGcc compiles a two-file C program with gcc (cc1, as and ld all
// write and read temporary files) and runs it.
func TestFSGcc(t *testing.T) {
	need(t, "gcc")
	dir := t.TempDir()
	files := map[string]string{
		"sum.h": "long sum_squares(long n);\n",
		"sum.c": "#include \"sum.h\"\nlong sum_squares(long n) { long s = 0; for (long i = 0; i < n; i++) s += i * i; return s; }\n",
		"main.c": `#include <stdio.h>
#include <stdlib.h>
#include "sum.h"
int main(int argc, char **argv) {
	FILE *f = fopen("out.txt", "w");
	for (int i = 0; i < 1000; i++)
		fprintf(f, "%d %ld\n", i, sum_squares(i));
	fclose(f);
	f = fopen("out.txt", "r");
	long lines = 0, last = 0;
	int i;
	while (fscanf(f, "%d %ld", &i, &last) == 2)
		lines++;
	fclose(f);
	printf("%s: %ld lines, last %ld\n", argv[0], lines, last);
	return argc > 1 ? atoi(argv[1]) : 0;
}
`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := sameScript(t, dir, `
gcc -O2 -Wall -c sum.c -o sum.o || exit 1
gcc -O2 -Wall -o prog main.c sum.o || exit 1
gcc -O2 -static -o prog-static main.c sum.c || exit 1
./prog 3; echo "exit $?"
./prog-static; echo "exit $?"
`)
	if !strings.Contains(r.stdout, "./prog: 1000 lines, last 331835499\nexit 3\n") {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestFSPythonCompileall byte-compiles a package with compileall (both the
// __pycache__ layout and the legacy one next to the sources), removes the
// sources and imports the package from its .pyc files alone.
func TestFSPythonCompileall(t *testing.T) {
	need(t, "python3")
	dir := t.TempDir()
	mtime := time.Unix(1_700_000_000, 0)
	for name, src := range map[string]string{
		"pkg/__init__.py":     "from .util import double\nVERSION = '1.0'\n",
		"pkg/util.py":         "def double(x):\n    return 2 * x\n",
		"pkg/sub/__init__.py": "",
		"pkg/sub/calc.py":     "from ..util import double\n\ndef run():\n    return [double(i) for i in range(5)]\n",
		"main.py":             "import pkg, pkg.sub.calc as c\nprint(pkg.VERSION, c.run(), pkg.util.__file__.split('/')[-1], c.__cached__)\n",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	r, _ := sameScript(t, dir, `
set -e
python3 -m compileall -q pkg
find pkg -name '*.pyc' | sort | xargs md5sum
python3 main.py
python3 -m compileall -q -b pkg
find pkg -name '*.py' -delete
rm -r pkg/__pycache__ pkg/sub/__pycache__
find pkg | sort
python3 -B main.py
`)
	if !strings.Contains(r.stdout, "1.0 [0, 2, 4, 6, 8] util.pyc ") {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestFSFind walks the whole root. The sandbox's root is one overlay file
// system over the host's "/", while its /proc, /dev and /sys are its own
// mounts, so `find / -xdev` stops at different places than natively (and
// the native walk crosses no mounts that the sandbox has, and vice versa).
// Within /usr, which is one file system in both, the walks must agree
// exactly; for "/" the count only needs to be close to native (within 1%).
func TestFSFind(t *testing.T) {
	need(t, "find", "sort", "wc", "md5sum")
	r, _ := sameScript(t, "/", `
find /usr -xdev | wc -l
find /usr/share/doc -xdev | sort | md5sum
find /usr/share/doc -xdev -type f -print0 | sort -z | head -z -n 2000 | xargs -0 cat | md5sum
`)
	if strings.Contains(r.stderr, "Too many open files") {
		t.Errorf("the sandbox ran out of file descriptors walking /usr")
	}
	// The walk skips trees other tests (and the go command's caches)
	// change while this one runs: native and sandbox walks happen at
	// different moments.
	const walk = `find / -xdev \( -path /tmp -o -path /var/tmp -o -path /root -o -path /home -o -path /work -o -path /var/cache -o -path /var/log -o -path /var/lib/cocoon \) -prune -o -print | wc -l`
	native := run(t, false, "/", "/bin/sh", "-c", walk)
	sandbox := run(t, true, "/", "/bin/sh", "-c", walk)
	if sandbox.code != 0 {
		t.Errorf("sandbox find / -xdev: exit %d, stderr %s", sandbox.code, clip(sandbox.stderr))
	}
	n, err1 := strconv.Atoi(strings.TrimSpace(native.stdout))
	s, err2 := strconv.Atoi(strings.TrimSpace(sandbox.stdout))
	if err1 != nil || err2 != nil {
		t.Fatalf("counts: native %q, sandbox %q", native.stdout, sandbox.stdout)
	}
	t.Logf("find / -xdev: native %d entries, sandbox %d", n, s)
	if d := n - s; d*100 > n || -d*100 > n {
		t.Errorf("find / -xdev: native %d entries, sandbox %d: more than 1%% apart", n, s)
	}
}

// TestFSReadsSeeChangesOfLowerFiles reads files that lie in the lower layer
// of the sandbox's overlay often enough for the sentry to map them, then
// changes them through other descriptors, another name and another
// process, and reads the first descriptors again: each read must show the
// file as it now is, as natively. A host overlay copies a file up when it
// is first written, and a mapping made before keeps the lower copy.
func TestFSReadsSeeChangesOfLowerFiles(t *testing.T) {
	need(t, "python3")
	dir := t.TempDir()
	for i := range 5 {
		data := make([]byte, 256<<10)
		for j := range data {
			data[j] = byte('a' + (i+j/4096)%26)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "check.py"), []byte(`
import os, subprocess, zlib

def warm(fd):
    for i in range(40):
        os.pread(fd, 4096, (i * 7 % 64) * 4096)

def show(what, fd, off, n):
    b = os.pread(fd, n, off)
    print(what, len(b), zlib.crc32(b), b[:12])

ro = [os.open("f%d" % i, os.O_RDONLY) for i in range(5)]
for fd in ro:
    warm(fd)

# The same name, opened for writing.
w = os.open("f0", os.O_RDWR)
os.pwrite(w, b"CHANGED-BY-W", 4090)
show("f0 written", ro[0], 4088, 20)

# Another name of the same file.
os.link("f1", "f1-link")
w = os.open("f1-link", os.O_RDWR)
os.pwrite(w, b"VIA-THE-LINK", 100)
show("f1 via link", ro[1], 96, 20)

# truncate(2) and O_TRUNC.
os.truncate("f2", 5000)
show("f2 truncated", ro[2], 4000, 4096)
show("f2 past end", ro[2], 8192, 4096)
os.close(os.open("f3", os.O_WRONLY | os.O_TRUNC))
show("f3 O_TRUNC", ro[3], 0, 4096)

# Another process appends; the old descriptor reads on past the old end
# with read(2) at its offset.
os.lseek(ro[4], (256 << 10) - 10, os.SEEK_SET)
subprocess.run(["sh", "-c", "printf 'APPENDED-BY-SHELL' >> f4"], check=True)
b = os.read(ro[4], 100)
print("f4 appended", len(b), b)
b = os.read(ro[4], 100)
print("f4 at end", len(b))

# Sequential reads of a whole file after the changes.
for i in range(5):
    fd = os.open("f%d" % i, os.O_RDONLY)
    total, crc = 0, 0
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        total += len(b)
        crc = zlib.crc32(b, crc)
    print("f%d whole" % i, total, crc)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := sameScript(t, dir, "python3 check.py")
	if !strings.Contains(r.stdout, "aaCHANGED-BY") || !strings.Contains(r.stdout, "APPENDED-BY-SHELL") {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestStoreFullDisk fills the disk the root's writable layer keeps its data
// on (the store, in $TMPDIR): the program's write fails with ENOSPC, as on
// a full disk natively, the sandbox goes on, and a file removed gives its
// space back.
func TestStoreFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	disk := t.TempDir()
	if err := syscall.Mount("cocoon-store-full", disk, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("mounting tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(disk, syscall.MNT_DETACH) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// dd's complaint stays in the shell: the layer has no room for it.
	script := `err=$(dd if=/dev/zero of=/var/big bs=1M count=16 2>&1); echo "dd $?"; echo "$err" | grep -c 'No space left on device'
rm /var/big; dd if=/dev/zero of=/var/big bs=1M count=4 2>/dev/null; echo "again $?"; wc -c < /var/big`
	cmd := exec.CommandContext(ctx, cocoon, append(cocoonbin.Do(), "--overlay", "store", "--", "/bin/sh", "-c", script)...)
	cmd.Env = append(append([]string{}, env...), "TMPDIR="+disk)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "dd 1\n1\nagain 0\n4194304\n"; string(out) != want {
		t.Errorf("output %q, want %q", out, want)
	}
}
