package cri

// Merging a CRI ContainerConfig with the image's config into the
// container's process, the way kubelet expects from containerd: these
// are pure functions, tested by table.

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/podsandbox"
)

// defaultPath is the PATH a container gets when neither the image nor
// the request sets one (containerd's and runc's default).
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// parseImageConfig parses an image config JSON. An image without one
// (never from a registry, but possible from an archive) has no
// defaults.
func parseImageConfig(raw []byte) (v1.Config, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return v1.Config{}, nil
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return v1.Config{}, fmt.Errorf("image config: %w", err)
	}
	return cf.Config, nil
}

// processArgs is the container's argv (containerd's getProcessArgs,
// itself Docker's rule): with no command in the request, the image's
// Entrypoint followed by the request's args, or by the image's Cmd
// when the request has no args either; with a command, the command and
// the request's args only.
func processArgs(command, args []string, img v1.Config) ([]string, error) {
	var argv []string
	if len(command) == 0 {
		// An Entrypoint of [""] means none (docker's way to reset it).
		if !(len(img.Entrypoint) == 1 && img.Entrypoint[0] == "") {
			argv = append(argv, img.Entrypoint...)
		}
		if len(args) == 0 {
			args = img.Cmd
		}
	} else {
		argv = append(argv, command...)
	}
	argv = append(argv, args...)
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command specified: the request has no command or args and the image has no Entrypoint or Cmd")
	}
	return argv, nil
}

// mergeEnv is the container's environment: PATH's default, then
// HOSTNAME, then the image's Env, then the request's envs; a later
// entry replaces an earlier one with the same name, in place.
func mergeEnv(hostname string, image []string, req []*runtimeapi.KeyValue) []string {
	var env []string
	idx := map[string]int{}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			env[i] = kv
			return
		}
		idx[k] = len(env)
		env = append(env, kv)
	}
	set(defaultPath)
	if hostname != "" {
		set("HOSTNAME=" + hostname)
	}
	for _, kv := range image {
		set(kv)
	}
	for _, kv := range req {
		set(kv.GetKey() + "=" + string(kv.GetValue()))
	}
	return env
}

// workingDir is the request's working dir, else the image's, else "/".
func workingDir(req string, img v1.Config) string {
	switch {
	case req != "":
		return req
	case img.WorkingDir != "":
		return img.WorkingDir
	}
	return "/"
}

// userSpec is the user a container runs as, before names are looked
// up: user is a name or a number, group (optional) too.
type userSpec struct {
	user, group string
}

// containerUser picks the container's user: the security context's
// run_as_username or run_as_user (with run_as_group), else the image's
// User ("uid", "uid:gid", "name", "name:group"). A group without a user
// is an error, as in containerd.
func containerUser(sc *runtimeapi.LinuxContainerSecurityContext, imageUser string) (userSpec, error) {
	var u userSpec
	if sc.GetRunAsUser() != nil {
		if v := sc.GetRunAsUser().GetValue(); v < 0 || v > 1<<32-2 {
			return u, fmt.Errorf("run_as_user %d is out of range", v)
		}
		u.user = strconv.FormatInt(sc.GetRunAsUser().GetValue(), 10)
	}
	if sc.GetRunAsUsername() != "" {
		u.user = sc.GetRunAsUsername()
	}
	if sc.GetRunAsGroup() != nil {
		if v := sc.GetRunAsGroup().GetValue(); v < 0 || v > 1<<32-2 {
			return u, fmt.Errorf("run_as_group %d is out of range", v)
		}
		u.group = strconv.FormatInt(sc.GetRunAsGroup().GetValue(), 10)
	}
	if u.user == "" {
		if u.group != "" {
			return u, fmt.Errorf("run_as_group %s is given without run_as_user or run_as_username", u.group)
		}
		u.user, u.group, _ = strings.Cut(imageUser, ":")
	}
	return u, nil
}

