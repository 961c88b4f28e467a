package gofer

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/caps"
	hs "github.com/cocoonrt/cocoon/internal/hostseccomp"
)

// confineHelperEnv makes the test binary, re-executed, act as a gofer
// ("serve": Main with the arguments) or as a confined probe ("probe":
// confine, then make the call os.Args[1] names; os.Args[2] is the tree).
const confineHelperEnv = "COCOON_GOFER_CONFINE_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(confineHelperEnv) {
	case "serve":
		os.Exit(Main(os.Args[1:]))
	case "probe":
		os.Exit(confineProbe(os.Args[1], os.Args[2]))
	}
	// The other tests call Main in this process, which must stay
	// unconfined; the tests below confine child processes.
	skipConfine = true
	os.Exit(m.Run())
}

// confineProbe confines the process to tree and then runs probe. It
// returns 0 if the probe came back (whatever it printed), 3 if confining
// failed.
func confineProbe(probe, tree string) int {
	probe, legacyMounts = strings.CutSuffix(probe, "-legacy")
	if err := checkOwnMountNS(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if _, err := confineMounts([]Tree{{Path: tree, ReadOnly: true}}, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if err := restrictProcess(os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	switch probe {
	case "runtime":
		// What the Go runtime does on its own while serving: new
		// threads, garbage collection, returning memory, timers,
		// preemption.
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // forces a new thread each
				time.Sleep(20 * time.Millisecond)
				// Exiting locked makes the runtime end the thread.
			}()
		}
		wg.Wait()
		var sink [][]byte
		for i := range 200 {
			sink = append(sink, make([]byte, 64<<10))
			if i%50 == 0 {
				runtime.GC()
			}
		}
		_ = sink
		debug.FreeOSMemory()
		deadline := time.Now().Add(50 * time.Millisecond)
		for time.Now().Before(deadline) { // preempted by SIGURG
		}
		fmt.Println("runtime ok")
	case "hostroot":
		// Nothing of the host is left: not its files, not /proc.
		for _, p := range []string{"/etc/passwd", "/proc/self/status", "/tmp", tree} {
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			fmt.Printf("open %s: %v\n", p, err)
		}
		fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Printf("open /: %v\n", err)
			return 0
		}
		// To the end: one getdents64 may stop short when a signal
		// (the Go runtime's preemption) arrives while it fills buf.
		buf := make([]byte, 4096)
		var names []string
		for {
			n, err := unix.Getdents(fd, buf)
			if err != nil {
				fmt.Printf("getdents /: %v\n", err)
				return 0
			}
			if n == 0 {
				break
			}
			_, _, names = unix.ParseDirent(buf[:n], -1, names)
		}
		fmt.Printf("ls /: %s\n", strings.Join(names, " "))
		fmt.Printf("mkdir /x: %v\n", unix.Mkdir("/x", 0o755))
		fmt.Printf("write /0: %v\n", unix.Mkdir("/0/x", 0o755))
		var st unix.Stat_t
		if err := unix.Stat("/0/true", &st); err != nil {
			fmt.Printf("tree file /0/true: %v\n", err)
		} else {
			fmt.Printf("tree file /0/true: %d bytes\n", st.Size)
		}
	case "socket":
		_, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		fmt.Printf("socket: %v\n", err)
	case "socket-thread":
		// From another thread than the one that installed the filter.
		done := make(chan error)
		go func() {
			runtime.LockOSThread()
			_, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
			done <- err
		}()
		fmt.Printf("socket: %v\n", <-done)
	case "ptrace":
		_, _, e := unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0)
		fmt.Printf("ptrace: %v\n", e)
	case "mount":
		fmt.Printf("mount: %v\n", unix.Mount("tmpfs", "/0", "tmpfs", 0, ""))
	case "open_by_handle_at":
		_, _, e := unix.RawSyscall(unix.SYS_OPEN_BY_HANDLE_AT, 3, 0, 0)
		fmt.Printf("open_by_handle_at: %v\n", e)
	case "execve":
		fmt.Printf("execve: %v\n", syscall.Exec("/0/true", []string{"true"}, nil))
	case "fork":
		r, _, e := unix.RawSyscall(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0)
		if r == 0 && e == 0 {
			unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0) // the child
		}
		fmt.Printf("fork: %d %v\n", r, e)
	case "clone3":
		_, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
		fmt.Printf("clone3: %v\n", e)
	case "mmap-exec":
		_, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		fmt.Printf("mmap: %v\n", err)
	case "kill-other":
		fmt.Printf("kill: %v\n", unix.Kill(os.Getppid(), 0))
	case "x32":
		_, _, e := unix.RawSyscall(unix.SYS_GETPID|x32SyscallBit, 0, 0, 0)
		fmt.Printf("x32 getpid: %v\n", e)
	case "ioctl":
		_, err := unix.IoctlGetInt(1, unix.TIOCINQ)
		fmt.Printf("ioctl: %v\n", err)
	default:
		fmt.Fprintf(os.Stderr, "unknown probe %q\n", probe)
		return 3
	}
	return 0
}

