// Package sandbox is the host-side handle on one sandbox: it starts the
// sandbox's gofer and sentry processes by re-executing the cocoon binary,
// connects them, hands the sentry its spec, and waits for it.
//
// `cocoon do` uses it directly; the daemon's pod sandboxes will too.
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/boot"
)

// Root overlay modes: how the sandbox's root becomes writable.
const (
	// OverlayHost serves Root through a host overlayfs whose writable
	// layer is a temporary host directory, removed when the sandbox ends.
	OverlayHost = "host"
	// OverlayMemory keeps the writable layer in sentry memory.
	OverlayMemory = "memory"
	// OverlayStore keeps the writable layer's files in the sentry, their
	// data in a store file in a temporary host directory (on the node's
	// disk, not in memory), removed when the sandbox ends.
	OverlayStore = "store"
	// OverlayNone serves Root read-only.
	OverlayNone = "none"
)

// Options describe a sandbox to start.
type Options struct {
	// Root is the host directory the gofer serves as the sandbox's root.
	Root string
	// Overlay is one of the Overlay modes; empty means OverlayNone.
	Overlay string
	// Mounts are the container's mounts: binds of host paths (served by
	// the gofer) and tmpfs mounts.
	Mounts []Mount
	// Spec is handed to the sentry.
	Spec boot.Spec
	// Stdin, Stdout and Stderr become the program's standard streams.
	Stdin, Stdout, Stderr *os.File
	// Exe is the cocoon binary to re-execute; empty means /proc/self/exe.
	Exe string
	// Unconfined leaves the sentry unconfined (sentry/boot/confine.go):
	// UNSAFE, for debugging.
	Unconfined bool
}

// Mount is a mount of the container's spec.
type Mount struct {
	// Type is "bind" or "tmpfs".
	Type string
	// Source is the host path of a bind mount.
	Source string
	// Destination is the path in the sandbox.
	Destination string
	// Options are OCI mount options ("ro", "size=64m", ...).
	Options []string
}

// specMounts turns mounts into the sentry's mounts and the gofer's
// --mount arguments: every bind source becomes a gofer tree, a file
// source a tree holding just that file.
func specMounts(mounts []Mount) ([]boot.Mount, []string, error) {
	var out []boot.Mount
	var args []string
	for i, m := range mounts {
		bm := boot.Mount{Destination: m.Destination, Type: m.Type, Options: m.Options}
		switch m.Type {
		case "bind":
			src, err := filepath.Abs(m.Source)
			if err != nil {
				return nil, nil, err
			}
			st, err := os.Stat(src)
			if err != nil {
				return nil, nil, fmt.Errorf("mount %s: %w", m.Destination, err)
			}
			bm.Tree = fmt.Sprintf("v%d", i)
			if st.Mode().IsRegular() {
				bm.SubPath = filepath.Base(src)
			} else if !st.IsDir() {
				return nil, nil, fmt.Errorf("mount %s: %s is neither a directory nor a regular file", m.Destination, src)
			}
			mode := ":rw"
			for _, o := range m.Options {
				if o == "ro" {
					mode = ":ro"
				}
			}
			args = append(args, "--mount", bm.Tree+"="+src+mode)
		case "tmpfs":
		default:
			return nil, nil, fmt.Errorf("mount %s: type %q is not supported", m.Destination, m.Type)
		}
		out = append(out, bm)
	}
	return out, args, nil
}

// Sandbox is a running sandbox.
type Sandbox struct {
	gofer  *exec.Cmd
	sentry *exec.Cmd
	// overlay is the host overlay's temporary writable layer, nil
	// without one.
	overlay *overlayDir
}