// defaultCaps is the capability set of a container that asks for no
// change: runc's and containerd's default.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCaps are Linux's capabilities, in number order.
var allCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// capabilities applies the request's add and drop lists to the default
// set as containerd does: "ALL" in add starts from every capability,
// "ALL" in drop from none, then single adds, then single drops. Names
// may omit "CAP_" and are case-insensitive. The result is never nil (an
// empty list means no capabilities, not the default).
func capabilities(c *runtimeapi.Capability) ([]string, error) {
	norm := func(n string) (string, error) {
		n = strings.ToUpper(strings.TrimSpace(n))
		if !strings.HasPrefix(n, "CAP_") {
			n = "CAP_" + n
		}
		if !slices.Contains(allCaps, n) {
			return "", fmt.Errorf("unknown capability %q", trunc(n))
		}
		return n, nil
	}
	isAll := func(n string) bool { return strings.EqualFold(strings.TrimSpace(n), "ALL") }
	caps := slices.Clone(defaultCaps)
	if slices.ContainsFunc(c.GetAddCapabilities(), isAll) {
		caps = slices.Clone(allCaps)
	}
	if slices.ContainsFunc(c.GetDropCapabilities(), isAll) {
		caps = []string{}
	}
	for _, a := range c.GetAddCapabilities() {
		if isAll(a) {
			continue
		}
		n, err := norm(a)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(caps, n) {
			caps = append(caps, n)
		}
	}
	for _, d := range c.GetDropCapabilities() {
		if isAll(d) {
			continue
		}
		n, err := norm(d)
		if err != nil {
			return nil, err
		}
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == n })
	}
	return caps, nil
}

// signals are Linux's (amd64) signal numbers by name, with the aliases
// images and CRI use.
var signals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
	"FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
	"TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
	"TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
	"WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}

const (
	sigRTMin = 34
	sigRTMax = 64
)

// parseSignal parses a stop signal as images write it: "SIGQUIT",
// "QUIT", "3", "SIGRTMIN+3", "RTMAX-2".
func parseSignal(s string) (int, error) {
	orig := s
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, fmt.Errorf("signal %d is out of range", n)
		}
		return n, nil
	}
	s = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	if n, ok := signals[s]; ok {
		return n, nil
	}
	for _, rt := range []struct {
		name string
		base int
		sign int
	}{{"RTMIN", sigRTMin, 1}, {"RTMAX", sigRTMax, -1}} {
		rest, ok := strings.CutPrefix(s, rt.name)
		if !ok {
			continue
		}
		if rest == "" {
			return rt.base, nil
		}
		op := "+"
		if rt.sign < 0 {
			op = "-"
		}
		if off, ok := strings.CutPrefix(rest, op); ok {
			if n, err := strconv.Atoi(off); err == nil && n >= 0 && n <= sigRTMax-sigRTMin {
				return rt.base + rt.sign*n, nil
			}
		}
	}
	return 0, fmt.Errorf("unknown signal %q", trunc(orig))
}

// criSignal is the number of a CRI Signal; 0 for RUNTIME_DEFAULT.
func criSignal(s runtimeapi.Signal) (int, error) {
	if s == runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT {
		return 0, nil
	}
	name, ok := runtimeapi.Signal_name[int32(s)]
	if !ok {
		return 0, fmt.Errorf("unknown stop_signal %d", s)
	}
	name = strings.TrimPrefix(name, "SIGNAL_")
	name = strings.Replace(name, "RTMINPLUS", "RTMIN+", 1)
	name = strings.Replace(name, "RTMAXMINUS", "RTMAX-", 1)
	return parseSignal(name)
}

// toCRISignal is the CRI Signal of a signal number (RUNTIME_DEFAULT
// for 0 or a number CRI has no name for).
func toCRISignal(n int) runtimeapi.Signal {
	var name string
	switch {
	case n == 0:
		return runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT
	case canonicalSignal(n) != "":
		name = "SIGNAL_SIG" + canonicalSignal(n)
	case n == sigRTMin:
		name = "SIGNAL_SIGRTMIN"
	case n == sigRTMax:
		name = "SIGNAL_SIGRTMAX"
	case n > sigRTMin && n <= sigRTMin+15:
		name = fmt.Sprintf("SIGNAL_SIGRTMINPLUS%d", n-sigRTMin)
	case n > sigRTMin+15 && n < sigRTMax:
		name = fmt.Sprintf("SIGNAL_SIGRTMAXMINUS%d", sigRTMax-n)
	}
	return runtimeapi.Signal(runtimeapi.Signal_value[name])
}

// canonicalSignal is the usual name of a standard signal number ("" if
// none).
func canonicalSignal(n int) string {
	for _, name := range []string{"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"} {
		if signals[name] == n {
			return name
		}
	}
	return ""
}

