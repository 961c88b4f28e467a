package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// Traffic through the pod network: every packet of a pod goes through
// the TCP/IP stack in its sentry, which took the pod's veth over from
// the host kernel (netstack/link.go). A daemon with the test's bridge
// network, the busybox image, crictl.

// newNetPodFixture is a podFixture on a daemon with the test's bridge
// network n.
func newNetPodFixture(t *testing.T) (*podFixture, *cniNet, string) {
	t.Helper()
	return newNetPodFixtureOn(t, newCNINet(t))
}

// newNetPodFixtureOn is newNetPodFixture on the network n.
func newNetPodFixtureOn(t *testing.T, n *cniNet) (*podFixture, *cniNet, string) {
	t.Helper()
	img, err := registry.BusyboxImage()
	if err != nil {
		t.Skip(err)
	}
	c, runDir := startDaemonCNI(t, n)
	reg := registry.Start(t)
	_, ref, err := reg.Push("library/busybox:e2e", img)
	if err != nil {
		t.Fatal(err)
	}
	c.run(false, "pull", ref)
	return &podFixture{t: t, c: c, image: ref, logDir: t.TempDir()}, n, runDir
}

// podIP is the IP crictl inspectp reports for pod id.
func (f *podFixture) podIP(id string, n *cniNet) netip.Addr {
	f.t.Helper()
	var st podStatus
	f.c.json(&st, "inspectp", "-o", "json", id)
	ip, err := netip.ParseAddr(st.Status.Network.IP)
	if err != nil || !n.subnet.Contains(ip) {
		f.t.Fatalf("pod IP %q, want one in %s", st.Status.Network.IP, n.subnet)
	}
	return ip
}

// startHTTPD runs busybox httpd on :8080 in pod, serving an index.html
// that says body.
func (f *podFixture) startHTTPD(pod, podCfg, body string) string {
	f.t.Helper()
	id := f.create(pod, podCfg, "httpd", "sh", "-c",
		"mkdir -p /tmp/www && echo "+body+" > /tmp/www/index.html && exec /bin/busybox httpd -f -p 8080 -h /tmp/www")
	f.c.run(false, "start", id)
	return id
}

