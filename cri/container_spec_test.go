package cri

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/sentry/control"
)

func TestProcessArgs(t *testing.T) {
	img := v1.Config{Entrypoint: []string{"/entry"}, Cmd: []string{"cmd", "arg"}}
	for _, tt := range []struct {
		name          string
		command, args []string
		img           v1.Config
		want          []string
		err           bool
	}{
		{name: "image only", img: img, want: []string{"/entry", "cmd", "arg"}},
		{name: "args replace Cmd", args: []string{"x"}, img: img, want: []string{"/entry", "x"}},
		{name: "command drops Entrypoint and Cmd", command: []string{"/bin/sh"}, img: img, want: []string{"/bin/sh"}},
		{name: "command and args", command: []string{"/bin/sh"}, args: []string{"-c", "true"}, img: img, want: []string{"/bin/sh", "-c", "true"}},
		{name: "Cmd only", img: v1.Config{Cmd: []string{"sh"}}, want: []string{"sh"}},
		{name: "empty Entrypoint reset", img: v1.Config{Entrypoint: []string{""}, Cmd: []string{"sh"}}, want: []string{"sh"}},
		{name: "nothing", img: v1.Config{}, err: true},
		{name: "args only", args: []string{"echo"}, want: []string{"echo"}},
	} {
		got, err := processArgs(tt.command, tt.args, tt.img)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: processArgs = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	kv := func(k, v string) *runtimeapi.KeyValue { return &runtimeapi.KeyValue{Key: k, Value: []byte(v)} }
	for _, tt := range []struct {
		name     string
		hostname string
		image    []string
		req      []*runtimeapi.KeyValue
		want     []string
	}{
		{name: "defaults", want: []string{defaultPath}},
		{name: "hostname", hostname: "h", want: []string{defaultPath, "HOSTNAME=h"}},
		{name: "image PATH wins", image: []string{"PATH=/bin", "A=1"}, want: []string{"PATH=/bin", "A=1"}},
		{name: "request wins in place", image: []string{"A=1", "B=2"}, req: []*runtimeapi.KeyValue{kv("A", "x"), kv("C", "3")}, want: []string{defaultPath, "A=x", "B=2", "C=3"}},
		{name: "empty value and =", req: []*runtimeapi.KeyValue{kv("E", ""), kv("F", "a=b")}, want: []string{defaultPath, "E=", "F=a=b"}},
		{name: "image entry without =", image: []string{"NOVAL"}, req: []*runtimeapi.KeyValue{kv("NOVAL", "v")}, want: []string{defaultPath, "NOVAL=v"}},
	} {
		if got := mergeEnv(tt.hostname, tt.image, tt.req); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: mergeEnv = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestWorkingDir(t *testing.T) {
	for _, tt := range []struct{ req, img, want string }{
		{"", "", "/"}, {"", "/app", "/app"}, {"/w", "/app", "/w"},
	} {
		if got := workingDir(tt.req, v1.Config{WorkingDir: tt.img}); got != tt.want {
			t.Errorf("workingDir(%q, %q) = %q", tt.req, tt.img, got)
		}
	}
}

func TestContainerUser(t *testing.T) {
	i64 := func(v int64) *runtimeapi.Int64Value { return &runtimeapi.Int64Value{Value: v} }
	for _, tt := range []struct {
		name string
		sc   *runtimeapi.LinuxContainerSecurityContext
		img  string
		want userSpec
		err  bool
	}{
		{name: "none", want: userSpec{}},
		{name: "image uid", img: "1002", want: userSpec{user: "1002"}},
		{name: "image uid:gid", img: "1003:1004", want: userSpec{user: "1003", group: "1004"}},
		{name: "image name:group", img: "www-data:video", want: userSpec{user: "www-data", group: "video"}},
		{name: "run_as_user wins", sc: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: i64(7)}, img: "1002", want: userSpec{user: "7"}},
		{name: "run_as_username wins", sc: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: i64(7), RunAsUsername: "alice"}, want: userSpec{user: "alice"}},
		{name: "run_as_group", sc: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: i64(0), RunAsGroup: i64(9)}, img: "x:y", want: userSpec{user: "0", group: "9"}},
		{name: "group without user", sc: &runtimeapi.LinuxContainerSecurityContext{RunAsGroup: i64(9)}, err: true},
		{name: "negative", sc: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: i64(-1)}, err: true},
	} {
		got, err := containerUser(tt.sc, tt.img)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("%s: containerUser = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

// layersFixture makes a two-layer rootfs: the bottom layer has the
// test passwd and group; upper is empty unless a test writes to it.
func layersFixture(t *testing.T) (upper, lower string) {
	lower, upper = t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(lower, "etc/passwd"), testPasswd)
	writeFile(t, filepath.Join(lower, "etc/group"), testGroup)
	return upper, lower
}

func TestResolveUser(t *testing.T) {
	upper, lower := layersFixture(t)
	layers := []string{upper, lower}
	u := func(uid, gid uint32, add ...uint32) control.User {
		return control.User{UID: uid, GID: gid, AdditionalGIDs: add}
	}
	for _, tt := range []struct {
		name   string
		spec   userSpec
		extra  []int64
		strict bool
		want   control.User
		err    string
	}{
		{name: "default root", spec: userSpec{}, want: u(0, 0, 0, 10)},
		{name: "numeric listed", spec: userSpec{user: "1000"}, want: u(1000, 1000, 1000, 10, 44, 50000)},
		{name: "numeric unlisted", spec: userSpec{user: "1002"}, want: u(1002, 0, 0)},
		{name: "numeric both", spec: userSpec{user: "1003", group: "1004"}, want: u(1003, 1004, 1004)},
		{name: "name", spec: userSpec{user: "www-data"}, want: u(33, 33, 33)},
		{name: "name:gid", spec: userSpec{user: "www-data", group: "1004"}, want: u(33, 1004, 1004)},
		{name: "name:group", spec: userSpec{user: "alice", group: "video"}, want: u(1000, 44, 44, 10, 50000)},
		{name: "extra groups", spec: userSpec{user: "33"}, extra: []int64{5, 33, 6}, want: u(33, 33, 33, 5, 6)},
		{name: "strict", spec: userSpec{user: "alice"}, strict: true, extra: []int64{7}, want: u(1000, 1000, 1000, 7)},
		{name: "unknown user", spec: userSpec{user: "mallory"}, err: `user "mallory" is not in the image's /etc/passwd`},
		{name: "unknown group", spec: userSpec{user: "0", group: "staff"}, err: `group "staff"`},
		{name: "bad extra", spec: userSpec{user: "0"}, extra: []int64{-3}, err: "out of range"},
	} {
		got, err := resolveUser(layers, tt.spec, tt.extra, tt.strict)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: resolveUser = %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}

	// No /etc/passwd at all: numeric users work, names do not.
	empty := []string{t.TempDir()}
	if got, err := resolveUser(empty, userSpec{user: "5", group: "6"}, nil, false); err != nil || got.UID != 5 || got.GID != 6 {
		t.Errorf("numeric without passwd = %+v, %v", got, err)
	}
	if _, err := resolveUser(empty, userSpec{user: "alice"}, nil, false); err == nil {
		t.Error("a name resolved without /etc/passwd")
	}
}

func TestReadLayered(t *testing.T) {
	upper, lower := layersFixture(t)
	layers := []string{upper, lower}
	read := func() string {
		t.Helper()
		b, err := readLayered(layers, "/etc/passwd")
		if err != nil {
			return "error: " + err.Error()
		}
		return string(b)
	}
	if got := read(); got != testPasswd {
		t.Errorf("lower passwd: %q", got)
	}
	// The upper layer's file wins.
	writeFile(t, filepath.Join(upper, "etc/passwd"), "top:x:1:1::/:/bin/sh\n")
	if got := read(); !strings.HasPrefix(got, "top:") {
		t.Errorf("upper passwd: %q", got)
	}
	os.Remove(filepath.Join(upper, "etc/passwd"))

	// A symlink resolves inside the rootfs, across layers, absolute or
	// relative.
	os.MkdirAll(filepath.Join(lower, "usr/share"), 0o755)
	writeFile(t, filepath.Join(lower, "usr/share/passwd"), "shared:x:2:2::/:/bin/sh\n")
	os.Symlink("/usr/share/passwd", filepath.Join(upper, "etc/passwd"))
	if got := read(); !strings.HasPrefix(got, "shared:") {
		t.Errorf("absolute symlink: %q", got)
	}
	os.Remove(filepath.Join(upper, "etc/passwd"))
	os.Symlink("../usr/share/passwd", filepath.Join(upper, "etc/passwd"))
	if got := read(); !strings.HasPrefix(got, "shared:") {
		t.Errorf("relative symlink: %q", got)
	}
	os.Remove(filepath.Join(upper, "etc/passwd"))

	// A symlink that climbs out of the rootfs stays inside it (as ".."
	// at a root does): the host file next to the layers is not read.
	outside := filepath.Join(filepath.Dir(upper), "outside")
	writeFile(t, filepath.Join(outside, "passwd"), "evil:x:0:0::/:/bin/sh\n")
	rel, _ := filepath.Rel(filepath.Join(upper, "etc"), filepath.Join(outside, "passwd"))
	for _, target := range []string{rel, filepath.Join(outside, "passwd"), "../../../../../../../../" + strings.TrimPrefix(filepath.Join(outside, "passwd"), "/")} {
		os.Symlink(target, filepath.Join(upper, "etc/passwd"))
		if got := read(); strings.Contains(got, "evil") {
			t.Errorf("symlink %q was followed out of the rootfs: %q", target, got)
		}
		if _, err := resolveUser(layers, userSpec{user: "evil"}, nil, false); err == nil {
			t.Errorf("symlink %q: user evil resolved", target)
		}
		os.Remove(filepath.Join(upper, "etc/passwd"))
	}
	// A parent directory that is a symlink out of the rootfs is not
	// followed either.
	os.RemoveAll(filepath.Join(upper, "etc"))
	os.Symlink(outside, filepath.Join(upper, "etc"))
	if got := read(); strings.Contains(got, "evil") {
		t.Errorf("a symlinked /etc was followed out of the rootfs: %q", got)
	}
	os.Remove(filepath.Join(upper, "etc"))

	// Symlink loops end.
	os.MkdirAll(filepath.Join(upper, "etc"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(upper, "etc/passwd"))
	if got := read(); !strings.Contains(got, "too many levels") {
		t.Errorf("loop: %q", got)
	}
	os.Remove(filepath.Join(upper, "etc/passwd"))

	// A whiteout in the upper layer hides the lower file (needs
	// mknod, so root).
	if err := syscall.Mknod(filepath.Join(upper, "etc/passwd"), syscall.S_IFCHR, 0); err == nil {
		if got := read(); !strings.Contains(got, errNoFile.Error()) {
			t.Errorf("whited out: %q", got)
		}
		os.Remove(filepath.Join(upper, "etc/passwd"))
	} else {
		t.Logf("whiteout not tested: %v", err)
	}
	// An opaque directory in the upper layer hides the lower one's
	// entries (trusted.* xattrs need root and a file system that takes
	// them).
	if err := unix.Setxattr(filepath.Join(upper, "etc"), opaqueXattr, []byte("y"), 0); err == nil {
		if got := read(); !strings.Contains(got, errNoFile.Error()) {
			t.Errorf("behind an opaque /etc: %q", got)
		}
		writeFile(t, filepath.Join(upper, "etc/passwd"), "opaque:x:1:1::/:/bin/sh\n")
		if got := read(); !strings.HasPrefix(got, "opaque:") {
			t.Errorf("in an opaque /etc: %q", got)
		}
	} else {
		t.Logf("opaque directories not tested: %v", err)
	}
	// A file where the lower layer has a directory hides it.
	os.RemoveAll(filepath.Join(upper, "etc"))
	writeFile(t, filepath.Join(upper, "etc"), "not a dir")
	if got := read(); !strings.Contains(got, errNoFile.Error()) {
		t.Errorf("hidden by a file: %q", got)
	}
}

func TestCapabilities(t *testing.T) {
	for _, tt := range []struct {
		name      string
		add, drop []string
		want      []string
		err       bool
	}{
		{name: "default", want: defaultCaps},
		{name: "add", add: []string{"sys_admin", "CAP_NET_ADMIN"}, want: append(append([]string{}, defaultCaps...), "CAP_SYS_ADMIN", "CAP_NET_ADMIN")},
		{name: "drop", drop: []string{"CHOWN", "kill"}, want: []string{"CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"}},
		{name: "drop all", drop: []string{"ALL"}, want: []string{}},
		{name: "drop all add one", drop: []string{"all"}, add: []string{"NET_BIND_SERVICE"}, want: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "add all", add: []string{"ALL"}, want: allCaps},
		{name: "add all drop one", add: []string{"ALL"}, drop: []string{"SYS_ADMIN"}, want: func() []string {
			var out []string
			for _, c := range allCaps {
				if c != "CAP_SYS_ADMIN" {
					out = append(out, c)
				}
			}
			return out
		}()},
		{name: "unknown", add: []string{"CAP_FLY"}, err: true},
	} {
		got, err := capabilities(&runtimeapi.Capability{AddCapabilities: tt.add, DropCapabilities: tt.drop})
		if (err != nil) != tt.err || (!tt.err && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%s: capabilities = %q, %v; want %q", tt.name, got, err, tt.want)
		}
		if !tt.err && got == nil {
			t.Errorf("%s: nil capabilities mean the default set", tt.name)
		}
	}
}

func TestSignals(t *testing.T) {
	for in, want := range map[string]int{
		"SIGQUIT": 3, "quit": 3, "9": 9, "SIGTERM": 15, "SIGRTMIN": 34, "SIGRTMIN+3": 37, "RTMAX-2": 62, "SIGRTMAX": 64, "SIGCLD": 17, "SIGPWR": 30,
	} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "SIGFOO", "0", "65", "-1", "SIGRTMIN+40", "RTMIN-1"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("parseSignal(%q) accepted", bad)
		}
	}
	for v := range runtimeapi.Signal_name {
		s := runtimeapi.Signal(v)
		n, err := criSignal(s)
		if err != nil {
			t.Errorf("criSignal(%v): %v", s, err)
			continue
		}
		back := toCRISignal(n)
		if m, _ := criSignal(back); m != n {
			t.Errorf("%v -> %d -> %v", s, n, back)
		}
	}
	if n, _ := criSignal(runtimeapi.Signal_SIGNAL_SIGRTMINPLUS1); n != 35 {
		t.Errorf("SIGRTMIN+1 = %d", n)
	}
	if toCRISignal(17) != runtimeapi.Signal_SIGNAL_SIGCHLD || toCRISignal(0) != runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT {
		t.Error("toCRISignal")
	}
}