// toMounts translates the request's mounts. Host paths are bind
// mounted by the gofer; what a sandbox cannot do is refused.
func toMounts(in []*runtimeapi.Mount) ([]podsandbox.Mount, error) {
	if len(in) > maxListLen {
		return nil, fmt.Errorf("%d mounts (at most %d)", len(in), maxListLen)
	}
	var out []podsandbox.Mount
	for i, m := range in {
		where := fmt.Sprintf("mounts[%d] (%s)", i, trunc(m.GetContainerPath()))
		if len(m.GetContainerPath()) > maxFieldLen || len(m.GetHostPath()) > maxFieldLen {
			return nil, fmt.Errorf("%s: path longer than %d bytes", where, maxFieldLen)
		}
		if m.GetImage() != nil && m.GetImage().GetImage() != "" {
			return nil, fmt.Errorf("%s: image volumes are not supported yet", where)
		}
		if !path.IsAbs(m.GetContainerPath()) {
			return nil, fmt.Errorf("%s: container_path must be absolute", where)
		}
		if !path.IsAbs(m.GetHostPath()) {
			return nil, fmt.Errorf("%s: host_path %q must be absolute", where, trunc(m.GetHostPath()))
		}
		switch m.GetPropagation() {
		case runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER, runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			return nil, fmt.Errorf("%s: mount propagation %s is not supported: the sandbox's mounts are served by the gofer and do not see host mount events", where, m.GetPropagation())
		default:
			return nil, fmt.Errorf("%s: unknown mount propagation %d", where, m.GetPropagation())
		}
		if len(m.GetUidMappings()) > 0 || len(m.GetGidMappings()) > 0 {
			return nil, fmt.Errorf("%s: ID-mapped mounts are not supported (cocoon has no user namespaces yet)", where)
		}
		if m.GetRecursiveReadOnly() {
			return nil, fmt.Errorf("%s: recursive read-only mounts are not supported yet", where)
		}
		if isTUN(m.GetHostPath(), m.GetContainerPath()) {
			// The sandbox's own /dev/net/tun is there already.
			continue
		}
		// selinux_relabel is ignored: the sandbox's files are opened
		// by the gofer, not by the application's host context.
		out = append(out, podsandbox.Mount{
			Type:          "bind",
			HostPath:      m.GetHostPath(),
			ContainerPath: path.Clean(m.GetContainerPath()),
			ReadOnly:      m.GetReadonly(),
			Options:       slices.Clone(m.GetMountOptions()),
		})
	}
	return out, nil
}

// checkLogPath checks a container's log_path: relative to the pod's
// log directory and inside it.
func checkLogPath(p string) error {
	if p == "" {
		return nil
	}
	if path.IsAbs(p) {
		return fmt.Errorf("log_path %q must be relative to the pod's log_directory", trunc(p))
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return fmt.Errorf("log_path %q must not contain \"..\"", trunc(p))
		}
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("log_path holds a NUL byte")
	}
	return nil
}

// restrictedPaths are the container's read-only and masked paths, as the
// security context names them (kubelet sends its defaults, /proc/kcore
// and the like, unless the pod asks for procMount Unmasked). nil, when
// the request has no security context or no list, masks nothing.
func restrictedPaths(sc *runtimeapi.LinuxContainerSecurityContext) (readonly, masked []string, err error) {
	for _, l := range []struct {
		name  string
		paths []string
	}{{"readonly_paths", sc.GetReadonlyPaths()}, {"masked_paths", sc.GetMaskedPaths()}} {
		for _, p := range l.paths {
			if !path.IsAbs(p) || strings.ContainsRune(p, 0) {
				return nil, nil, fmt.Errorf("linux.security_context.%s: %q is not an absolute path", l.name, p)
			}
		}
	}
	return slices.Clone(sc.GetReadonlyPaths()), slices.Clone(sc.GetMaskedPaths()), nil
}

// pidNamespace is the PID namespace a container's processes live in,
// from its namespace options as containerd reads them: CONTAINER its
// own, POD the pod's shared one, TARGET that of container target (an
// ephemeral container's, which the caller checks is in the pod). A
// request without namespace options follows the pod: kubelet always
// sends them, and a bare client (crictl without a security context)
// gets what the pod asked for.
func pidNamespace(ns *runtimeapi.NamespaceOption, pod *podsandbox.Pod) (string, error) {
	if ns == nil {
		if pod.Config.SharePIDNamespace {
			return podsandbox.PIDNamespacePod, nil
		}
		return podsandbox.PIDNamespaceContainer, nil
	}
	switch ns.GetPid() {
	case runtimeapi.NamespaceMode_CONTAINER:
		return podsandbox.PIDNamespaceContainer, nil
	case runtimeapi.NamespaceMode_POD:
		return podsandbox.PIDNamespacePod, nil
	case runtimeapi.NamespaceMode_TARGET:
		if ns.GetTargetId() == "" {
			return "", fmt.Errorf("namespace_options.pid TARGET without a target_id")
		}
		return podsandbox.PIDNamespaceOf(ns.GetTargetId()), nil
	}
	return "", fmt.Errorf("namespace_options.pid %v is not supported", ns.GetPid())
}
