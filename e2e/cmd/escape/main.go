// Command escape runs inside a Cocoon pod and tries, case by case, to
// reach the host: walks out of the rootfs and out of volumes, rename races
// against the gofer, /proc magic links, mount games, hard links across
// mounts, malformed system call arguments, ptrace and signals to host
// processes, raw sockets, writes to host sysctls and host kernel
// interfaces. Every case must fail. e2e/escape_test.go runs it and checks
// the host side (canary files, the host name, MTUs, sysctls, ...).
//
// It prints one JSON line per case:
//
//	{"name": ..., "target": what would have been reached,
//	 "result": "blocked" | "escaped" | "host-check", "detail": ...}
//
// "escaped" is proof seen from inside (the canary's bytes, a host
// process, a host device); "host-check" says the call went through inside
// the sandbox (a pod may set its own host name) and only the host can tell
// whether it changed. The last line is {"summary": N}.
//
//	escape CONFIG-JSON          run every case
//	escape -sub NAME CONFIG-JSON  run one case that needs a process of its own
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config is what the host tells the program, as JSON in its last argument.
// e2e/escape_test.go writes the same fields.
type Config struct {
	// CanaryPath is a host file outside every volume; CanaryHash is the
	// SHA-256 (hex) of its contents, which the program is not told.
	CanaryPath string `json:"canaryPath"`
	CanaryHash string `json:"canaryHash"`
	// CanaryDir is the host directory holding the canary and the volumes.
	CanaryDir string `json:"canaryDir"`
	// Volumes are the container paths of the writable directory volumes
	// (a hostPath and an emptyDir-like one); HostVolumes their host paths.
	Volumes     []string `json:"volumes"`
	HostVolumes []string `json:"hostVolumes"`
	// ReadOnlyVolume is the container path of a read-only volume holding
	// ReadOnlyFile.
	ReadOnlyVolume string `json:"readOnlyVolume"`
	ReadOnlyFile   string `json:"readOnlyFile"`
	// FileVolume is a single-file volume.
	FileVolume string `json:"fileVolume"`
	// RaceDir is a directory of the hostPath volume (container path) where
	// the host swaps "d" between a directory and a symlink to "/".
	RaceDir string `json:"raceDir"`
	// HostStrings are host paths no sandbox file name may contain.
	HostStrings []string `json:"hostStrings"`
	// CocoonHash is the SHA-256 of the first MiB of the host's cocoon
	// binary (the sentry and the gofer run it), CocoonSize its size.
	CocoonHash string `json:"cocoonHash"`
	CocoonSize int64  `json:"cocoonSize"`
	// HostPIDs are host processes: the sentry, the gofer, the daemon, the
	// test.
	HostPIDs []int `json:"hostPIDs"`
	// HostIfaces are the host's network interfaces.
	HostIfaces []Iface `json:"hostIfaces"`
	// HostAddrs are the host's IP addresses.
	HostAddrs []string `json:"hostAddrs"`
	// UDPPort and TCPPort listen on the host's 127.0.0.1; the host also
	// sends datagrams holding Marker to UDPPort all along the run.
	UDPPort int    `json:"udpPort"`
	TCPPort int    `json:"tcpPort"`
	Marker  string `json:"marker"`
	// UnixPath and UnixAbstract are unix sockets the host listens on.
	UnixPath     string `json:"unixPath"`
	UnixAbstract string `json:"unixAbstract"`
	// KmsgMarker is a line the host wrote to its kernel log.
	KmsgMarker string `json:"kmsgMarker"`
	// KeyDesc is the description of a key the program tries to add.
	KeyDesc string `json:"keyDesc"`
	// Hostname is what the program tries to set as the host name.
	Hostname string `json:"hostname"`
	// RaceMillis bounds each race.
	RaceMillis int `json:"raceMillis"`
	// StubJump runs systrap-stub-syscall's jump; off, the case says why.
	StubJump bool `json:"stubJump"`
	// Platform is the sentry's platform (systrap, ptrace, kvm).
	Platform string `json:"platform"`
}

// Iface is a host network interface.
type Iface struct {
	Name  string `json:"name"`
	MAC   string `json:"mac"`
	Index int    `json:"index"`
}

// Result is one case's line.
type Result struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Result string `json:"result"`
	Detail string `json:"detail"`
}

const (
	blocked   = "blocked"
	escaped   = "escaped"
	hostCheck = "host-check"
)

var (
	outMu sync.Mutex // serialises lines on stdout
	count int        // cases printed; guarded by outMu
)

func report(r Result) {
	b, _ := json.Marshal(r)
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
	count++
}

// c is a case being run: its attempts add to detail, and any attempt
// that gets through marks it.
type c struct {
	name, target string
	result       string
	details      []string
}

func newCase(name, target string) *c { return &c{name: name, target: target, result: blocked} }

// note records what an attempt got.
func (k *c) note(format string, args ...any) {
	k.details = append(k.details, fmt.Sprintf(format, args...))
}

// escape marks the case as a success of the attacker.
func (k *c) escape(format string, args ...any) {
	k.result = escaped
	k.note("ESCAPE: "+format, args...)
}