// goferNamespaces are the namespaces the sandbox starts the gofer in.
const goferNamespaces = syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS

// x32SyscallBit marks the x32 ABI's system call numbers.
const x32SyscallBit = 0x40000000

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("confinement needs root (mount namespaces, pivot_root)")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the seccomp allow-list is amd64-only")
	}
}

// runProbe runs one confined probe and returns its wait status and output.
func runProbe(t *testing.T, probe string) (syscall.WaitStatus, string) {
	t.Helper()
	tree := testTree(t)
	mustWriteFile(t, filepath.Join(tree, "true"), "#!/bin/sh\n")
	cmd := exec.Command(os.Args[0], probe, tree)
	cmd.Env = append(os.Environ(), confineHelperEnv+"=probe")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: goferNamespaces, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("probe %s: %v", probe, err)
		}
	}
	return cmd.ProcessState.Sys().(syscall.WaitStatus), out.String()
}

func TestConfineForbiddenSyscallKills(t *testing.T) {
	requireRoot(t)
	for _, probe := range []string{
		"socket", "socket-thread", "ptrace", "mount", "open_by_handle_at",
		"execve", "fork", "clone3", "mmap-exec", "kill-other", "x32", "ioctl",
	} {
		t.Run(probe, func(t *testing.T) {
			ws, out := runProbe(t, probe)
			if !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
				t.Errorf("probe %s: wait status %v (exit %d), want killed by SIGSYS; output:\n%s", probe, ws, ws.ExitStatus(), out)
			}
			if !strings.Contains(out, "cocoon gofer: ") || !strings.Contains(out, "refused by the seccomp filter") {
				t.Errorf("probe %s: no line naming the refused call; output:\n%s", probe, out)
			}
		})
	}
}

func TestConfineRuntimeSurvives(t *testing.T) {
	requireRoot(t)
	ws, out := runProbe(t, "runtime")
	if !ws.Exited() || ws.ExitStatus() != 0 || !strings.Contains(out, "runtime ok") {
		t.Errorf("runtime probe: wait status %v, output:\n%s", ws, out)
	}
}

func TestConfineHidesHost(t *testing.T) {
	requireRoot(t)
	t.Run("open_tree", func(t *testing.T) { testConfineHidesHost(t, "hostroot") })
	// Bind mounts and remounts, as on kernels before 5.2.
	t.Run("legacy", func(t *testing.T) { testConfineHidesHost(t, "hostroot-legacy") })
}

func testConfineHidesHost(t *testing.T, probe string) {
	// The probe's TMPDIR, where it mounts its new root, is the directory
	// that holds the tree, so the tree's path is hidden by then.
	tmp := filepath.Dir(t.TempDir())
	t.Setenv("TMPDIR", tmp)
	before, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	ws, out := runProbe(t, probe)
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("hostroot probe: wait status %v, output:\n%s", ws, out)
	}
	for _, want := range []string{
		"open /etc/passwd: no such file or directory",
		"open /proc/self/status: no such file or directory",
		"open /tmp: no such file or directory",
		"ls /: 0\n",
		"mkdir /x: read-only file system",
		"write /0: read-only file system",
		"tree file /0/true: 10 bytes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("hostroot probe output lacks %q:\n%s", want, out)
		}
	}
	// The tree's host path is gone too.
	if strings.Contains(out, ": <nil>") {
		t.Errorf("a host path opened in the confined process:\n%s", out)
	}
	// The new root never touched the host: TMPDIR holds the test's two
	// directories (the one above and the tree) and nothing else.
	after, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Errorf("TMPDIR held %d entries before the probe and %v after; want the tree only added", len(before), after)
	}
}