// get fetches url with curl until it answers (the server may still be
// starting) or a minute passes.
func get(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command("curl", "-sS", "--max-time", "5", url).CombinedOutput()
		if err == nil {
			return string(out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("curl %s: %v: %s", url, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runToExit runs a container with args in pod and returns its exit code
// and log once it exits.
func (f *podFixture) runToExit(pod, podCfg, name string, args ...string) (int, string) {
	f.t.Helper()
	id := f.create(pod, podCfg, name, args...)
	f.c.run(false, "start", id)
	st := f.waitState(id, "CONTAINER_EXITED")
	return st.Status.ExitCode, f.c.run(false, "logs", id)
}

// TestPodNetworkHTTP: a pod's busybox httpd answers curl from the host
// at the pod IP; the host kernel of the pod's namespace holds no address
// any more (the sandbox's stack answers for it).
func TestPodNetworkHTTP(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("needs curl")
	}
	f, n, runDir := newNetPodFixture(t)
	pod, cfg := f.runPod("web")
	ip := f.podIP(pod, n)
	ns := filepath.Join(runDir, "netns", pod)
	out, err := exec.Command("nsenter", "--net="+ns, "ip", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil || strings.Contains(string(out), "inet") {
		t.Errorf("the host kernel still holds addresses of the pod's eth0: %v: %s", err, out)
	}
	f.startHTTPD(pod, cfg, "hello-from-web")
	if got := get(t, fmt.Sprintf("http://%s:8080/", ip)); !strings.Contains(got, "hello-from-web") {
		t.Errorf("curl http://%s:8080/ = %q", ip, got)
	}
	// Many requests in a row: connections set up and torn down through
	// the stack.
	for i := 0; i < 20; i++ {
		out, err := exec.Command("curl", "-sS", "--max-time", "5", fmt.Sprintf("http://%s:8080/", ip)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "hello-from-web") {
			t.Fatalf("request %d: %v: %s", i, err, out)
		}
	}
}

// TestPodNetworkToHost: a pod reaches a TCP server the test runs in the
// host namespace on the bridge's gateway address (the pod's default
// route's next hop).
func TestPodNetworkToHost(t *testing.T) {
	f, n, _ := newNetPodFixture(t)
	pod, cfg := f.runPod("client")
	gw := n.subnet.Addr().Next()
	// The bridge gets the gateway address when the first pod plugs in.
	var ln net.Listener
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(gw, 0).String())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listening on the gateway %s: %v", gw, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := make(chan string, 10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Path + " from " + r.RemoteAddr
		io.WriteString(w, "hello-from-host\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	url := fmt.Sprintf("http://%s/from-pod", ln.Addr())
	code, logs := f.runToExit(pod, cfg, "wget", "/bin/busybox", "wget", "-q", "-O", "-", url)
	if code != 0 || !strings.Contains(logs, "hello-from-host") {
		t.Fatalf("wget %s in the pod: exit %d, log %q", url, code, logs)
	}
	podIP := f.podIP(pod, n)
	select {
	case req := <-got:
		if !strings.HasPrefix(req, "/from-pod from "+podIP.String()+":") {
			t.Errorf("server saw %q, want /from-pod from %s", req, podIP)
		}
	default:
		t.Error("the server saw no request")
	}
}

// TestPodNetworkPodToPod: two pods on the bridge reach each other by IP.
func TestPodNetworkPodToPod(t *testing.T) {
	f, n, _ := newNetPodFixture(t)
	a, acfg := f.runPod("server")
	aIP := f.podIP(a, n)
	f.startHTTPD(a, acfg, "hello-from-server")
	b, bcfg := f.runPod("peer")
	url := fmt.Sprintf("http://%s:8080/", aIP)
	// httpd may still be starting: retry inside the pod.
	code, logs := f.runToExit(b, bcfg, "wget", "sh", "-c",
		"i=0; while [ $i -lt 50 ]; do /bin/busybox wget -q -O - "+url+" && exit 0; /bin/busybox usleep 200000; i=$((i+1)); done; exit 1")
	if code != 0 || !strings.Contains(logs, "hello-from-server") {
		t.Fatalf("wget %s in the other pod: exit %d, log %q", url, code, logs)
	}
}

// TestPodNetworkMasqueradeReleased: on a bridge network with ipMasq, the
// plugin makes a NAT chain for the pod at ADD and, since DEL finds the
// pod's address on its interface again (the sentry took it: the runtime
// gives it back before DEL), removes it when the pod goes. Before that,
// every pod left its chain and rules in the host's iptables.
func TestPodNetworkMasqueradeReleased(t *testing.T) {
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables")
	}
	f, _, _ := newNetPodFixtureOn(t, newCNINetMasq(t, true))
	nat := func() string {
		out, err := exec.Command("iptables", "-w", "-t", "nat", "-S").CombinedOutput()
		if err != nil {
			t.Fatalf("iptables -t nat -S: %v: %s", err, out)
		}
		return string(out)
	}
	pod, _ := f.runPod("masq")
	if !strings.Contains(nat(), pod) {
		t.Fatalf("no NAT rule names pod %s after ADD with ipMasq:\n%s", pod, nat())
	}
	f.c.run(false, "stopp", pod)
	f.c.run(false, "rmp", pod)
	var left []string
	for _, l := range strings.Split(nat(), "\n") {
		if strings.Contains(l, pod) {
			left = append(left, l)
		}
	}
	if len(left) > 0 {
		t.Errorf("the removed pod's NAT rules are left:\n%s", strings.Join(left, "\n"))
	}
}
