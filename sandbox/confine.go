package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// A confined sentry (sentry/boot/confine.go) is started here in fresh
// mount, PID, IPC and UTS namespaces and, unless its pod uses the node's
// network, a user namespace mapping its root to a host user of its own
// (ids.go) and its nobody to the next one, for the stubs. What it needs
// of the host that its user could not get itself, the parent opens for it
// and hands over: the pod's links (network.go) and /dev/kvm.

// sentryNamespaces are the namespaces every confined sentry gets.
const sentryNamespaces = syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS

// nobody is the stubs' user inside the sentry's namespace
// (sentry/platform/stubproc).
const nobody = 65534

// ErrNoUserNamespace says the host refused the sentry a user namespace.
var ErrNoUserNamespace = errors.New("the host refused a user namespace for the sentry (user.max_user_namespaces, or a security module); without one the sentry would run as host root, without capabilities")

// sentryLaunch is a confined sentry's command being prepared.
type sentryLaunch struct {
	cmd  *exec.Cmd
	conf *boot.Confinement
	// handed are the files appended to cmd.ExtraFiles, closed here
	// once the sentry started.
	handed []*os.File
}

// newSentryLaunch makes cmd start a confined sentry; with userNS, in a
// user namespace as host ID id (and id+1 for its stubs).
func newSentryLaunch(cmd *exec.Cmd, userNS bool, id int) *sentryLaunch {
	attr := cmd.SysProcAttr
	if attr == nil {
		attr = &syscall.SysProcAttr{}
		cmd.SysProcAttr = attr
	}
	attr.Cloneflags |= sentryNamespaces
	conf := &boot.Confinement{UserNS: userNS, HostUID: os.Geteuid(), HostGID: os.Getegid()}
	if userNS {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: id, Size: 1}, {ContainerID: nobody, HostID: id + 1, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: id, Size: 1}, {ContainerID: nobody, HostID: id + 1, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
		// Root of the namespace, i.e. host ID id: the exec then
		// gives it every capability there (and none outside).
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
		conf.HostUID, conf.HostGID = id, id
	}
	return &sentryLaunch{cmd: cmd, conf: conf}
}

// hand appends f to the sentry's descriptors and returns its number
// there.
func (l *sentryLaunch) hand(f *os.File) int {
	l.cmd.ExtraFiles = append(l.cmd.ExtraFiles, f)
	l.handed = append(l.handed, f)
	fd := 2 + len(l.cmd.ExtraFiles)
	l.conf.FDs = append(l.conf.FDs, fd)
	return fd
}

// keepStore lets the sentry keep store, which the caller placed at
// boot.StoreFD, if it is not nil.
func (l *sentryLaunch) keepStore(store *os.File) {
	if store != nil {
		l.conf.FDs = append(l.conf.FDs, boot.StoreFD)
	}
}

// handKVM opens /dev/kvm for a sentry on the KVM platform.
func (l *sentryLaunch) handKVM(platformName string) error {
	if platformName != probe.KVM {
		return nil
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		// Unavailable, as the platform's own probe says when the
		// device does not work: callers tell a missing platform from
		// a failing sandbox by it.
		return fmt.Errorf("%w: kvm: opening /dev/kvm for the sentry: %w", platform.ErrUnavailable, err)
	}
	l.conf.KVMFD = l.hand(f)
	return nil
}

// started closes the parent's copies of the handed files.
func (l *sentryLaunch) started() {
	for _, f := range l.handed {
		f.Close()
	}
	l.handed = nil
}

// userNamespaceRefused reports whether err is how clone or the ID-map
// writes refuse a user namespace.
func userNamespaceRefused(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOSPC) ||
		errors.Is(err, unix.EUSERS) || errors.Is(err, unix.EINVAL)
}

// goferSysProcAttr starts a gofer (gofer/confine.go) in namespaces of its
// own: a mount namespace, where it pivots into a root holding only the
// trees it serves (and mounts the host overlay, if any, so that it
// vanishes with the gofer), and empty PID, IPC, network and UTS
// namespaces, which it has no use for. It stays in the node's user
// namespace, as root with five file capabilities: it serves files of
// every owner. Without root, a user namespace that maps only the
// caller's own IDs (to 0) gives it the capabilities it needs to confine
// itself; files of other owners then show as the overflow ID (65534),
// and only the caller's IDs can be given.
func goferSysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	return attr
}