func TestCheckOwnMountNS(t *testing.T) {
	// The test process shares its parent's mount namespace: a gofer
	// started like this must refuse to pivot.
	if _, err := os.Stat("/proc/self/ns/mnt"); err != nil {
		t.Skip("no /proc")
	}
	err := checkOwnMountNS()
	if err == nil || !strings.Contains(err.Error(), "CLONE_NEWNS") {
		t.Errorf("checkOwnMountNS in the test process = %v, want a refusal", err)
	}
}

// procStatus reads the fields of /proc/.../status.
func procStatus(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), ":")
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// TestConfinedGofer starts `cocoon gofer` as the sandbox does and checks
// that it serves its trees, holds only them, and runs with only its
// capabilities and the seccomp filter, on every thread.
func TestConfinedGofer(t *testing.T) {
	requireRoot(t)
	rw, ro := testTree(t), testTree(t)
	serverEnd, clientEnd := socketPair(t)
	cmd := exec.Command(os.Args[0], "--root", rw, "--rw", "--mount", "ro="+ro+":ro", "--fd", "3")
	cmd.Env = append(os.Environ(), confineHelperEnv+"=serve")
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(serverEnd), "gofer-server")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: goferNamespaces, Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles[0].Close()
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}

	// (a) It serves: the first reply comes after confinement.
	root := mustRoot(t, c)
	fid, _ := mustWalk(t, c, root, "a", "b", "c.txt")
	fd, err := c.Open(fid, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	buf := make([]byte, 100)
	n, _ := unix.Pread(fd, buf, 0)
	unix.Close(fd)
	if string(buf[:n]) != testFileContent {
		t.Errorf("read %q, want %q", buf[:n], testFileContent)
	}
	exerciseWrites(t, c, root, rw)
	roFID, _, err := c.Attach("ro")
	if err != nil {
		t.Fatalf("Attach(ro): %v", err)
	}
	mustWalk(t, c, roFID, "file.txt")
	if ents, err := listDir(c, roFID); err != nil || len(ents) < 4 {
		t.Errorf("listing ro: %d entries, %v", len(ents), err)
	}
	_, _, err = c.Mkdir(roFID, "x", 0o755, 0, 0)
	checkErrno(t, "Mkdir on a read-only tree", err, unix.EROFS)

	// (d) Capabilities, no_new_privs and seccomp on every thread.
	pid := cmd.Process.Pid
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%016x", caps.Mask(goferCaps...))
	for _, task := range tasks {
		st := procStatus(t, fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		for field, w := range map[string]string{
			"CapEff": want, "CapPrm": want, "CapBnd": want,
			"CapInh": "0000000000000000", "CapAmb": "0000000000000000",
			"NoNewPrivs": "1", "Seccomp": "2",
		} {
			if st[field] != w {
				t.Errorf("thread %s: %s = %q, want %q", task.Name(), field, st[field], w)
			}
		}
	}
	if len(tasks) < 2 {
		t.Errorf("gofer has %d threads; the per-thread check is meaningless", len(tasks))
	}

	// (c) Its mounts: a read-only root holding the trees at /0 and /1,
	// nodev and nosuid, /1 read-only.
	mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(mi)), "\n") {
		f := strings.Fields(line)
		mp, opts := f[4], strings.Split(f[5], ",")
		has := func(o string) bool {
			for _, x := range opts {
				if x == o {
					return true
				}
			}
			return false
		}
		switch {
		case mp == "/":
			if !has("ro") || !has("nodev") || !has("noexec") {
				t.Errorf("root mount options %q", f[5])
			}
		case mp == "/0" || strings.HasPrefix(mp, "/0/"):
			if !has("nodev") || !has("nosuid") {
				t.Errorf("tree mount %s options %q", mp, f[5])
			}
		case mp == "/1" || strings.HasPrefix(mp, "/1/"):
			if !has("nodev") || !has("nosuid") || !has("ro") {
				t.Errorf("read-only tree mount %s options %q", mp, f[5])
			}
		default:
			t.Errorf("unexpected mount %s in the gofer: %s", mp, line)
		}
	}
	var ns1, ns2 unix.Stat_t
	if unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &ns1) == nil && unix.Stat("/proc/self/ns/net", &ns2) == nil && ns1.Ino == ns2.Ino {
		t.Errorf("gofer shares the test's network namespace")
	}

	if err := c.Shutdown(); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Errorf("gofer exited with %v; stderr:\n%s", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Logf("gofer stderr:\n%s", stderr.String())
	}
}

