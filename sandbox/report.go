package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// ConfinementReport says which layers confine a pod's processes on this
// host, for `cocoon version` and the daemon's verbose Status.
type ConfinementReport struct {
	// UserNamespaces: the host lets the sentry have a user namespace of
	// its own (as an unprivileged host user per pod).
	UserNamespaces bool `json:"userNamespaces"`
	// UserNamespaceError says why not.
	UserNamespaceError string `json:"userNamespaceError,omitempty"`
	// HostRootAllowed: the operator allows sentries without a user
	// namespace (AllowHostRootSentry) on a host that refuses them one.
	HostRootAllowed bool `json:"hostRootAllowed,omitempty"`
	// Sentry and Gofer list the layers of each.
	Sentry []string `json:"sentry"`
	Gofer  []string `json:"gofer"`
}

// Usable reports whether pods can start: a sentry gets a user namespace,
// or the operator accepted less.
func (r ConfinementReport) Usable() bool { return r.UserNamespaces || r.HostRootAllowed }

func (r ConfinementReport) String() string {
	return fmt.Sprintf("sentry: %s\ngofer:  %s", strings.Join(r.Sentry, ", "), strings.Join(r.Gofer, ", "))
}

var (
	// hostRootAllowed is AllowHostRootSentry's setting.
	hostRootAllowed bool
	// userNSProbe caches probeUserNamespace's answer.
	userNSProbe = sync.OnceValue(probeUserNamespace)
)

// AllowHostRootSentry lets sentries run without a user namespace, as host
// root without capabilities, on a host that refuses them one. It is the
// operator's choice (the daemon's insecure_sentry_host_root); call it
// before starting pods.
func AllowHostRootSentry(allow bool) { hostRootAllowed = allow }

// probeUserNamespace clones a process the way a pod's sentry is started
// (a user namespace with the sentry's two mappings, and its other
// namespaces) and reports why it could not. The child execs a path that
// does not exist: everything before the exec is the probe.
func probeUserNamespace() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root: sentries need root to get host IDs of their own")
	}
	const nowhere = "/nonexistent/cocoon-user-namespace-probe"
	cmd := exec.Command(nowhere)
	newSentryLaunch(cmd, true, SentryIDBase)
	err := cmd.Start()
	if err == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Confinement reports the layers on this host (the user namespace probe
// runs once per process).
func Confinement() ConfinementReport {
	r := ConfinementReport{HostRootAllowed: hostRootAllowed}
	if err := userNSProbe(); err != nil {
		r.UserNamespaceError = err.Error()
	} else {
		r.UserNamespaces = true
	}
	user := fmt.Sprintf("own user namespace, a host user of its own per pod (from %d)", SentryIDBase)
	switch {
	case !r.UserNamespaces && r.HostRootAllowed:
		user = "NO user namespace: host root without capabilities (insecure_sentry_host_root)"
	case !r.UserNamespaces:
		user = "UNAVAILABLE: no user namespace (" + r.UserNamespaceError + "); pods are refused"
	}
	r.Sentry = []string{user, "own mount/pid/ipc/uts namespaces", "empty read-only root", "no capabilities",
		"no_new_privs", "not dumpable", "seccomp allow-list of host system calls"}
	r.Gofer = []string{"own mount/pid/ipc/net/uts namespaces", "root holding only the pod's trees, nodev/nosuid",
		"5 file capabilities", "no_new_privs", "seccomp allow-list of host system calls", "openat2 RESOLVE_BENEATH"}
	return r
}
