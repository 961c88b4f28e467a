package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/boot"
	// The pod-mode sentry's control server registers itself with boot;
	// linking it here puts it in every binary that starts pods (the
	// sentry is this binary re-executed).
	_ "github.com/cocoonrt/cocoon/sentry/control"
)

// PodOptions describe a pod sandbox to start: a gofer serving the pod's
// trees and a sentry in pod mode serving the control socket.
type PodOptions struct {
	// Exe is the cocoon binary to re-execute; empty means /proc/self/exe.
	Exe string
	// Trees are gofer trees served from the start, as NAME=PATH[:ro|:rw]
	// (the gofer's --mount arguments).
	Trees []string
	// TreeListener, when set, is a listening SOCK_SEQPACKET socket the
	// gofer accepts tree additions on (its --tree-socket).
	TreeListener *os.File
	// ControlListener is the listening control socket (control.Listen),
	// the sentry's descriptor 5.
	ControlListener *os.File
	// Store, with Spec.RootOverlay "store", is the regular file that
	// holds the data of the containers' writable roots, the sentry's
	// boot.StoreFD; it empties the file first.
	Store *os.File
	// Spec is handed to the sentry; StartPod sets Pod.
	Spec boot.Spec
	// Log receives both processes' standard error (their diagnostics).
	Log *os.File
	// NetNS, when set, is the network namespace (a bind-mounted nsfs
	// file) the sentry starts in: the pod's, which CNI has set up.
	// Empty leaves the sentry in the caller's (host networking). The
	// gofer never joins it: it gets a fresh, empty one either way.
	NetNS string
	// Join, when set, puts a started process into the pod's resource
	// groups (its cgroup, its OOM score). It is called with "gofer" and
	// the gofer's PID once the gofer runs, and with "sentry" and the
	// sentry's before the sentry gets its spec: the sentry starts
	// nothing before it has read the spec, so its platform's stub
	// processes, which run the application's code, are born in the
	// pod's cgroup and count against its limits. Moved later, they would
	// stay where the daemon runs. An error stops the start.
	Join func(name string, pid int) error
}

// Pod is a started pod sandbox. Its processes are detached: they outlive
// the caller, who watches them by PID (or pidfd).
type Pod struct {
	GoferPID, SentryPID int
	Gofer, Sentry       *os.Process
}