// passedInside says the call went through in the sandbox and the host
// must check; an escape stays an escape.
func (k *c) passedInside(format string, args ...any) {
	if k.result == blocked {
		k.result = hostCheck
	}
	k.note(format, args...)
}

func (k *c) done() {
	d := strings.Join(k.details, "; ")
	if len(d) > 3000 {
		d = d[:3000] + "..."
	}
	report(Result{Name: k.name, Target: k.target, Result: k.result, Detail: d})
}

// errno names an error briefly, ENOSYS marked as "not implemented".
func errno(err error) string {
	if err == nil {
		return "ok"
	}
	var e syscall.Errno
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	} else if le, ok := err.(*os.LinkError); ok {
		err = le.Err
	} else if se, ok := err.(*os.SyscallError); ok {
		err = se.Err
	}
	if x, ok := err.(syscall.Errno); ok {
		e = x
		if e == syscall.ENOSYS {
			return "ENOSYS (not implemented in the sandbox)"
		}
		return errnoName(e)
	}
	return err.Error()
}

var cfg Config

// subcases run in a process of their own: they change the process's root
// or may kill it.
var subcases = map[string]func(){
	"chroot-break":         subChrootBreak,
	"pivot-root":           subPivotRoot,
	"systrap-stub-syscall": subStubSyscall,
}

func main() {
	args := os.Args[1:]
	sub := ""
	if len(args) >= 2 && args[0] == "-sub" {
		sub, args = args[1], args[2:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: escape [-sub NAME] CONFIG-JSON")
		os.Exit(2)
	}
	if err := json.Unmarshal([]byte(args[0]), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "escape: config:", err)
		os.Exit(2)
	}
	if sub != "" {
		f, ok := subcases[sub]
		if !ok {
			fmt.Fprintln(os.Stderr, "escape: no sub-case", sub)
			os.Exit(2)
		}
		f()
		return
	}
	for _, run := range []func(){
		fsCases,
		raceCases,
		procCases,
		mountCases,
		linkCases,
		argCases,
		pidCases,
		netCases,
		hostWriteCases,
		kernelCases,
		func() {
			for _, name := range []string{"chroot-break", "pivot-root", "systrap-stub-syscall"} {
				runSub(name)
			}
		},
		sanity,
	} {
		run()
	}
	outMu.Lock()
	fmt.Printf("{\"summary\": %d}\n", count)
	outMu.Unlock()
}

// subTimeout bounds a sub-case's child process.
const subTimeout = 20 * time.Second

// runSub runs a sub-case in a child process and passes on its lines; a
// child that dies without a line is reported from here.
func runSub(name string) {
	cmd := exec.Command("/proc/self/exe", "-sub", name, os.Args[len(os.Args)-1])
	cmd.Stderr = os.Stderr
	if name == "pivot-root" {
		// A mount namespace of its own (private, as Go makes it), so
		// the container keeps its root.
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	var err error
	if err = cmd.Start(); err == nil {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(subTimeout):
			// Not waited for: a task that does not die when killed is
			// a sentry bug of its own, reported as such.
			cmd.Process.Kill()
			err = fmt.Errorf("no end within %v of its start, nor after SIGKILL", subTimeout)
		}
	}
	out := stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "{") {
			outMu.Lock()
			os.Stdout.WriteString(l + "\n")
			count++
			outMu.Unlock()
			n++
		}
	}
	if n == 0 {
		k := newCase(name, "a case run in a child process")
		if name == "systrap-stub-syscall" {
			// The jump does not come back: the stub's filter kills the
			// process. Whether the mkdir happened first only the host
			// can tell.
			k.target = "a host system call (mkdir " + cfg.CanaryDir + "/stub-mkdir) made from the systrap stub's own syscall instruction"
			k.passedInside("the child jumped to the stub's syscall instruction and ended with %v", err)
		} else if err != nil {
			k.note("the child ended with %v and said nothing", err)
		} else {
			k.note("the child said nothing")
		}
		k.done()
	}
}

// sanity checks the sandbox still works after all that: a failed
// attempt must not have broken the kernel the pod runs on.
func sanity() {
	k := newCase("sandbox-still-works", "the sentry after every attempt (it must keep serving the pod)")
	f, err := os.CreateTemp("", "sanity")
	if err != nil {
		k.escape("cannot create a file any more: %v", err)
		k.done()
		return
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString("still here"); err != nil {
		k.escape("cannot write a file any more: %v", err)
	}
	f.Close()
	if b, err := os.ReadFile(f.Name()); err != nil || string(b) != "still here" {
		k.escape("cannot read back a file: %q %v", b, err)
	}
	if out, err := exec.Command("/bin/busybox", "echo", "child").Output(); err != nil || strings.TrimSpace(string(out)) != "child" {
		k.escape("cannot run a child process: %q %v", out, err)
	}
	if k.result == escaped {
		// Not an escape, but the pod is broken: make the test fail all the same.
		k.note("the sandbox broke")
	} else {
		k.note("files and processes still work")
	}
	k.done()
}
