package boot

// # Confinement of the sentry
//
// The sentry is where untrusted input lands, so once it has set up what
// it needs of the host (the memory file, the platform and its stub
// processes, the gofer connection, the pod's network) it gives up
// everything else, in confineSelf:
//
//   - Namespaces, which its parent (sandbox.StartPod, sandbox.Start)
//     created when it started it: mount, PID, IPC and UTS namespaces of
//     its own and, unless the pod uses the node's network, a user
//     namespace in which it is root, mapped to an unprivileged host user
//     of its own (sandbox allocates one per pod), so that nothing it does
//     is done as host root and another pod's sentry is another user.
//   - An empty root: first thing, its mounts are made private and a
//     small read-only tmpfs becomes its root (pivot_root(".", ".") and a
//     lazy unmount of the old root), holding only a procfs of its own
//     PID namespace, which starting the platform's stubs needs; so the
//     stubs, which copy the sentry's mount namespace when they start,
//     never see the host's files either. Once set up, the sentry
//     unmounts that procfs too, and no path resolves to anything.
//   - Descriptors: the ones its parent did not hand it are closed at
//     start-up (closeStrayFDs), before anything else opens one.
//   - Capabilities: every set emptied (bounding, ambient, inheritable,
//     permitted, effective), except what a hostNetwork pod's sockets need
//     of the node (binding ports below 1024, raw and ping sockets), and
//     no_new_privs set; the sentry stays root of its user namespace, so
//     it still owns (and may trace) the stub processes, whose user
//     namespaces it created. Not dumpable, so nothing running as its
//     host user may ptrace it or read its memory.
//   - seccomp: an allow-list (confine_rules_amd64.go) of the host
//     system calls it makes while serving, some only with safe
//     arguments: no open, no exec, no mount, no new socket of any kind
//     unless the pod uses the node's network, ioctl only with the
//     terminal, socket-queue and (on KVM) KVM requests, memory never
//     executable except on KVM, threads only. A refused call ends the
//     sentry by SIGSYS after one line on its log naming the call
//     (hostseccomp.InstallReporter), and the daemon sees a dead sandbox.
//
// Confinement happens only when the parent asks (Spec.Confine): it is
// the parent that knows it made the namespaces, without which
// pivot_root would move another process's root.

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/caps"
	"github.com/cocoonrt/cocoon/internal/hostseccomp"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/stubproc"

	// Names the refused calls (hostseccomp.SetNames).
	_ "github.com/cocoonrt/cocoon/sentry/syscalls"
)

// prepareConfinement is the first thing a sentry its parent asked to
// confine does: it checks that it has a mount namespace of its own, makes
// every mount in it private (nothing propagates to the host from then
// on), mounts a procfs of its own PID namespace over /proc (the host's
// shows the host's PIDs, and the platforms find their stubs by PID
// there), and closes inherited descriptors it was not handed.
func prepareConfinement(c *Confinement, log *slog.Logger) error {
	if err := checkOwnMountNS(); err != nil {
		return err
	}
	hostPID = readHostPID()
	// Loads the local time zone while /etc/localtime is there, for the
	// log's timestamps.
	time.Now().Zone()
	// While the host's procfs still names the Go runtime's own files
	// by their paths (runtimeFD).
	if err := closeStrayFDs(c.FDs, log); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("confinement: making mounts private: %w", err)
	}
	return emptyRoot()
}

// hostPID is the sentry's PID in the host's PID namespace (HostPID).
var hostPID = os.Getpid()

// HostPID returns the sentry's PID as the host sees it: in a PID
// namespace of its own it is 1 to itself.
func HostPID() int { return hostPID }

// readHostPID reads the sentry's host PID from the host's procfs, still
// mounted when prepareConfinement runs: the first of the NSpid line's
// PIDs, one per PID namespace from the host's down.
func readHostPID() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return os.Getpid()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if pid, err := strconv.Atoi(f[0]); err == nil {
					return pid
				}
			}
		}
	}
	return os.Getpid()
}

// closeStrayFDs closes every descriptor above stderr that the parent did
// not hand over (handed, plus GoferFD, SpecFD and ControlFD), except the
// Go runtime's own (runtimeFD). The parent already marks its own
// descriptors close-on-exec before it starts a sentry; this is the
// second line.
func closeStrayFDs(handed []int, log *slog.Logger) error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("listing descriptors: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 || fd == GoferFD || fd == SpecFD || fd == ControlFD || slices.Contains(handed, fd) {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory's own descriptor, closed already
		}
		if runtimeFD(fd, target) {
			continue
		}
		log.Warn("closing a descriptor the sentry inherited but was not handed", "fd", fd, "target", target)
		if err := unix.Close(fd); err != nil {
			return fmt.Errorf("closing inherited descriptor %d (%s): %w", fd, target, err)
		}
	}
	return nil
}

// runtimeFD reports whether fd, open on target, may be one the Go runtime
// opened before main: its poller's epoll and eventfd, and its cgroup CPU
// limit files, read-only.
func runtimeFD(fd int, target string) bool {
	if target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]" {
		return true
	}
	if !strings.HasPrefix(target, "/sys/fs/cgroup/") {
		return false
	}
	base := target[strings.LastIndexByte(target, '/')+1:]
	if base != "cpu.max" && base != "cpu.cfs_quota_us" && base != "cpu.cfs_period_us" {
		return false
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_ACCMODE == unix.O_RDONLY
}

// Confined says which layers confineSelf put in place, for the log and
// the daemon's reports.
type Confined struct {
	UserNS       bool
	HostUID      int
	Capabilities string
	Rules        int
	Platform     string
}

