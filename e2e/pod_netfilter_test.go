package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// TestPodSidecarRedirect: an init container with NET_ADMIN and NET_RAW
// programs the pod's packet filter with iptables-legacy, as a service
// mesh's init container does: TCP to the pod's port 80 is redirected to
// its httpd on 8080. curl from the host gets the page and a 4 MiB file
// (large segments through the NAT both ways) through port 80, the same
// bytes as from 8080, and iptables-save shows the rule's counters.
func TestPodSidecarRedirect(t *testing.T) {
	f, _, httpd := redirectedPod(t, iptablesImage(t), func(netip.Addr) []string {
		return []string{"iptables-legacy", "-w", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "80", "-j", "REDIRECT", "--to-ports", "8080"}
	})
	saved := f.c.stdout("exec", httpd, "iptables-legacy-save", "-c", "-t", "nat")
	m := regexp.MustCompile(`\[(\d+):\d+\] -A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080`).FindStringSubmatch(saved)
	if m == nil {
		t.Fatalf("no redirect rule in iptables-save:\n%s", saved)
	}
	if packets, _ := strconv.Atoi(m[1]); packets < 2 {
		t.Errorf("the rule counted %d packets, want one per connection through port 80 (at least 2):\n%s", packets, saved)
	}
}

// TestPodNFTablesDNAT: the same with nft, nf_tables' own tool: the init
// container makes a nat chain on the prerouting hook whose rule sends TCP
// to port 80 on to the pod's httpd on 8080, and nft in the httpd
// container lists the rule with its counter.
func TestPodNFTablesDNAT(t *testing.T) {
	img := toolImage(t, "nftables", "/usr/sbin/nft", nil)
	f, ip, httpd := redirectedPod(t, img, func(ip netip.Addr) []string {
		return []string{"sh", "-c", "nft add table ip mesh && " +
			"nft add chain ip mesh pre '{ type nat hook prerouting priority dstnat; }' && " +
			"nft add rule ip mesh pre tcp dport 80 counter dnat to " + ip.String() + ":8080"}
	})
	listed := f.c.stdout("exec", httpd, "nft", "list", "table", "ip", "mesh")
	m := regexp.MustCompile(`tcp dport 80 counter packets (\d+) bytes \d+ dnat to ` + regexp.QuoteMeta(ip.String()) + `:8080`).FindStringSubmatch(listed)
	if m == nil {
		t.Fatalf("no dnat rule in nft list:\n%s", listed)
	}
	if packets, _ := strconv.Atoi(m[1]); packets < 2 {
		t.Errorf("the rule counted %d packets, want one per connection through port 80 (at least 2):\n%s", packets, listed)
	}
}

// redirectedPod runs a pod of img whose init container, with NET_ADMIN
// and NET_RAW, runs the command initCmd gives for the pod's IP to send
// TCP to its port 80 on to port 8080, where its second container runs
// httpd; it checks that curl from the host gets the page and a 4 MiB
// file through port 80 (large segments through the NAT both ways), the
// same bytes as from 8080. It returns the fixture, the pod's IP and the
// httpd container.
func redirectedPod(t *testing.T, img v1.Image, initCmd func(ip netip.Addr) []string) (*podFixture, netip.Addr, string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("needs curl")
	}
	f, n, _ := newNetPodFixture(t)
	reg := registry.Start(t)
	_, ref, err := reg.Push("e2e/netfilter:1", img)
	if err != nil {
		t.Fatal(err)
	}
	f.c.run(false, "pull", ref)
	f.image = ref

	pod, cfg := f.runPod("mesh")
	ip := f.podIP(pod, n)
	netAdmin := map[string]any{"security_context": map[string]any{
		"capabilities": map[string]any{"add_capabilities": []string{"NET_ADMIN", "NET_RAW"}},
	}}
	init := f.createWith(pod, cfg, "init", netAdmin, initCmd(ip)...)
	f.c.run(false, "start", init)
	if st := f.waitState(init, "CONTAINER_EXITED"); st.Status.ExitCode != 0 {
		t.Fatalf("the init container's %v: exit %d: %s", initCmd(ip), st.Status.ExitCode, f.c.run(false, "logs", init))
	}
	httpd := f.createWith(pod, cfg, "httpd", netAdmin, "sh", "-c",
		"mkdir -p /tmp/www && echo hello-mesh > /tmp/www/index.html && head -c 4194304 /dev/urandom > /tmp/www/big && exec /bin/busybox httpd -f -p 8080 -h /tmp/www")
	f.c.run(false, "start", httpd)

	if got := get(t, "http://"+ip.String()+":80/"); !strings.Contains(got, "hello-mesh") {
		t.Fatalf("curl through port 80: %q", got)
	}
	through80 := fetchSum(t, "http://"+ip.String()+":80/big")
	direct := fetchSum(t, "http://"+ip.String()+":8080/big")
	if through80 != direct {
		t.Errorf("the 4 MiB file through port 80 differs from the one from 8080")
	}
	return f, ip, httpd
}

// fetchSum downloads url with curl and returns the SHA-256 of the body,
// which must be 4 MiB.
func fetchSum(t *testing.T, url string) [32]byte {
	t.Helper()
	out, err := exec.Command("curl", "-sS", "--max-time", "60", url).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", url, err)
	}
	if len(out) != 4<<20 {
		t.Fatalf("curl %s: %d bytes, want %d", url, len(out), 4<<20)
	}
	return sha256.Sum256(out)
}

// iptablesImage is the busybox test image with the host's
// iptables-legacy (xtables-legacy-multi), the libraries it loads and its
// extensions, and /run for its lock file.
func iptablesImage(t *testing.T) v1.Image {
	t.Helper()
	const multi = "/usr/sbin/xtables-legacy-multi"
	paths := []string{multi, "/usr/sbin/iptables-legacy", "/usr/sbin/iptables-legacy-save"}
	extensions, _ := filepath.Glob("/usr/lib/*/xtables/*.so")
	if len(extensions) == 0 {
		t.Fatal("no iptables extensions in /usr/lib/*/xtables")
	}
	return toolImage(t, "iptables", multi, append(paths, extensions...))
}

// toolImage is the busybox test image with the host's program bin (from
// Debian's package pkg), the libraries it loads, the other paths, and
// /run.
func toolImage(t *testing.T, pkg, bin string, paths []string) v1.Image {
	t.Helper()
	base, err := registry.BusyboxImage()
	if err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: install Debian's %s (make deps does)", bin, pkg)
	}
	paths = append(paths, bin)
	ldd, err := exec.Command("ldd", bin).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", bin, err)
	}
	paths = append(paths, regexp.MustCompile(`(?m)(/\S+\.so[.\d]*)`).FindAllString(string(ldd), -1)...)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	added := map[string]bool{}
	var add func(p string)
	addDir := func(d string) {
		for _, dir := range parents(d) {
			if !added[dir] {
				added[dir] = true
				if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(dir, "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	add = func(p string) {
		if added[p] {
			return
		}
		added[p] = true
		addDir(filepath.Dir(p))
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p, "/")
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}); err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(p), target)
			}
			add(target)
			return
		}
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: int64(fi.Mode().Perm()), Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range paths {
		add(p)
	}
	addDir("/run")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return withLayer(t, base, buf.Bytes())
}

// parents returns dir and the directories above it, the top first
// ("/a/b": "/a", "/a/b").
func parents(dir string) []string {
	if dir == "/" || dir == "." {
		return nil
	}
	return append(parents(filepath.Dir(dir)), dir)
}
