package registry

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The images the CRI validation suite (critest, sigs.k8s.io/cri-tools
// v1.37) pulls, rebuilt from what this machine has: Debian's
// busybox-static and small static C programs that gcc compiles at build
// time. Each image is what the specs rely on, not a copy of the upstream
// image: see /work/shared/CRITEST-NOTES.md and cri-tools'
// pkg/validate/*.go.

// CritestImage is one image critest pulls.
type CritestImage struct {
	// Refs are the names critest uses for it
	// ("registry.k8s.io/e2e-test-images/busybox:1.29-2"); all of them
	// share Path.
	Refs []string
	// Path is the repository path and tag, the part after the registry
	// host ("e2e-test-images/busybox:1.29-2"): where Push puts it in a
	// registry that mirrors the hosts of Refs.
	Path string
	// About says what it holds.
	About string
	Image v1.Image
}

// CritestRegistryHosts are the registries critest's image names point
// at (and the usual public ones), which MirrorHosts points at a test
// registry.
var CritestRegistryHosts = []string{"registry.k8s.io", "k8s.gcr.io", "gcr.io", "docker.io", "registry-1.docker.io", "quay.io"}

// CritestUnreproducible are the images critest pulls that cannot be
// rebuilt: a digest pins the upstream content.
var CritestUnreproducible = []string{
	"gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:9700f9a2f5bf2c45f2f605a0bd3bce7cf37420ec9d3ed50ac2758413308766bf",
}

// NginxPidFile is where the nginx stand-in writes its pid (the critest
// HostPID spec reads it).
const NginxPidFile = "/var/run/nginx.pid"

const (
	e2eImages = "registry.k8s.io/e2e-test-images/"
	criTools  = "gcr.io/k8s-staging-cri-tools/"
)

// CritestImages builds every image critest pulls, compiling the C
// programs in workDir with gcc (-static). It needs BusyboxPath
// (ErrNoBusybox otherwise) and gcc with a static libc.
//
// The busybox of the images is Debian's busybox-static with every applet
// a hard link to /bin/busybox; it is built with FEATURE_SH_STANDALONE, so
// `sh -c ls` runs the ls applet in-process rather than /bin/ls, and the
// MaskedPaths spec (which masks /bin/ls) fails with it on any runtime.
func CritestImages(workDir string) ([]CritestImage, error) {
	return CritestImagesWith(workDir, BusyboxPath)
}

// CritestImagesWith is CritestImages with the busybox binary at busybox
// instead of BusyboxPath: one built without FEATURE_SH_STANDALONE (such
// as Debian's dynamically linked busybox, from `apt-get download
// busybox`) lets the MaskedPaths spec pass. A dynamically linked one
// comes with its ELF interpreter and shared libraries from this machine,
// at the paths it asks for.
func CritestImagesWith(workDir, busybox string) ([]CritestImage, error) {
	bins, err := buildCritestPrograms(workDir)
	if err != nil {
		return nil, err
	}
	base, err := critestBusyboxLayer(busybox, bins)
	if err != nil {
		return nil, err
	}

	var out []CritestImage
	add := func(about, path string, refs []string, img v1.Image, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, CritestImage{Refs: refs, Path: path, About: about, Image: img})
		return nil
	}
	ref := func(prefix, path string) []string { return []string{prefix + path} }

	bbCfg := func(c *v1.Config) { c.Cmd = []string{"sh"} }
	img, err := critestImage(bbCfg, base)
	if err := add("busybox (hard links), pgrep, ipcs, /etc/passwd and /etc/group with root, www-data (33), nobody (65534); Cmd sh",
		"e2e-test-images/busybox:1.29-2", ref("registry.k8s.io/", "e2e-test-images/busybox:1.29-2"), img, err); err != nil {
		return nil, err
	}

	// The web servers: one C program, two flavours.
	nginxBin, err := layer(types.DockerLayer,
		dir("usr/"), dir("usr/sbin/"),
		entry{name: "usr/sbin/nginx", typ: tar.TypeReg, mode: 0o755, body: bins["nginx"]},
		dir("usr/share/"), dir("usr/share/nginx/"), dir("usr/share/nginx/html/"),
		file("usr/share/nginx/html/index.html", nginxIndex),
		dir("var/"), dir("var/run/"), dir("var/log/"), dir("var/log/nginx/"),
	)
	if err != nil {
		return nil, err
	}
	nginxConf := func(port int) (v1.Layer, error) {
		return layer(types.DockerLayer, dir("etc/"), dir("etc/nginx/"), dir("etc/nginx/conf.d/"),
			file("etc/nginx/conf.d/default.conf", fmt.Sprintf("server {\n    listen       %d;\n    server_name  localhost;\n    location / {\n        root   /usr/share/nginx/html;\n        index  index.html;\n    }\n}\n", port)))
	}
	nginxCfg := func(port int) func(*v1.Config) {
		return func(c *v1.Config) {
			c.Cmd = []string{"nginx", "-g", "daemon off;"}
			c.ExposedPorts = map[string]struct{}{fmt.Sprintf("%d/tcp", port): {}}
			c.StopSignal = "SIGTERM"
		}
	}
	conf80, err := nginxConf(80)
	if err != nil {
		return nil, err
	}
	img, err = critestImage(nginxCfg(80), base, nginxBin, conf80)
	if err := add("busybox + an nginx stand-in: /usr/sbin/nginx serves /usr/share/nginx/html on :80, re-execs itself as \"nginx: master process nginx -g daemon off;\", writes "+NginxPidFile,
		"e2e-test-images/nginx:1.14-2", ref(e2eImages, "nginx:1.14-2"), img, err); err != nil {
		return nil, err
	}
	conf12003, err := nginxConf(12003)
	if err != nil {
		return nil, err
	}
	img, err = critestImage(nginxCfg(12003), base, nginxBin, conf12003)
	hostnet := "k8s-staging-cri-tools/hostnet-nginx-" + runtime.GOARCH + ":latest"
	if err := add("the nginx stand-in listening on :12003", hostnet, ref("gcr.io/", hostnet), img, err); err != nil {
		return nil, err
	}

	httpdLayer, err := layer(types.DockerLayer,
		dir("usr/"), dir("usr/local/"), dir("usr/local/bin/"),
		// The real image's entry point is this script. The path is
		// absolute: busybox's sh would run its own httpd applet.
		entry{name: "usr/local/bin/httpd-foreground", typ: tar.TypeReg, mode: 0o755,
			body: []byte("#!/bin/sh\nset -e\nrm -f /usr/local/apache2/logs/httpd.pid\nexec /usr/local/apache2/bin/httpd -DFOREGROUND \"$@\"\n")},
		dir("usr/local/apache2/"), dir("usr/local/apache2/bin/"), dir("usr/local/apache2/logs/"),
		entry{name: "usr/local/apache2/bin/httpd", typ: tar.TypeReg, mode: 0o755, body: bins["httpd"]},
		dir("usr/local/apache2/htdocs/"),
		file("usr/local/apache2/htdocs/index.html", "<html><body><h1>It works!</h1></body></html>\n"),
	)
	if err != nil {
		return nil, err
	}
	img, err = critestImage(func(c *v1.Config) {
		c.Cmd = []string{"httpd-foreground"}
		c.Env = []string{"PATH=/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HTTPD_PREFIX=/usr/local/apache2"}
		c.WorkingDir = "/usr/local/apache2"
		c.ExposedPorts = map[string]struct{}{"80/tcp": {}}
		c.StopSignal = "SIGWINCH"
	}, base, httpdLayer)
	if err := add("busybox + an httpd stand-in: httpd-foreground prints a line with \"httpd\" and serves /usr/local/apache2/htdocs on :80; stops on SIGWINCH",
		"e2e-test-images/httpd:2.4.39-4", ref(e2eImages, "httpd:2.4.39-4"), img, err); err != nil {
		return nil, err
	}

	nnpLayer, err := layer(types.DockerLayer, dir("usr/"), dir("usr/local/"), dir("usr/local/bin/"),
		entry{name: "usr/local/bin/nnp", typ: tar.TypeReg, mode: 0o4755, body: bins["nnp"]})
	if err != nil {
		return nil, err
	}
	img, err = critestImage(func(c *v1.Config) { c.Cmd = []string{"/usr/local/bin/nnp"} }, base, nnpLayer)
	if err := add("busybox + /usr/local/bin/nnp, setuid root (04755, 0:0), prints \"Effective uid: N\"",
		"e2e-test-images/nonewprivs:1.3", ref(e2eImages, "nonewprivs:1.3"), img, err); err != nil {
		return nil, err
	}

	pauseLayer, err := layer(types.DockerLayer, entry{name: "pause", typ: tar.TypeReg, mode: 0o755, body: bins["pause"]})
	if err != nil {
		return nil, err
	}
	img, err = critestImage(func(c *v1.Config) {
		c.Entrypoint = []string{"/pause"}
		c.User = "65535:65535"
		c.Env = nil
	}, pauseLayer)
	if err := add("/pause alone: sleeps until SIGINT or SIGTERM (exit 0), reaps children; User 65535:65535",
		"pause:3.9", []string{"registry.k8s.io/pause:3.9", "k8s.gcr.io/pause:3.9"}, img, err); err != nil {
		return nil, err
	}

	for _, u := range []struct{ name, user string }{
		{"test-image-user-uid", "1002"},
		{"test-image-user-username", "www-data"},
		{"test-image-user-uid-group", "1003:1004"},
		{"test-image-user-username-group", "www-data:1004"},
	} {
		img, err := critestImage(func(c *v1.Config) { c.Cmd = []string{"sh"}; c.User = u.user }, base)
		p := "k8s-staging-cri-tools/" + u.name + ":latest"
		if err := add("busybox, USER "+u.user, p, ref("gcr.io/", p), img, err); err != nil {
			return nil, err
		}
	}

	groups, err := layer(types.DockerLayer, dir("etc/"),
		file("etc/passwd", critestPasswd+"default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh\n"),
		file("etc/group", critestGroup+"default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n"),
		dir("home/"), dir("home/default-user/"),
	)
	if err != nil {
		return nil, err
	}
	img, err = critestImage(func(c *v1.Config) { c.Cmd = []string{"sh"}; c.User = "1000" }, base, groups)
	p := "k8s-staging-cri-tools/test-image-predefined-group:latest"
	if err := add("busybox + user default-user (1000:1000) in group group-defined-in-image (50000); USER 1000",
		p, ref("gcr.io/", p), img, err); err != nil {
		return nil, err
	}

	// image-test: busybox plus a file of its own ("ADD ${TEST} ${TEST}"),
	// so that each is a distinct image.
	marked := func(mark string) (v1.Image, error) {
		l, err := layer(types.DockerLayer, file(mark, mark+"\n"))
		if err != nil {
			return nil, err
		}
		return critestImage(bbCfg, base, l)
	}
	for _, t := range []struct{ path, mark string }{
		{"test-image-latest:latest", "test-image-latest"},
		{"test-image-tag:test", "test-image-tag"},
		{"test-image-tag:all", "test-image-all"},
		{"test-image-1:latest", "test-image-1"},
		{"test-image-2:latest", "test-image-2"},
		{"test-image-3:latest", "test-image-3"},
	} {
		img, err := marked(t.mark)
		p := "k8s-staging-cri-tools/" + t.path
		if err := add("busybox + /"+t.mark, p, ref("gcr.io/", p), img, err); err != nil {
			return nil, err
		}
	}
	tags, err := marked("test-image-tags")
	if err != nil {
		return nil, err
	}
	for _, tag := range []string{"1", "2", "3"} {
		p := "k8s-staging-cri-tools/test-image-tags:" + tag
		if err := add("busybox + /test-image-tags (one image, three tags)", p, ref("gcr.io/", p), tags, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PushCritest pushes imgs, each under its Path.
func (r *Registry) PushCritest(imgs []CritestImage) error {
	for _, ci := range imgs {
		if _, _, err := r.Push(ci.Path, ci.Image); err != nil {
			return err
		}
	}
	return nil
}

// MirrorHosts writes certsDir/<host>/hosts.toml for each of hosts
// (CritestRegistryHosts when none), naming this registry as a pull and
// resolve mirror of that host, the way containerd's hosts.toml does.
// The upstream stays the host itself, tried after the mirror.
func (r *Registry) MirrorHosts(certsDir string, hosts ...string) error {
	if len(hosts) == 0 {
		hosts = CritestRegistryHosts
	}
	for _, h := range hosts {
		d := filepath.Join(certsDir, h)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		body := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", "https://"+h, r.URL)
		if err := os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// critestPasswd and critestGroup are the busybox image's /etc/passwd and
// /etc/group (those of the upstream busybox image).
const critestPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`

const critestGroup = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
`

const nginxIndex = `<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>A stand-in for nginx built by Cocoon's e2e tests.</p>
</body>
</html>
`

// critestImage is an image (Docker schema 2 media types, the host's
// architecture, fixed time stamps) of layers whose config cfg sets,
// starting from a PATH-only environment.
func critestImage(cfg func(*v1.Config), layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	if runtime.GOARCH == "arm64" {
		cf.Variant = "v8"
	}
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg(&cf.Config)
	return mutate.ConfigFile(img, cf)
}

// critestBusyboxLayer is the busybox layer the images share: busybox
// (the file at path) with every applet a hard link to it in /bin, the
// libraries it needs when it is dynamically linked, the C programs bins
// names (pgrep, ipcs) in /bin, /etc/passwd, /etc/group and the usual
// directories.
func critestBusyboxLayer(path string, bins map[string][]byte) (v1.Layer, error) {
	bb, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && path == BusyboxPath {
		return nil, ErrNoBusybox
	}
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(path, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", path, err)
	}
	libs, err := elfDeps(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	applets := strings.Fields(string(out))
	slices.Sort(applets)
	extra := []string{"ipcs", "pgrep"}

	entries := []entry{
		dir("bin/"),
		{name: "bin/busybox", typ: tar.TypeReg, mode: 0o755, body: bb},
	}
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") || slices.Contains(extra, a) {
			continue
		}
		entries = append(entries, entry{name: "bin/" + a, typ: tar.TypeLink, mode: 0o755, linkname: "bin/busybox"})
	}
	for _, x := range extra {
		entries = append(entries, entry{name: "bin/" + x, typ: tar.TypeReg, mode: 0o755, body: bins[x]})
	}
	entries = append(entries,
		dir("dev/"),
		dir("etc/"),
		file("etc/passwd", critestPasswd),
		file("etc/group", critestGroup),
		file("etc/shadow", "root:*:10933:0:99999:7:::\n"),
		dir("home/"),
		dir("proc/"),
		entry{name: "root/", typ: tar.TypeDir, mode: 0o700},
		dir("sys/"),
		entry{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		dir("usr/"), dir("usr/bin/"), dir("usr/sbin/"),
		dir("var/"), dir("var/spool/"), dir("var/spool/mail/"), dir("var/www/"),
	)
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.name] = true
	}
	for _, lib := range libs {
		rel := strings.TrimPrefix(lib, "/")
		for i := range len(rel) {
			if rel[i] == '/' && !seen[rel[:i+1]] {
				seen[rel[:i+1]] = true
				entries = append(entries, dir(rel[:i+1]))
			}
		}
		b, err := os.ReadFile(lib) // through symbolic links
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{name: rel, typ: tar.TypeReg, mode: 0o755, body: b})
	}
	return layer(types.DockerLayer, entries...)
}

// elfDeps returns the ELF interpreter and the shared libraries, the
// libraries' own included, that the program at path needs, as paths on
// this machine: none for a static program.
func elfDeps(path string) ([]string, error) {
	var dirs []string
	switch runtime.GOARCH {
	case "amd64":
		dirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"}
	case "arm64":
		dirs = []string{"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"}
	}
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	var out []string
	seen := map[string]bool{}
	var visit func(p string) error
	visit = func(p string) error {
		f, err := elf.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, prog := range f.Progs {
			if prog.Type != elf.PT_INTERP {
				continue
			}
			b, err := io.ReadAll(prog.Open())
			if err != nil {
				return err
			}
			if interp := strings.TrimRight(string(b), "\x00"); !seen[interp] {
				seen[interp] = true
				out = append(out, interp)
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return err
		}
		for _, lib := range needed {
			found := ""
			for _, d := range dirs {
				if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
					found = filepath.Join(d, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("no shared library %s in %v", lib, dirs)
			}
			if seen[found] {
				continue
			}
			seen[found] = true
			out = append(out, found)
			if err := visit(found); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(path); err != nil {
		return nil, err
	}
	return out, nil
}

// buildCritestPrograms compiles the C programs with gcc -static in
// workDir and returns them by name: pgrep, ipcs, nginx, httpd, nnp,
// pause.
func buildCritestPrograms(workDir string) (map[string][]byte, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return nil, fmt.Errorf("gcc is needed to build the critest images: %w", err)
	}
	progs := []struct {
		name, src string
		flags     []string
	}{
		{"pgrep", pgrepSource, nil},
		{"ipcs", ipcsSource, nil},
		{"nginx", webServerSource, []string{"-DNGINX"}},
		{"httpd", webServerSource, []string{"-DHTTPD"}},
		{"nnp", nnpSource, nil},
		{"pause", pauseSource, nil},
	}
	out := map[string][]byte{}
	for _, p := range progs {
		src := filepath.Join(workDir, p.name+".c")
		if err := os.WriteFile(src, []byte(p.src), 0o644); err != nil {
			return nil, err
		}
		bin := filepath.Join(workDir, p.name)
		args := append([]string{"-static", "-Os", "-s", "-Wall", "-Werror", "-o", bin}, p.flags...)
		args = append(args, src)
		cmd := exec.Command(gcc, args...)
		cmd.Dir = workDir
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("gcc %s: %v\n%s", p.name, err, b)
		}
		if out[p.name], err = os.ReadFile(bin); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pgrepSource is pgrep [-f] [-x] [-l] PATTERN: the pids of the processes
// whose name (or, with -f, command line) matches the extended regular
// expression PATTERN, itself left out; exit status 0 when some match, 1
// when none, 2 on a usage error.
const pgrepSource = `#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int readfile(const char *path, char *buf, int size) {
	int fd = open(path, O_RDONLY), n = 0, r;
	if (fd < 0) return -1;
	while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0) n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

int main(int argc, char **argv) {
	int full = 0, exact = 0, list = 0, c;
	while ((c = getopt(argc, argv, "flx")) != -1) {
		if (c == 'f') full = 1;
		else if (c == 'x') exact = 1;
		else if (c == 'l') list = 1;
		else goto usage;
	}
	if (optind != argc - 1) goto usage;
	char pat[4096];
	snprintf(pat, sizeof pat, exact ? "^(%s)$" : "%s", argv[optind]);
	regex_t re;
	if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
		fprintf(stderr, "pgrep: bad regex '%s'\n", argv[optind]);
		return 2;
	}
	DIR *d = opendir("/proc");
	if (!d) { perror("pgrep: /proc"); return 3; }
	pid_t self = getpid();
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0])) continue;
		long pid = atol(e->d_name);
		if (pid == self) continue;
		char path[64], comm[64], cmd[8192];
		snprintf(path, sizeof path, "/proc/%ld/comm", pid);
		if (readfile(path, comm, sizeof comm) < 0) continue;
		comm[strcspn(comm, "\n")] = 0;
		const char *subject = comm;
		if (full) {
			snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
			int n = readfile(path, cmd, sizeof cmd);
			if (n <= 0) continue;
			while (n > 0 && cmd[n - 1] == 0) n--;
			for (int i = 0; i < n; i++) if (cmd[i] == 0) cmd[i] = ' ';
			cmd[n] = 0;
			subject = cmd;
		}
		if (regexec(&re, subject, 0, NULL, 0) != 0) continue;
		found = 1;
		if (list) printf("%ld %s\n", pid, subject);
		else printf("%ld\n", pid);
	}
	closedir(d);
	return found ? 0 : 1;
usage:
	fprintf(stderr, "usage: pgrep [-flx] PATTERN\n");
	return 2;
}
`

// ipcsSource is ipcs [-m] [-q] [-s] [-a]: the System V shared memory
// segments, message queues and semaphore arrays of the caller's IPC
// namespace (all three by default), in util-linux's layout, read with
// shmctl(SHM_INFO/SHM_STAT), msgctl(MSG_INFO/MSG_STAT) and
// semctl(SEM_INFO/SEM_STAT).
const ipcsSource = `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

/* owner: the user name from /etc/passwd, else the number. */
static const char *owner(unsigned uid) {
	static char name[64];
	FILE *f = fopen("/etc/passwd", "r");
	char line[512];
	snprintf(name, sizeof name, "%u", uid);
	if (!f) return name;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon) continue;
		char *p = strchr(colon + 1, ':');
		if (!p) continue;
		if ((unsigned)strtoul(p + 1, NULL, 10) == uid && colon - line < (long)sizeof name) {
			memcpy(name, line, colon - line);
			name[colon - line] = 0;
			break;
		}
	}
	fclose(f);
	return name;
}

static int shm(void) {
	struct shm_info info;
	struct shmid_ds ds;
	printf("\n------ Shared Memory Segments --------\n");
	printf("%-10s %-10s %-10s %-10s %-10s %-10s %-12s\n", "key", "shmid", "owner", "perms", "bytes", "nattch", "status");
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
	if (max < 0) { perror("ipcs: shmctl(SHM_INFO)"); return 1; }
	for (int i = 0; i <= max; i++) {
		int id = shmctl(i, SHM_STAT, &ds);
		if (id < 0) continue;
		printf("0x%08x %-10d %-10s %-10o %-10lu %-10ld %-6s %-6s\n", (unsigned)ds.shm_perm.__key, id,
			owner(ds.shm_perm.uid), ds.shm_perm.mode & 0777, (unsigned long)ds.shm_segsz, (long)ds.shm_nattch,
			ds.shm_perm.mode & SHM_DEST ? "dest" : " ", ds.shm_perm.mode & SHM_LOCKED ? "locked" : " ");
	}
	printf("\n");
	return 0;
}

static int msg(void) {
	struct msginfo info;
	struct msqid_ds ds;
	printf("\n------ Message Queues --------\n");
	printf("%-10s %-10s %-10s %-10s %-12s %-12s\n", "key", "msqid", "owner", "perms", "used-bytes", "messages");
	int max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
	if (max < 0) { perror("ipcs: msgctl(MSG_INFO)"); return 1; }
	for (int i = 0; i <= max; i++) {
		int id = msgctl(i, MSG_STAT, &ds);
		if (id < 0) continue;
		printf("0x%08x %-10d %-10s %-10o %-12lu %-12lu\n", (unsigned)ds.msg_perm.__key, id,
			owner(ds.msg_perm.uid), ds.msg_perm.mode & 0777, (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qnum);
	}
	printf("\n");
	return 0;
}

static int sem(void) {
	struct seminfo info;
	struct semid_ds ds;
	printf("\n------ Semaphore Arrays --------\n");
	printf("%-10s %-10s %-10s %-10s %-10s\n", "key", "semid", "owner", "perms", "nsems");
	int max = semctl(0, 0, SEM_INFO, &info);
	if (max < 0) { perror("ipcs: semctl(SEM_INFO)"); return 1; }
	for (int i = 0; i <= max; i++) {
		int id = semctl(i, 0, SEM_STAT, &ds);
		if (id < 0) continue;
		printf("0x%08x %-10d %-10s %-10o %-10lu\n", (unsigned)ds.sem_perm.__key, id,
			owner(ds.sem_perm.uid), ds.sem_perm.mode & 0777, (unsigned long)ds.sem_nsems);
	}
	printf("\n");
	return 0;
}

int main(int argc, char **argv) {
	int m = 0, q = 0, s = 0, c, rc = 0;
	while ((c = getopt(argc, argv, "mqsa")) != -1) {
		switch (c) {
		case 'm': m = 1; break;
		case 'q': q = 1; break;
		case 's': s = 1; break;
		case 'a': m = q = s = 1; break;
		default: fprintf(stderr, "usage: ipcs [-mqsa]\n"); return 2;
		}
	}
	if (!m && !q && !s) m = q = s = 1;
	if (q) rc |= msg();
	if (m) rc |= shm();
	if (s) rc |= sem();
	return rc;
}
`

// webServerSource is a small HTTP/1.0 server standing in for nginx
// (-DNGINX) and Apache httpd (-DHTTPD); it answers GET and HEAD of / with
// the index page, 404 for other paths, and exits 0 on SIGTERM, SIGINT
// and SIGQUIT (and SIGWINCH, httpd's stop signal).
//
// nginx: it re-executes itself as "nginx: master process ARGS" (nginx
// sets its title so), writes its pid to /var/run/nginx.pid and listens
// on the port of the "listen" line of /etc/nginx/conf.d/default.conf
// (80 without one), serving /usr/share/nginx/html/index.html.
//
// httpd: it prints a line naming httpd and serves
// /usr/local/apache2/htdocs/index.html on port 80.
const webServerSource = `#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#ifdef NGINX
#define INDEX "/usr/share/nginx/html/index.html"
#define SELF "/usr/sbin/nginx"
#define TITLE "nginx: master process"
#define CONF "/etc/nginx/conf.d/default.conf"
#else
#define INDEX "/usr/local/apache2/htdocs/index.html"
#endif

static void stop(int sig) { (void)sig; _exit(0); }

static char *slurp(const char *path, size_t *len) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) { close(fd); return NULL; }
	char *b = malloc(st.st_size + 1);
	size_t n = 0;
	ssize_t r;
	while (b && n < (size_t)st.st_size && (r = read(fd, b + n, st.st_size - n)) > 0) n += r;
	close(fd);
	if (b) b[n] = 0;
	*len = n;
	return b;
}

static void writeall(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return;
		p += w;
		n -= w;
	}
}

static void serve(int c) {
	struct timeval tv = {5, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char req[8192];
	size_t n = 0;
	while (n < sizeof req - 1) {
		ssize_t r = read(c, req + n, sizeof req - 1 - n);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		n += r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
	}
	req[n] = 0;
	char method[16] = "", path[2048] = "";
	sscanf(req, "%15s %2047s", method, path);
	int head = strcmp(method, "HEAD") == 0;
	size_t blen = 0;
	char *body = NULL;
	const char *status = "200 OK";
	if (strcmp(method, "GET") != 0 && !head) {
		status = "405 Method Not Allowed";
	} else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		body = slurp(INDEX, &blen);
		if (!body) status = "500 Internal Server Error";
	} else {
		status = "404 Not Found";
	}
	char hdr[256];
	int h = snprintf(hdr, sizeof hdr, "HTTP/1.0 %s\r\nContent-Type: text/html\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status, blen);
	writeall(c, hdr, h);
	if (body && !head) writeall(c, body, blen);
	free(body);
}

int main(int argc, char **argv) {
	int port = 80;
#ifdef NGINX
	if (strncmp(argv[0], TITLE, strlen(TITLE)) != 0) {
		/* Take nginx's process title: one argument, the command line. */
		size_t len = strlen(TITLE) + 1;
		for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
		char *title = malloc(len);
		strcpy(title, TITLE);
		for (int i = 0; i < argc; i++) { strcat(title, " "); strcat(title, argv[i]); }
		char *args[] = {title, NULL};
		execv(SELF, args);
		perror("nginx: exec " SELF);
		return 1;
	}
	size_t clen;
	char *conf = slurp(CONF, &clen);
	char *l = conf ? strstr(conf, "listen") : NULL;
	if (l) port = atoi(l + strlen("listen"));
	free(conf);
	FILE *pf = fopen("/var/run/nginx.pid", "w");
	if (!pf) { perror("nginx: /var/run/nginx.pid"); return 1; }
	fprintf(pf, "%d\n", (int)getpid());
	fclose(pf);
#else
	(void)argc;
	(void)argv;
#endif
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, stop);
	signal(SIGINT, stop);
	signal(SIGQUIT, stop);
	signal(SIGWINCH, stop);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0) { perror("socket"); return 1; }
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0) {
		fprintf(stderr, "listen on :%d: %s\n", port, strerror(errno));
		return 1;
	}
#ifdef NGINX
	printf("nginx: serving " INDEX " on :%d, pid %d\n", port, (int)getpid());
#else
	printf("httpd: Apache httpd stand-in (cocoon e2e) serving " INDEX " on :%d; resuming normal operations\n", port);
#endif
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED) continue;
			perror("accept");
			return 1;
		}
		serve(c);
		close(c);
	}
}
`

// nnpSource prints the effective uid: setuid root, it says 0 unless
// no_new_privs kept the exec from raising it.
const nnpSource = `#include <stdio.h>
#include <unistd.h>

int main(void) {
	printf("Effective uid: %d\n", (int)geteuid());
	return 0;
}
`

// pauseSource is Kubernetes' pause: it sleeps until SIGINT or SIGTERM
// (exit 0) and reaps the children it inherits.
const pauseSource = `#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void sigdown(int signo) {
	psignal(signo, "Shutting down, got signal");
	exit(0);
}

static void sigreap(int signo) {
	(void)signo;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		printf("pause.c 3.9 (cocoon e2e)\n");
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "Warning: pause should be the first process\n");
	struct sigaction down = {.sa_handler = sigdown}, reap = {.sa_handler = sigreap, .sa_flags = SA_NOCLDSTOP};
	if (sigaction(SIGINT, &down, NULL) < 0 || sigaction(SIGTERM, &down, NULL) < 0 || sigaction(SIGCHLD, &reap, NULL) < 0)
		return 1;
	for (;;)
		pause();
}
`
