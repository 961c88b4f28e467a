package placement

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// statTimes are the CPU times of one process from /proc/PID/stat, in
// clock ticks, summed over its threads.
type statTimes struct{ user, system, guest uint64 }

// readStatTimes reads the times of process pid.
func readStatTimes(pid int) (statTimes, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return statTimes{}, err
	}
	return parseStatTimes(string(data))
}

// parseStatTimes takes utime, stime and guest_time (fields 14, 15 and
// 43) from a /proc/PID/stat line. The command name (field 2) is in
// parentheses and may hold spaces or parentheses: the fields after it
// start after the last ')'.
func parseStatTimes(line string) (statTimes, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return statTimes{}, errors.New("malformed /proc/PID/stat")
	}
	// rest[0] is field 3 (state).
	rest := strings.Fields(line[i+1:])
	field := func(n int) (uint64, error) {
		if n-3 >= len(rest) {
			return 0, fmt.Errorf("/proc/PID/stat has no field %d", n)
		}
		return strconv.ParseUint(rest[n-3], 10, 64)
	}
	var t statTimes
	var err error
	if t.user, err = field(14); err != nil {
		return t, err
	}
	if t.system, err = field(15); err != nil {
		return t, err
	}
	if t.guest, err = field(43); err != nil {
		return t, err
	}
	return t, nil
}

// podTimes sums the times of a pod's processes: the runtime's own (the
// sentry and gofer, named in runtime) count as application time only for
// the sentry's guest time; every other process in the pod's cgroup is a
// platform stub running application code. A process that exits meanwhile
// is left out; if the pod's times then step back, the saturated run is
// not judged.
func podTimes(pids []int, sentry int, runtime []int) (times, bool) {
	var t times
	read := 0
	for _, pid := range pids {
		st, err := readStatTimes(pid)
		if err != nil {
			continue
		}
		read++
		t.all += st.user + st.system
		switch {
		case pid == sentry:
			t.application += st.guest
		case !slices.Contains(runtime, pid):
			t.application += st.user
		}
	}
	return t, read > 0
}