// exerciseWrites makes every modifying request once, so that each handler's
// system calls run under the filter (a missing one kills the gofer).
func exerciseWrites(t *testing.T, c *Client, root FID, hostRoot string) {
	t.Helper()
	dir, _, err := c.Mkdir(root, "d", 0o2775, 1234, 1234)
	if err != nil {
		t.Fatalf("Mkdir: %v", err)
	}
	f, st, fd, err := c.Create(dir, "f", unix.O_RDWR, 0o4755, 1234, 1234)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := unix.Pwrite(fd, []byte("0123456789"), 0); err != nil {
		t.Errorf("pwrite: %v", err)
	}
	unix.Close(fd)
	if st.UID != 1234 || st.Mode&0o7777 != 0o4755 {
		t.Errorf("Create: uid %d mode %o", st.UID, st.Mode&0o7777)
	}
	host := lstat(t, filepath.Join(hostRoot, "d", "f"))
	if host.Uid != 1234 || host.Gid != 1234 || host.Mode&0o7777 != 0o4755 {
		t.Errorf("host sees uid %d gid %d mode %o", host.Uid, host.Gid, host.Mode&0o7777)
	}
	st, err = c.SetAttr(f, SetAttrArgs{
		Mask: unix.STATX_MODE | unix.STATX_UID | unix.STATX_GID | unix.STATX_SIZE | unix.STATX_ATIME | unix.STATX_MTIME,
		Mode: 0o6711, UID: 42, GID: 43, Size: 4,
		Atime: unix.Timespec{Sec: 1000}, Mtime: unix.Timespec{Nsec: unix.UTIME_NOW},
	})
	if err != nil || st.Size != 4 || st.UID != 42 || st.Atime.Sec != 1000 {
		t.Errorf("SetAttr = %+v, %v", st, err)
	}
	fd, err = c.Open(f, unix.O_WRONLY|unix.O_TRUNC)
	if err != nil {
		t.Errorf("Open(O_TRUNC): %v", err)
	} else {
		unix.Close(fd)
	}
	switch err := c.Setxattr(f, "user.k", []byte("v"), 0); err {
	case nil:
		if v, _, err := c.Getxattr(f, "user.k", 10); err != nil || string(v) != "v" {
			t.Errorf("Getxattr = %q, %v", v, err)
		}
		if names, _, err := c.Listxattr(f, 100); err != nil || len(names) != 1 {
			t.Errorf("Listxattr = %q, %v", names, err)
		}
		if err := c.Removexattr(f, "user.k"); err != nil {
			t.Errorf("Removexattr: %v", err)
		}
	case unix.EOPNOTSUPP:
		t.Logf("no user xattrs on %s", hostRoot)
	default:
		t.Errorf("Setxattr: %v", err)
	}
	if _, err := c.Link(dir, "hard", f); err != nil {
		t.Errorf("Link: %v", err)
	}
	sl, _, err := c.Symlink(dir, "sym", "f", 0, 0)
	if err != nil {
		t.Fatalf("Symlink: %v", err)
	}
	if target, err := c.Readlink(sl); err != nil || target != "f" {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	if _, _, err := c.Mknod(dir, "fifo", unix.S_IFIFO|0o644, 0, 0); err != nil {
		t.Errorf("Mknod: %v", err)
	}
	_, _, err = c.Mknod(dir, "dev", unix.S_IFCHR|0o644, 0, 0)
	checkErrno(t, "Mknod of a device", err, unix.EPERM)
	if err := c.Rename(dir, "hard", root, "moved", 0); err != nil {
		t.Errorf("Rename: %v", err)
	}
	ents, err := listDir(c, dir)
	if err != nil || len(ents) != 5 { // . .. f sym fifo
		t.Errorf("listing: %v, %v", ents, err)
	}
	if _, err := c.StatFS(dir); err != nil {
		t.Errorf("StatFS: %v", err)
	}
	for _, name := range []string{"f", "sym", "fifo"} {
		if err := c.Unlink(dir, name, 0); err != nil {
			t.Errorf("Unlink(%s): %v", name, err)
		}
	}
	if err := c.Unlink(root, "d", unix.AT_REMOVEDIR); err != nil {
		t.Errorf("Unlink(d): %v", err)
	}
	if err := c.Close(dir, f, sl); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestSeccompRules(t *testing.T) {
	seen := map[uint32]bool{}
	rules := goferRules(1)
	for _, r := range rules {
		if seen[r.Nr] {
			t.Errorf("system call %d listed twice", r.Nr)
		}
		seen[r.Nr] = true
	}
	for _, nr := range []uint32{unix.SYS_SOCKET, unix.SYS_CONNECT, unix.SYS_EXECVE, unix.SYS_EXECVEAT,
		unix.SYS_PTRACE, unix.SYS_MOUNT, unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
		unix.SYS_IOCTL, unix.SYS_CLONE3, unix.SYS_SETNS, unix.SYS_UNSHARE, unix.SYS_BPF, unix.SYS_KEYCTL,
		unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT, unix.SYS_PROCESS_VM_READV} {
		if seen[nr] {
			t.Errorf("system call %d must not be allowed", nr)
		}
	}
	if _, err := hs.Build(seccompArch, rules, unix.SECCOMP_RET_TRAP); err != nil {
		t.Error(err)
	}
}

// TestGoferStoppedBySIGTERM starts a confined gofer as the init of a PID
// namespace of its own, as the sandbox does: SIGINT and SIGHUP leave it
// serving, and SIGTERM stops it, saying so, with status 128+15, that of a
// process a SIGTERM ended, not 2, which the gofer gives for bad arguments.
func TestGoferStoppedBySIGTERM(t *testing.T) {
	requireRoot(t)
	serverEnd, clientEnd := socketPair(t)
	cmd := exec.Command(os.Args[0], "--root", testTree(t), "--fd", "3")
	cmd.Env = append(os.Environ(), confineHelperEnv+"=serve")
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(serverEnd), "gofer-server")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: goferNamespaces | syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles[0].Close()
	c, err := NewClient(clientEnd)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal(err)
	}
	// Serving, so confined: the signals reach the filtered process.
	mustRoot(t, c)
	// A terminal's signals are for the sandbox: the gofer ignores them
	// and goes on.
	ignored, err := strconv.ParseUint(procStatus(t, fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))["SigIgn"], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP} {
		if ignored&(1<<(sig-1)) == 0 {
			t.Errorf("gofer does not ignore %v (SigIgn %#x)", sig, ignored)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.Attach(""); err != nil {
		t.Fatalf("gofer stopped serving after SIGINT and SIGHUP: %v; stderr:\n%s", err, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("gofer still running 10 s after SIGTERM; stderr:\n%s", stderr.String())
	}
	if got := cmd.ProcessState.ExitCode(); got != 128+int(syscall.SIGTERM) {
		t.Errorf("gofer stopped by SIGTERM exited with %v, want status %d; stderr:\n%s", cmd.ProcessState, 128+int(syscall.SIGTERM), stderr.String())
	}
	if !strings.Contains(stderr.String(), "terminated by SIGTERM") {
		t.Errorf("gofer stopped by SIGTERM did not say so; stderr:\n%s", stderr.String())
	}
}