func TestToMounts(t *testing.T) {
	got, err := toMounts([]*runtimeapi.Mount{{HostPath: "/data", ContainerPath: "/mnt/data/", Readonly: true, SelinuxRelabel: true}})
	if err != nil || len(got) != 1 || got[0].HostPath != "/data" || got[0].ContainerPath != "/mnt/data" || !got[0].ReadOnly || got[0].Type != "bind" {
		t.Errorf("toMounts = %+v, %v", got, err)
	}
	for _, tt := range []struct {
		m    *runtimeapi.Mount
		want string
	}{
		{&runtimeapi.Mount{HostPath: "/a", ContainerPath: "/b", Propagation: runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL}, "PROPAGATION_BIDIRECTIONAL is not supported"},
		{&runtimeapi.Mount{HostPath: "/a", ContainerPath: "/b", Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}, "HOST_TO_CONTAINER"},
		{&runtimeapi.Mount{HostPath: "a", ContainerPath: "/b"}, "host_path"},
		{&runtimeapi.Mount{HostPath: "/a", ContainerPath: "b"}, "container_path"},
		{&runtimeapi.Mount{HostPath: "/a", ContainerPath: "/b", RecursiveReadOnly: true}, "recursive"},
		{&runtimeapi.Mount{ContainerPath: "/b", Image: &runtimeapi.ImageSpec{Image: "busybox"}}, "image volumes"},
		{&runtimeapi.Mount{HostPath: "/a", ContainerPath: "/b", UidMappings: []*runtimeapi.IDMapping{{}}}, "ID-mapped"},
	} {
		if _, err := toMounts([]*runtimeapi.Mount{tt.m}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("toMounts(%v) = %v, want %q", tt.m, err, tt.want)
		}
	}
}

