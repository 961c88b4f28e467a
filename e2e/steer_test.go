package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// TestBulkSenderIsSteered runs netbench in a pod, has it send a TCP
// stream to the host, and watches the host's end of the pod's veth: while
// the pod, consolidated on one CPU, sends in bulk, the host's processing
// of its frames is steered to CPUs other than the pod's (rps_cpus), and
// once it stops it goes back to where they are sent. A stream the pod
// receives is not steered.
func TestBulkSenderIsSteered(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("placement, and so steering, needs two CPUs")
	}
	nb := buildProgram(t, "netbench")
	f, n, _ := newNetPodFixture(t)
	reg := registry.Start(t)
	_, ref, err := reg.Push("e2e/netbench:steer", busyboxWith(t, "netbench", nb))
	if err != nil {
		t.Fatal(err)
	}
	f.c.run(false, "pull", ref)
	f.image = ref
	pod, cfg := f.runPod("steer")
	servers := f.create(pod, cfg, "servers", "sh", "-c", netServers)
	f.c.run(false, "start", servers)
	ip := f.podIP(pod, n)
	addr := netip.AddrPortFrom(ip, netbenchPort).String()
	waitListening(t, "cocoon", addr)
	sentry := sentryPID(t, f.c, pod)
	rps := fmt.Sprintf("/sys/class/net/%s/queues/rx-0/rps_cpus", hostVeth(t, sentry))

	// watch samples rps_cpus, and the CPUs the sentry may run on, every
	// 50 ms until stop is closed.
	type sample struct {
		mask uint64
		pod  string
	}
	watch := func(stop <-chan struct{}) func() []sample {
		var mu sync.Mutex
		var seen []sample
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				m := readMask(rps)
				mu.Lock()
				seen = append(seen, sample{m, allowedCPUs(sentry)})
				mu.Unlock()
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		return func() []sample { <-done; mu.Lock(); defer mu.Unlock(); return seen }
	}
	steered := func(samples []sample) []sample {
		var out []sample
		for _, s := range samples {
			if s.mask != 0 {
				out = append(out, s)
			}
		}
		return out
	}

	stop := make(chan struct{})
	result := watch(stop)
	netbenchClient(t, nb, "send", "-addr", addr, "-time", "3s")
	close(stop)
	if s := steered(result()); len(s) != 0 {
		t.Errorf("the pod receiving a stream was steered: %+v", s)
	}

	stop = make(chan struct{})
	result = watch(stop)
	rate := netbenchClient(t, nb, "recv", "-addr", addr, "-time", "3s")
	close(stop)
	all := result()
	seen := steered(all)
	masks := map[sample]int{}
	for _, s := range all {
		masks[s]++
	}
	t.Logf("pod → host at %.0f Mbit/s; rps_cpus (and the pod's CPUs) in samples taken as it sent: %v", rate, masks)
	if len(seen) == 0 {
		// The Placer steers only a pod it keeps on one CPU, sending
		// 64 MiB/s or more: a machine loaded enough to spread the pod,
		// or to slow its stream below that, makes this no case of
		// steering.
		consolidated := 0
		for _, s := range all {
			if _, err := strconv.Atoi(s.pod); err == nil {
				consolidated++
			}
		}
		if rate < 64*8*1.048576 || consolidated < len(all)/2 {
			t.Skipf("the pod sent %.0f Mbit/s, on one CPU in %d of %d samples: the Placer steers only a consolidated pod sending 64 MiB/s or more", rate, consolidated, len(all))
		}
		t.Fatalf("the pod sending %.0f Mbit/s on one CPU was never steered (rps_cpus stayed 0)", rate)
	}
	for _, s := range seen {
		if cpu, err := strconv.Atoi(s.pod); err == nil && s.mask&(1<<cpu) != 0 {
			t.Errorf("steered to %x, which holds the pod's own CPU %d", s.mask, cpu)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for readMask(rps) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("rps_cpus still %x 5 s after the stream ended", readMask(rps))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var peerIndex = regexp.MustCompile(`@if(\d+):`)

// hostVeth returns the name of the host's end of the veth of the network
// namespace process pid is in.
func hostVeth(t *testing.T, pid int) string {
	t.Helper()
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "ip", "-o", "link", "show", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("the pod's eth0: %v: %s", err, out)
	}
	m := peerIndex.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no peer index in %q", out)
	}
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile("/sys/class/net/" + e.Name() + "/ifindex")
		if err == nil && strings.TrimSpace(string(b)) == string(m[1]) {
			return e.Name()
		}
	}
	t.Fatalf("no host interface with index %s", m[1])
	return ""
}

// readMask reads a CPU mask file (hex words separated by commas); 0 if it
// cannot.
func readMask(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseUint(strings.ReplaceAll(strings.TrimSpace(string(b)), ",", ""), 16, 64)
	return v
}

// allowedCPUs returns process pid's Cpus_allowed_list.
func allowedCPUs(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
