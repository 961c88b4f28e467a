package placement

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// hostCPUs keeps how busy each host CPU has been lately, from the
// per-CPU lines of /proc/stat.
//
// It is used only by the Placer's goroutine.
type hostCPUs struct {
	// last are the counters of the previous sample, by CPU.
	last map[int]cpuCounters
	// busy is, by CPU, the share of the recent ticks it was not idle
	// (an average that halves the weight of a sample each tick), 0..1.
	busy map[int]float64
}

// cpuCounters are one CPU's cumulative time, in clock ticks.
type cpuCounters struct{ total, idle uint64 }

func newHostCPUs() *hostCPUs {
	return &hostCPUs{last: map[int]cpuCounters{}, busy: map[int]float64{}}
}

// sample reads /proc/stat and updates busy.
func (h *hostCPUs) sample() error {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return err
	}
	h.update(parseProcStat(data))
	return nil
}

func (h *hostCPUs) update(now map[int]cpuCounters) {
	for cpu, c := range now {
		prev, seen := h.last[cpu]
		h.last[cpu] = c
		if !seen || c.total <= prev.total {
			continue
		}
		idle := float64(c.idle-prev.idle) / float64(c.total-prev.total)
		h.busy[cpu] = (h.busy[cpu] + (1 - min(idle, 1))) / 2
	}
}

// parseProcStat returns the counters of each "cpuN" line. Idle time is
// idle plus iowait; steal counts as busy, since the CPU was not ours.
func parseProcStat(data []byte) map[int]cpuCounters {
	out := map[int]cpuCounters{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		cpu, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		var c cpuCounters
		// user nice system idle iowait irq softirq steal; guest and
		// guest_nice are already inside user and nice.
		for i, v := range f[1:min(len(f), 9)] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				break
			}
			c.total += n
			if i == 3 || i == 4 {
				c.idle += n
			}
		}
		out[cpu] = c
	}
	return out
}