func TestCheckLogPath(t *testing.T) {
	for p, ok := range map[string]bool{"": true, "c/0.log": true, "0.log": true, "a..b/x": true, "/abs": false, "../x": false, "c/../../x": false, "c/..": false} {
		if err := checkLogPath(p); (err == nil) != ok {
			t.Errorf("checkLogPath(%q) = %v", p, err)
		}
	}
}

func TestTUNDeviceIsTheSandboxs(t *testing.T) {
	if err := checkDevices([]*runtimeapi.Device{{HostPath: "/dev/net/tun", ContainerPath: "/dev/net/tun", Permissions: "rwm"}}); err != nil {
		t.Errorf("/dev/net/tun: %v", err)
	}
	for _, d := range []*runtimeapi.Device{
		{HostPath: "/dev/sda", ContainerPath: "/dev/sda"},
		{HostPath: "/dev/net/tun", ContainerPath: "/dev/tun"},
		{HostPath: "/dev/kvm", ContainerPath: "/dev/net/tun"},
	} {
		if err := checkDevices([]*runtimeapi.Device{d}); err == nil || !strings.Contains(err.Error(), "devices are not supported") {
			t.Errorf("%s at %s: %v, want refused", d.HostPath, d.ContainerPath, err)
		}
	}
	got, err := toMounts([]*runtimeapi.Mount{{HostPath: "/dev/net/tun", ContainerPath: "/dev/net/tun"}, {HostPath: "/data", ContainerPath: "/data"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].HostPath != "/data" {
		t.Errorf("mounts %+v: want only /data (the sandbox has its own /dev/net/tun)", got)
	}
}
