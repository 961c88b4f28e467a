package e2e

import (
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// runHostNetPod starts a pod with hostNetwork: true.
func (f *podFixture) runHostNetPod(name string) (id, cfg string) {
	f.t.Helper()
	cfg = f.writeJSON("pod-"+name+".json", map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "e2e", "uid": "uid-" + name},
		"hostname":      name,
		"log_directory": filepath.Join(f.logDir, name),
		"linux": map[string]any{"security_context": map[string]any{
			"namespace_options": map[string]any{"network": 2}, // NODE
		}},
	})
	id = strings.TrimSpace(f.c.stdout("runp", cfg))
	return id, cfg
}

// TestHostNetworkSockets: a hostNetwork pod's sockets are host sockets
// (sentry/socket/hostinet). A server in the pod answers the host on the
// host's loopback, directly and through crictl port-forward, and the
// pod reaches a server the test runs on the host's loopback.
func TestHostNetworkSockets(t *testing.T) {
	f := newPodFixture(t)
	pod, podCfg := f.runHostNetPod("hostnet")
	port := unusedLocalPort(t)
	web := f.create(pod, podCfg, "web", "sh", "-c",
		"mkdir -p /www && echo hello-from-the-host-network > /www/index.html && exec httpd -f -p 127.0.0.1:"+strconv.Itoa(port)+" -h /www")
	f.c.run(false, "start", web)
	f.waitState(web, "CONTAINER_RUNNING")

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(url string) (string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := get(url)
		if err == nil && strings.Contains(body, "hello-from-the-host-network") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s from the host: %v, %q", url, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Port-forward into a host-network pod dials the host's loopback.
	local := f.portForward(pod, port)
	if body, err := get("http://127.0.0.1:" + strconv.Itoa(local) + "/"); err != nil || !strings.Contains(body, "hello-from-the-host-network") {
		t.Errorf("GET through port-forward: %v, %q", err, body)
	}

	// The pod reaches a server on the host's loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello-from-the-host\n")
	}))
	hostURL := "http://" + ln.Addr().String() + "/"
	cmd := exec.Command(f.c.bin, "--config", f.c.config, "exec", web, "sh", "-c", "wget -q -O - "+hostURL)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello-from-the-host") {
		t.Errorf("wget %s in the pod: %v\n%s", hostURL, err, out)
	}
	// And the pod's own server through the host's loopback, from
	// inside: both ends are host sockets.
	cmd = exec.Command(f.c.bin, "--config", f.c.config, "exec", web, "sh", "-c", "wget -q -O - "+url)
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello-from-the-host-network") {
		t.Errorf("wget %s in the pod: %v\n%s", url, err, out)
	}
}

// TestHostNetworkDNSServer: a DNS server's UDP path as miekg/dns runs it
// (NodeLocal DNSCache is CoreDNS on the node's network) works on host
// sockets: packet info asked for on a dual-stack socket, each query's
// destination read from the control messages, the answer sent with it
// as the source.
func TestHostNetworkDNSServer(t *testing.T) {
	img := busyboxWith(t, "dnsflow", buildPackage(t, "dnsflow", "../test/programs/testdata/dnsflow"))
	f := newPodFixture(t)
	reg := registry.Start(t)
	_, ref, err := reg.Push("e2e/dnsflow:1", img)
	if err != nil {
		t.Fatal(err)
	}
	f.c.run(false, "pull", ref)
	f.image = ref
	pod, cfg := f.runHostNetPod("hostdns")
	dns := f.create(pod, cfg, "dns", "/bin/dnsflow")
	f.c.run(false, "start", dns)
	st := f.waitState(dns, "CONTAINER_EXITED")
	logs := f.c.run(false, "logs", dns)
	want := []string{`127.0.0.1: "query" came to 127.0.0.1, answered "query"`, `::1: "query" came to ::1, answered "query"`}
	if st.Status.ExitCode != 0 || !strings.Contains(logs, want[0]) || !strings.Contains(logs, want[1]) {
		t.Errorf("the DNS server flow on the node's network: exit %d:\n%s", st.Status.ExitCode, logs)
	}
}
