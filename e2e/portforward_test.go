package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unusedLocalPort returns a TCP port on 127.0.0.1 nothing listens on now.
func unusedLocalPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// portForward runs `crictl port-forward pod local:remote` until the test
// ends and returns once the local port listens.
func (f *podFixture) portForward(pod string, remote int) int {
	f.t.Helper()
	local := unusedLocalPort(f.t)
	var out bytes.Buffer
	cmd := exec.Command(f.c.bin, "--config", f.c.config, "port-forward", pod, strconv.Itoa(local)+":"+strconv.Itoa(remote))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.t.Logf("crictl port-forward %d:%d:\n%s", local, remote, out.String())
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(local))
		if err == nil {
			c.Close()
			return local
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("crictl port-forward never listened on %d: %v", local, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPortForward: crictl port-forward reaches servers inside a pod
// through the sandbox's own TCP/IP stack: busybox httpd answers HTTP
// and nc echoes through cat with the client's half-close carried over.
func TestPortForward(t *testing.T) {
	f := newPodFixture(t)
	pod, podCfg := f.runPod("portfwd")
	web := f.create(pod, podCfg, "web", "sh", "-c",
		"mkdir -p /www && echo hello-from-the-pod > /www/index.html && exec httpd -f -p 8080 -h /www")
	f.c.run(false, "start", web)
	// The image links few applets; busybox sh runs the others itself.
	echo := f.create(pod, podCfg, "echo", "sh", "-c", "exec nc -ll -p 8081 -e cat")
	f.c.run(false, "start", echo)
	f.waitState(web, "CONTAINER_RUNNING")
	f.waitState(echo, "CONTAINER_RUNNING")

	local := f.portForward(pod, 8080)
	url := "http://127.0.0.1:" + strconv.Itoa(local) + "/"
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var body []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The probe above may have run before httpd listened.
		resp, err := client.Get(url)
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil && strings.Contains(string(body), "hello-from-the-pod") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s through port-forward: %v, %q", url, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// More connections through the same session.
	for i := range 3 {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %d: %v", i, err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "hello-from-the-pod") {
			t.Errorf("GET %d: %q", i, body)
		}
	}

	// Half-close: the end of the client's data reaches cat, whose exit
	// ends the answer.
	local = f.portForward(pod, 8081)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)
	var got []byte
	deadline = time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(local))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		go func() {
			c.Write(msg)
			c.(*net.TCPConn).CloseWrite()
		}()
		got, err = io.ReadAll(c)
		c.Close()
		if bytes.Equal(got, msg) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("echo through port-forward: %d of %d bytes back, %v", len(got), len(msg), err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A port nothing listens on: the connection is closed without data
	// and crictl reports the sentry's error.
	local = f.portForward(pod, 9)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(local))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	c.Write([]byte("x"))
	got, _ = io.ReadAll(c)
	c.Close()
	if len(got) != 0 {
		t.Errorf("closed port answered %q", got)
	}
	time.Sleep(500 * time.Millisecond)
	if log := f.d.stderr.String(); !strings.Contains(log, "nothing listens on port 9") {
		t.Errorf("the daemon's log lacks the refused port's error")
	}
}
