package placement

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseProcStat(t *testing.T) {
	got := parseProcStat([]byte(`cpu  300 0 100 1000 20 0 0 5 0 0
cpu0 100 0 50 500 10 0 0 5 0 0
cpu1 200 0 50 500 10 0 0 0 0 0
intr 12345
cpux 1 2 3 4 5
`))
	want := map[int]cpuCounters{0: {total: 665, idle: 510}, 1: {total: 760, idle: 510}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("parseProcStat = %v, want %v", got, want)
	}
}

func TestHostCPUsBusy(t *testing.T) {
	h := newHostCPUs()
	h.update(map[int]cpuCounters{0: {total: 100, idle: 50}})
	if len(h.busy) != 0 {
		t.Fatalf("busy after one sample: %v", h.busy)
	}
	// 100 ticks, 20 idle: 0.8 busy, averaged with the 0 before.
	h.update(map[int]cpuCounters{0: {total: 200, idle: 70}})
	if b := h.busy[0]; b < 0.39 || b > 0.41 {
		t.Errorf("busy = %v, want 0.4", b)
	}
	// Counters that do not move (a CPU gone offline) change nothing.
	h.update(map[int]cpuCounters{0: {total: 200, idle: 70}})
	if b := h.busy[0]; b < 0.39 || b > 0.41 {
		t.Errorf("busy = %v after a sample without time, want 0.4", b)
	}
}

func TestParseStatTimes(t *testing.T) {
	// Fields 3..52 of a process whose name holds ") (", with utime 11,
	// stime 22 and guest_time 33 in fields 14, 15 and 43.
	fields := make([]string, 50)
	for i := range fields {
		fields[i] = "0"
	}
	fields[0] = "S"
	fields[14-3], fields[15-3], fields[43-3] = "11", "22", "33"
	line := "123 (a) (b) "
	for _, f := range fields {
		line += f + " "
	}
	got, err := parseStatTimes(line)
	if err != nil || got != (statTimes{user: 11, system: 22, guest: 33}) {
		t.Errorf("parseStatTimes = %+v, %v", got, err)
	}
	if _, err := parseStatTimes("123 (a) S 1 2"); err == nil {
		t.Error("a short line parsed")
	}
	if _, err := parseStatTimes("garbage"); err == nil {
		t.Error("a line without the name parsed")
	}
}

func cpus(list ...int) unix.CPUSet {
	var s unix.CPUSet
	for _, c := range list {
		s.Set(c)
	}
	return s
}

func TestChooseSpreadsIdlePodsAndMovesOffABusyCPU(t *testing.T) {
	p := &Placer{cpus: newHostCPUs()}
	all := cpus(0, 1, 2, 3)
	placed := map[int]int{0: 2, 1: 1, 2: 1, 3: 2}
	if got := p.choose(all, placed, -1, 0); got != 1 {
		t.Errorf("idle node: chose CPU %d, want 1 (the first with the fewest pods)", got)
	}
	if got := p.choose(cpus(0, 3), placed, -1, 0); got != 0 {
		t.Errorf("cpuset 0,3: chose CPU %d, want 0", got)
	}
	// The pod on CPU 0 uses 0.5 of it; the rest of the node adds 0.2.
	p.cpus.busy = map[int]float64{0: 0.7, 1: 0.3, 2: 0.6, 3: 0.6}
	if got := p.choose(all, placed, 0, 0.5); got != 0 {
		t.Errorf("others' load 0.2 on CPU 0 against 0.3 on CPU 1: moved to %d", got)
	}
	// Now the rest of the node puts 0.9 on CPU 0.
	p.cpus.busy[0] = 1.0
	if got := p.choose(all, placed, 0, 0.1); got != 1 {
		t.Errorf("others' load 0.9 on CPU 0 against 0.3 on CPU 1: chose %d, want 1", got)
	}
	// A CPU the cpuset no longer allows is left.
	if got := p.choose(cpus(2, 3), placed, 0, 0.1); got != 2 && got != 3 {
		t.Errorf("cpuset 2-3: kept CPU %d", got)
	}
}
