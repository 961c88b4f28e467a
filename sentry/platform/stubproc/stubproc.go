// Package stubproc starts the host processes in which the systrap and
// ptrace platforms run application code, confined.
//
// A stub process runs untrusted code. Its platform's seccomp filter keeps
// that code's system calls from the host kernel, but a second layer costs
// little: the stub runs as an unprivileged user (65534, "nobody", when the
// sentry is root; the sentry's own uid otherwise) in a user namespace of
// its own, with no capabilities, and in fresh mount, PID, network, IPC and
// UTS namespaces, so that a way around the filter would still find no host
// privilege, no host network and no other process to signal.
//
// A host that forbids user namespaces (user.max_user_namespaces=0, or a
// restrictive container around the node) still gets a stub with no
// capabilities where the sentry is root: it runs as nobody in the host's
// namespaces, and Start says so, for the sentry to log.
package stubproc

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
)

// nobody is the unprivileged ID stubs run as when the sentry is root.
const nobody = 65534

// Confinement says how a stub was confined.
type Confinement struct {
	// Namespaces is set when the stub has its own user, mount, PID,
	// network, IPC and UTS namespaces.
	Namespaces bool
	// UID is the stub's host user ID.
	UID int
	// Reason says why Namespaces is unset.
	Reason string
}

func (c Confinement) String() string {
	if c.Namespaces {
		return fmt.Sprintf("uid %d, no capabilities, own user/mount/pid/net/ipc/uts namespaces", c.UID)
	}
	return fmt.Sprintf("uid %d, host namespaces (%s)", c.UID, c.Reason)
}

// The descriptors of every stub process: the memory file's, and its
// store's when it has one (memfile.AttachStore).
const (
	MemFD   = 0
	StoreFD = 1
)

// FileOf returns the stub's descriptor for fr of mf, and the offset of fr
// in it.
func FileOf(mf *memfile.File, fr memfile.Range) (fd, off uintptr) {
	if store, off := mf.StoreOf(fr); store {
		return StoreFD, uintptr(off)
	}
	return MemFD, uintptr(fr.Start)
}

// MemFDs returns the descriptors a stub of mf holds, in order from MemFD:
// the memory file's, then its store's if it has one.
func MemFDs(mf *memfile.File) []int {
	if s := mf.Store(); s != nil {
		return []int{mf.FD(), s.FD()}
	}
	return []int{mf.FD()}
}

// Start executes img, a static ELF, as a traced stub process named name,
// with memFDs as its descriptors from 0 (MemFDs), and returns its PID (in
// the caller's PID namespace). The stub stops with SIGTRAP at its first instruction, as a
// traced exec does; it is killed when the calling thread exits.
func Start(img []byte, name string, memFDs []int) (int, Confinement, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return 0, Confinement{}, fmt.Errorf("creating the stub image: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, img); err != nil {
		return 0, Confinement{}, fmt.Errorf("writing the stub image: %w", err)
	}
	// The exec resolves this path in the child, after it has changed
	// user: /proc/self/fd of one's own process is always reachable.
	path := fmt.Sprintf("/proc/self/fd/%d", fd)
	hostUID, hostGID := os.Geteuid(), os.Getegid()
	uid, gid := hostUID, hostGID
	if hostUID == 0 {
		uid, gid = nobody, nobody
	}
	attr := func(namespaces bool) *syscall.ProcAttr {
		sys := &syscall.SysProcAttr{
			Ptrace:    true,
			Setsid:    true,
			Pdeathsig: syscall.SIGKILL,
		}
		if namespaces {
			sys.Cloneflags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID |
				unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS
			// Inside, the stub is nobody: not root of its namespace,
			// so it has no capabilities even there.
			sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: nobody, HostID: uid, Size: 1}}
			sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: nobody, HostID: gid, Size: 1}}
			sys.Credential = &syscall.Credential{Uid: nobody, Gid: nobody, NoSetGroups: true}
		} else if hostUID == 0 {
			// Leaves the supplementary groups empty.
			sys.Credential = &syscall.Credential{Uid: nobody, Gid: nobody}
		}
		files := make([]uintptr, len(memFDs))
		for i, fd := range memFDs {
			files[i] = uintptr(fd)
		}
		return &syscall.ProcAttr{Env: []string{}, Files: files, Sys: sys}
	}
	pid, err := syscall.ForkExec(path, []string{name}, attr(true))
	if err == nil {
		return pid, Confinement{Namespaces: true, UID: uid}, nil
	}
	if !namespacesRefused(err) {
		return 0, Confinement{}, err
	}
	reason := fmt.Sprintf("the host refused a user namespace: %v", err)
	pid, err = syscall.ForkExec(path, []string{name}, attr(false))
	if err != nil {
		return 0, Confinement{}, err
	}
	return pid, Confinement{UID: uid, Reason: reason}, nil
}

// namespacesRefused reports whether err is how clone or the ID-map writes
// refuse new namespaces: disabled (EPERM, EACCES), over the limit (ENOSPC,
// EUSERS) or not built in (EINVAL).
func namespacesRefused(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOSPC) ||
		errors.Is(err, unix.EUSERS) || errors.Is(err, unix.EINVAL)
}

// Injector makes system call nr with args in a stopped, traced stub and
// returns its result.
type Injector func(nr uintptr, args ...uintptr) (uintptr, error)

// KeepOnlyMemFDs closes every descriptor of stub pid from n on, keeping
// the n memory file descriptors Start gave it, by injecting the calls
// through inject. Start hands the stub only those, but syscall.ForkExec also leaves it every descriptor of the
// caller that lacks close-on-exec: the stub, and every stub forked from
// it, must hold none of the sentry's (a pod's packet socket, a gofer
// connection) whether or not every one of them is close-on-exec.
func KeepOnlyMemFDs(pid int, inject Injector, n int) error {
	_, err := inject(unix.SYS_CLOSE_RANGE, uintptr(n), math.MaxUint32, 0)
	if err == nil {
		return nil
	}
	if err != unix.ENOSYS {
		return fmt.Errorf("stubproc: closing the stub's other descriptors: %w", err)
	}
	// Before Linux 5.9: one at a time.
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return fmt.Errorf("stubproc: listing the stub's descriptors: %w", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < n {
			continue
		}
		if _, err := inject(unix.SYS_CLOSE, uintptr(fd)); err != nil && err != unix.EBADF {
			return fmt.Errorf("stubproc: closing the stub's descriptor %d: %w", fd, err)
		}
	}
	return nil
}
