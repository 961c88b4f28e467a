package netstack

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLoopbackBench reports TCP throughput and connect+close rate over
// loopback inside the sandbox (netstack) against the host kernel, as
// ratios. It only runs with COCOON_BENCH=1 and never asserts on time.
// The sandbox binary is $COCOON_BIN, or built from ./cmd/cocoon.
func TestLoopbackBench(t *testing.T) {
	if os.Getenv("COCOON_BENCH") != "1" {
		t.Skip("set COCOON_BENCH=1 to run the loopback benchmark")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tcpbench")
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", bin, "testdata/tcpbench.c").CombinedOutput(); err != nil {
		t.Skipf("gcc: %v\n%s", err, out)
	}
	cocoon := os.Getenv("COCOON_BIN")
	if cocoon == "" {
		cocoon = filepath.Join(dir, "cocoon")
		build := exec.Command("go", "build", "-o", cocoon, "../cmd/cocoon")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building cocoon: %v\n%s", err, out)
		}
	}
	native := runBench(t, bin)
	sandbox := runBench(t, cocoon, "do", "--", bin)
	for _, k := range []string{"throughput_mibps", "connects_per_s"} {
		t.Logf("%s: native %.1f, sandbox %.1f, sandbox/native %.3f", k, native[k], sandbox[k], sandbox[k]/native[k])
	}
}

func runBench(t *testing.T, name string, args ...string) map[string]float64 {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	res := make(map[string]float64)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			v, _ := strconv.ParseFloat(f[1], 64)
			res[f[0]] = v
		}
	}
	return res
}