func (c Confined) logAttrs() []any {
	user := "node's user namespace, host root without capabilities"
	if c.UserNS {
		user = fmt.Sprintf("own user namespace as host uid %d", c.HostUID)
	}
	return []any{"user", user, "namespaces", "own mount/pid/ipc/uts", "root", "empty tmpfs",
		"capabilities", c.Capabilities, "no_new_privs", true, "seccomp_rules", c.Rules, "platform", c.Platform}
}

// confineSelf confines the sentry (see the top of this file). p is the
// running platform; hostNetwork says the pod's sockets are the node's.
func confineSelf(c *Confinement, p platform.Platform, hostNetwork bool, log *slog.Logger) (Confined, error) {
	out := Confined{UserNS: c.UserNS, HostUID: c.HostUID, Platform: p.Name()}
	if err := unix.Unmount("/proc", unix.MNT_DETACH); err != nil {
		return out, fmt.Errorf("confinement: unmounting /proc: %w", err)
	}
	keep := keptCapabilities(p, hostNetwork)
	if err := dropPrivileges(keep); err != nil {
		return out, err
	}
	out.Capabilities = capNames(keep)
	rules := sentryRules(p.Name(), hostNetwork)
	if len(rules) == 0 {
		return out, errors.New("confinement: the sentry's seccomp allow-list exists for amd64 only")
	}
	out.Rules = len(rules)
	deny := uint32(unix.SECCOMP_RET_TRAP)
	if os.Getenv("COCOON_SENTRY_SECCOMP") == "log" {
		// Finding the allow-list: refused calls run and are logged
		// by the kernel (audit type 1326) instead.
		deny = unix.SECCOMP_RET_LOG
		log.Warn("UNSAFE: the sentry's seccomp filter only logs (COCOON_SENTRY_SECCOMP=log)")
	}
	filter, err := hostseccomp.Build(unix.AUDIT_ARCH_X86_64, rules, deny)
	if err != nil {
		return out, err
	}
	if err := hostseccomp.InstallReporter("cocoon sentry", nil); err != nil {
		return out, err
	}
	if err := hostseccomp.Install(filter); err != nil {
		return out, err
	}
	return out, nil
}

// checkOwnMountNS fails unless the sentry has a mount namespace other
// than the host's (init's, as /proc shows it: the sentry's /proc is still
// the host's).
func checkOwnMountNS() error {
	var self, init unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &self); err != nil {
		return fmt.Errorf("confinement: reading the mount namespace: %w", err)
	}
	if unix.Stat("/proc/1/ns/mnt", &init) == nil && self.Dev == init.Dev && self.Ino == init.Ino {
		return errors.New("confinement: the sentry shares the host's mount namespace; its parent must start it in one of its own")
	}
	return nil
}

// emptyRoot makes the root a read-only tmpfs holding only /proc, a procfs
// of the sentry's PID namespace. The tmpfs is mounted over /proc, a
// directory every host has, in the sentry's own mount namespace, whose
// mounts prepareConfinement made private: nothing of the host changes.
func emptyRoot() error {
	const at = "/proc"
	if err := unix.Mount("tmpfs", at, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0555,size=4k,nr_inodes=4"); err != nil {
		return fmt.Errorf("confinement: mounting the empty root: %w", err)
	}
	if err := unix.Mkdir(at+"/proc", 0o555); err != nil {
		return fmt.Errorf("confinement: %w", err)
	}
	if err := unix.Mount("proc", at+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("confinement: mounting a procfs of the sentry's PID namespace: %w", err)
	}
	if err := unix.Chdir(at); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("confinement: pivot_root: %w", err)
	}
	// The old root is stacked on the new one: detach it, and with it
	// every host mount.
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("confinement: detaching the host's mounts: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("confinement: making the root read-only: %w", err)
	}
	return nil
}

// keptCapabilities are the capabilities the sentry keeps: none, but for a
// hostNetwork pod what its host sockets need, and, where the platform's
// stubs share the sentry's user namespace as another user (the host
// refused them one of their own), what tracing and killing them takes.
func keptCapabilities(p platform.Platform, hostNetwork bool) []int {
	var keep []int
	if hostNetwork {
		keep = append(keep, unix.CAP_NET_BIND_SERVICE, unix.CAP_NET_RAW)
	}
	if s, ok := p.(interface{ StubConfinement() stubproc.Confinement }); ok && !s.StubConfinement().Namespaces {
		keep = append(keep, unix.CAP_SYS_PTRACE, unix.CAP_KILL)
	}
	return keep
}

func capNames(caps []int) string {
	if len(caps) == 0 {
		return "none"
	}
	names := map[int]string{unix.CAP_NET_BIND_SERVICE: "NET_BIND_SERVICE", unix.CAP_NET_RAW: "NET_RAW", unix.CAP_SYS_PTRACE: "SYS_PTRACE", unix.CAP_KILL: "KILL"}
	var s []string
	for _, c := range caps {
		s = append(s, names[c])
	}
	return strings.Join(s, ",")
}

// dropPrivileges empties every capability set but keep, on every thread,
// and sets no_new_privs; the sentry becomes undumpable and dumps no core.
func dropPrivileges(keep []int) error {
	mask := caps.Mask(keep...)
	if err := caps.DropBounding(mask); err != nil {
		return fmt.Errorf("confinement: %w", err)
	}
	if err := caps.ClearAmbient(); err != nil {
		return fmt.Errorf("confinement: %w", err)
	}
	if err := caps.Set(mask); err != nil {
		return fmt.Errorf("confinement: %w", err)
	}
	if err := caps.AllThreadsPrctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("confinement: PR_SET_DUMPABLE: %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("confinement: RLIMIT_CORE: %w", err)
	}
	if err := caps.AllThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("confinement: no_new_privs: %w", err)
	}
	return nil
}