// Start starts the gofer and the sentry.
func Start(opts Options) (_ *Sandbox, retErr error) {
	exe := opts.Exe
	if exe == "" {
		exe = "/proc/self/exe"
	}
	// The children inherit only the descriptors named here (see
	// StartPod).
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil && err != unix.ENOSYS {
		return nil, fmt.Errorf("marking descriptors close-on-exec: %w", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("creating gofer socket: %w", err)
	}
	sentryEnd := os.NewFile(uintptr(fds[0]), "gofer-client")
	goferEnd := os.NewFile(uintptr(fds[1]), "gofer-server")
	defer sentryEnd.Close()
	defer goferEnd.Close()

	goferArgs := []string{"gofer", "--root", opts.Root, "--fd", "3"}
	mounts, mountArgs, err := specMounts(opts.Mounts)
	if err != nil {
		return nil, err
	}
	goferArgs = append(goferArgs, mountArgs...)
	opts.Spec.Mounts = mounts
	// The gofer must not outlive its caller.
	goferAttr := goferSysProcAttr()
	goferAttr.Pdeathsig = syscall.SIGKILL
	var overlay *overlayDir
	var store *os.File
	switch opts.Overlay {
	case OverlayHost, OverlayStore:
		// A directory of its own, removed at the end (or by the next
		// sandbox's sweep, should this one be killed).
		overlay, err = newOverlayDir("", opts.Stderr)
		if err != nil {
			return nil, fmt.Errorf("creating overlay layer: %w", err)
		}
		defer func() {
			if retErr != nil {
				overlay.remove()
			}
		}()
		if opts.Overlay == OverlayHost {
			goferArgs = append(goferArgs, "--overlay", overlay.path)
			break
		}
		store, err = os.OpenFile(filepath.Join(overlay.path, storeName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating overlay store: %w", err)
		}
		defer store.Close()
		opts.Spec.RootOverlay = OverlayStore
	case OverlayMemory:
		opts.Spec.RootOverlay = OverlayMemory
	case OverlayNone, "":
		opts.Spec.RootReadOnly = true
	default:
		return nil, fmt.Errorf("unknown overlay mode %q", opts.Overlay)
	}
	g := exec.Command(exe, goferArgs...)
	g.ExtraFiles = []*os.File{goferEnd}
	g.Stderr = opts.Stderr
	g.SysProcAttr = goferAttr
	if err := g.Start(); err != nil {
		return nil, fmt.Errorf("starting gofer: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = g.Process.Kill()
			_ = g.Wait()
		}
	}()

	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating spec pipe: %w", err)
	}
	defer specR.Close()
	s := exec.Command(exe, "sentry")
	s.Stdin, s.Stdout, s.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	s.ExtraFiles = []*os.File{sentryEnd, specR} // fds 3 and 4
	if store != nil {
		s.ExtraFiles = append(s.ExtraFiles, nil, store) // boot.StoreFD
	}
	s.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Root confines the sentry as the daemon does a pod's. Without root
	// there are no host IDs to give it; it runs unconfined, as its
	// caller, who is the only user it could harm.
	if os.Geteuid() != 0 && !opts.Unconfined && opts.Stderr != nil {
		fmt.Fprintln(opts.Stderr, "cocoon do: not root: the sentry runs unconfined (it needs host IDs of its own); it runs as you")
	}
	if os.Geteuid() == 0 && !opts.Unconfined {
		idsMu.Lock()
		defer idsMu.Unlock()
		id, err := allocateSentryIDs()
		if err != nil {
			specW.Close()
			return nil, err
		}
		launch := newSentryLaunch(s, true, id)
		defer launch.started()
		launch.keepStore(store)
		if err := launch.handKVM(opts.Spec.Platform); err != nil {
			specW.Close()
			return nil, err
		}
		opts.Spec.Confine = launch.conf
	}
	if err := s.Start(); err != nil {
		specW.Close()
		if opts.Spec.Confine != nil && userNamespaceRefused(err) {
			return nil, fmt.Errorf("starting sentry: %w (%v)", ErrNoUserNamespace, err)
		}
		return nil, fmt.Errorf("starting sentry: %w", err)
	}
	err = json.NewEncoder(specW).Encode(&opts.Spec)
	specW.Close()
	if err != nil {
		_ = s.Process.Kill()
		_ = s.Wait()
		return nil, fmt.Errorf("sending spec to sentry: %w", err)
	}
	return &Sandbox{gofer: g, sentry: s, overlay: overlay}, nil
}

// Usage is what the sandbox's processes consumed, from wait4.
type Usage struct {
	SentryMaxRSSKiB int64
	GoferMaxRSSKiB  int64
}

// Usage returns the resource usage of the sandbox's processes once Wait
// has returned.
func (sb *Sandbox) Usage() Usage {
	var u Usage
	if ps := sb.sentry.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			u.SentryMaxRSSKiB = ru.Maxrss
		}
	}
	if ps := sb.gofer.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			u.GoferMaxRSSKiB = ru.Maxrss
		}
	}
	return u
}

// Signal sends sig to the sentry: SIGINT, SIGTERM and SIGHUP end the
// sandbox (its processes killed, the sentry's status 128+N), after which
// Wait cleans up as after any end.
func (sb *Sandbox) Signal(sig os.Signal) error {
	return sb.sentry.Process.Signal(sig)
}

// goferHangUpGrace is how long Wait gives the gofer to exit on its own
// once the sentry has (it does when its connection closes) before killing
// it.
const goferHangUpGrace = 5 * time.Second

// Wait waits for the sentry to exit, stops the gofer, and returns the
// sentry's exit code: the program's exit status, or 128+signal.
func (sb *Sandbox) Wait() (int, error) {
	err := sb.sentry.Wait()
	// The sentry's end closing ends the gofer; a kill covers a stuck one
	// (SIGKILL: a SIGTERM would have the gofer say on the program's
	// stderr that it was terminated).
	stuck := time.AfterFunc(goferHangUpGrace, func() { _ = sb.gofer.Process.Kill() })
	_ = sb.gofer.Wait()
	stuck.Stop()
	if sb.overlay != nil {
		// The gofer's mount namespace, and the overlay with it, is gone.
		sb.overlay.remove()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), fmt.Errorf("sentry killed by %v", ws.Signal())
		}
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return 125, err
	}
	return 0, nil
}