// StartPod starts the pod's gofer and pod-mode sentry, detached (each in a
// session of its own, with no parent-death signal: pods outlive the
// daemon), and returns without waiting for them. On failure nothing it
// started is left running.
//
// The children inherit only the descriptors named here. So that a
// descriptor the caller opened without O_CLOEXEC cannot leak into a pod,
// StartPod marks every descriptor of the caller above stderr
// close-on-exec (Go opens its own so anyway; the ones passed to the
// children are duplicated into place, which clears the flag on the
// copies).
func StartPod(opts PodOptions) (_ *Pod, retErr error) {
	if opts.ControlListener == nil {
		return nil, errors.New("start pod: no control listener")
	}
	if len(opts.Trees) == 0 && opts.TreeListener == nil {
		return nil, errors.New("start pod: the gofer needs trees or a tree listener")
	}
	exe := opts.Exe
	if exe == "" {
		exe = "/proc/self/exe"
	}
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil && err != unix.ENOSYS {
		return nil, fmt.Errorf("start pod: marking descriptors close-on-exec: %w", err)
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devNull.Close()
	logFile := opts.Log
	if logFile == nil {
		logFile = devNull
	}

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("creating gofer socket: %w", err)
	}
	sentryEnd := os.NewFile(uintptr(fds[0]), "gofer-client")
	goferEnd := os.NewFile(uintptr(fds[1]), "gofer-server")
	defer sentryEnd.Close()
	defer goferEnd.Close()

	goferArgs := []string{"gofer", "--fd", "3"}
	for _, t := range opts.Trees {
		goferArgs = append(goferArgs, "--mount", t)
	}
	goferFiles := []*os.File{goferEnd}
	if opts.TreeListener != nil {
		goferArgs = append(goferArgs, "--tree-socket", strconv.Itoa(3+len(goferFiles)))
		goferFiles = append(goferFiles, opts.TreeListener)
	}
	// As Start's gofer, but detached from the caller.
	goferAttr := goferSysProcAttr()
	goferAttr.Setsid = true
	g := exec.Command(exe, goferArgs...)
	g.Stdin, g.Stdout, g.Stderr = devNull, devNull, logFile
	g.ExtraFiles = goferFiles
	g.SysProcAttr = goferAttr
	if err := g.Start(); err != nil {
		return nil, fmt.Errorf("starting gofer: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = g.Process.Kill()
			_, _ = g.Process.Wait()
		}
	}()
	if opts.Join != nil {
		if err := opts.Join("gofer", g.Process.Pid); err != nil {
			return nil, fmt.Errorf("gofer: %w", err)
		}
	}

	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating spec pipe: %w", err)
	}
	defer specR.Close()
	spec := opts.Spec
	spec.Pod = true
	sentryCmd := func() *exec.Cmd {
		c := exec.Command(exe, "sentry")
		c.Stdin, c.Stdout, c.Stderr = devNull, devNull, logFile
		c.ExtraFiles = []*os.File{sentryEnd, specR, opts.ControlListener} // fds 3, 4 and 5
		if opts.Store != nil {
			c.ExtraFiles = append(c.ExtraFiles, opts.Store) // boot.StoreFD
		}
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return c
	}
	s := sentryCmd()
	// A hostNetwork pod's sockets are the node's, and binding a port
	// below 1024 there takes a capability in the node's user namespace:
	// its sentry stays in it, as host root without other capabilities.
	userNS := spec.Network != boot.NetworkHost
	id := 0
	if userNS {
		idsMu.Lock()
		defer idsMu.Unlock()
		if id, err = allocateSentryIDs(); err != nil {
			return nil, err
		}
	}
	launch := newSentryLaunch(s, userNS, id)
	launch.keepStore(opts.Store)
	defer func() { launch.started() }()
	if err := launch.handKVM(spec.Platform); err != nil {
		return nil, err
	}
	spec.Confine = launch.conf
	// In the pod's namespace, before the start: its links, taken over
	// once for the sandbox's stack, whose packet sockets each attempt
	// to start the sentry gets copies of.
	var links []netstack.HostLink
	linksTaken := false
	defer func() { netstack.CloseHostLinks(links) }()
	takeLinks := func() error {
		if spec.Network != boot.NetworkPod {
			return nil
		}
		if !linksTaken {
			var err error
			if links, err = netstack.PrepareHostLinks(netstack.LinkOptions{}); err != nil {
				return err
			}
			linksTaken = true
		}
		spec.Links = make([]netstack.HostLink, len(links))
		for i, l := range links {
			fd, err := unix.FcntlInt(uintptr(l.FD), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("handing the packet socket of %s: %w", l.Name, err)
			}
			spec.Links[i] = l
			spec.Links[i].FD = launch.hand(os.NewFile(uintptr(fd), "packet-"+l.Name))
		}
		return nil
	}
	err = startInNetNS(opts.NetNS, s, takeLinks)
	if err != nil && userNS && userNamespaceRefused(err) && hostRootAllowed {
		// The operator accepted a sentry without a user namespace.
		launch.started()
		s = sentryCmd()
		launch = newSentryLaunch(s, false, 0)
		launch.keepStore(opts.Store)
		if err := launch.handKVM(spec.Platform); err != nil {
			return nil, err
		}
		spec.Confine = launch.conf
		err = startInNetNS(opts.NetNS, s, takeLinks)
	}
	if err != nil {
		specW.Close()
		if userNS && userNamespaceRefused(err) {
			return nil, fmt.Errorf("starting sentry: %w (%v)", ErrNoUserNamespace, err)
		}
		return nil, fmt.Errorf("starting sentry: %w", err)
	}
	launch.started()
	if opts.Join != nil {
		if err := opts.Join("sentry", s.Process.Pid); err != nil {
			specW.Close()
			_ = s.Process.Kill()
			_, _ = s.Process.Wait()
			return nil, fmt.Errorf("sentry: %w", err)
		}
	}
	err = json.NewEncoder(specW).Encode(&spec)
	specW.Close()
	if err != nil {
		_ = s.Process.Kill()
		_, _ = s.Process.Wait()
		return nil, fmt.Errorf("sending spec to sentry: %w", err)
	}
	return &Pod{GoferPID: g.Process.Pid, SentryPID: s.Process.Pid, Gofer: g.Process, Sentry: s.Process}, nil
}

// startInNetNS runs prepare and starts cmd in the network namespace at
// path ("" is the caller's, where prepare is not run). exec cannot setns
// in the child, but clone copies the calling thread's namespaces: so the child is started from an OS
// thread, locked to its goroutine, that has joined the namespace, and
// the thread goes back to its own namespace afterwards. Should it fail
// to, it stays locked and its goroutine exits, so the Go runtime ends
// the thread rather than run other goroutines in the pod's namespace.
// (Always discarding the thread is no option: the runtime cannot end
// the main thread, which would then stay in the pod's namespace for
// good, keeping it alive.)
func startInNetNS(path string, cmd *exec.Cmd, prepare func() error) error {
	if path == "" {
		return cmd.Start()
	}
	ns, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening the pod network namespace: %w", err)
	}
	defer ns.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening the daemon's network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("joining the pod network namespace %s: %w", path, err)
		} else if err := prepare(); err != nil {
			errc <- err
		} else {
			errc <- cmd.Start()
		}
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}

// PodSpec returns the boot spec of a pod-mode sentry with the pod's
// hostname and the default platform and memory size.
func PodSpec(hostname string) boot.Spec {
	return boot.Spec{Pod: true, Hostname: hostname}
}
