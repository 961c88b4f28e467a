package boot

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// DebugStatsEnv names the environment variable that, set to a non-empty
// value in a `cocoon do` sentry's environment (the sentry inherits it
// from `cocoon do`), makes the sentry report its own runtime figures on
// stderr before its program starts and again after every task has exited.
// Tests compare the two to find leaks in the sentry (test/sysfuzz).
const DebugStatsEnv = "COCOON_SENTRY_STATS"

// DebugStatsPrefix starts every line of figures; the words after it are
// NAME=VALUE pairs, the first being phase=start or phase=exit.
const DebugStatsPrefix = "cocoon sentry stats:"

// debugStatsSettle bounds how long the exit report waits for what the
// sandbox's programs held to be let go of, asynchronously: WaitInit
// returns when the last task has signalled its exit, a moment before its
// goroutine ends, and host descriptors of unreachable inodes close in
// cleanups that run after a collection. Nothing announces either, so the
// report polls until the figures are back to the start's, and the heap
// stops shrinking (objects freed through runtime cleanups, such as the
// entries of tables that point at them weakly, go a collection after
// them), or the time is up; what a cache legitimately keeps (dentries of
// files the programs created) stays, and the reader judges it.
const debugStatsSettle = 2 * time.Second

// startDebugStats reports the sentry's figures now, when $COCOON_SENTRY_STATS
// is set, and returns the function that reports them at exit, followed by
// the goroutines still running (grouped by stack) so a leak shows where it
// is. Unset, it does nothing and returns a function that does nothing.
//
// Call it before the first task starts, and the returned function after
// the last one has exited: `defer startDebugStats(k, os.Stderr)()`.
func startDebugStats(k *kernel.Kernel, w io.Writer) func() {
	if os.Getenv(DebugStatsEnv) == "" {
		return func() {}
	}
	start := collectDebugStats(k)
	writeDebugStats(w, "start", start)
	return func() {
		end := collectDebugStats(k)
		deadline := time.Now().Add(debugStatsSettle)
		shrinking := true
		for (shrinking || end.goroutines > start.goroutines || end.hostFDs > start.hostFDs) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			prev := end
			end = collectDebugStats(k)
			shrinking = end.heapObject < prev.heapObject-prev.heapObject/100
		}
		writeDebugStats(w, "exit", end)
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "%s goroutines at exit follow\n", DebugStatsPrefix)
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		_, _ = w.Write(buf.Bytes())
		writeHeapSites(w)
	}
}

// debugStats are the figures of one report.
type debugStats struct {
	goroutines int
	// heapInuse is the heap's bytes in spans in use after a collection.
	heapInuse  uint64
	heapObject uint64
	// processes are the thread groups that have not exited, threads
	// their live tasks, unreaped the thread IDs of groups not yet reaped
	// (zombies included).
	processes, threads, unreaped int
	// memFile is the application memory handed out by the memory file.
	memFile uint64
	// hostFDs are the sentry process's host descriptors, hostFDKinds
	// the same by kind.
	hostFDs     int
	hostFDKinds map[string]int
}

func collectDebugStats(k *kernel.Kernel) debugStats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := debugStats{
		goroutines: runtime.NumGoroutine(),
		heapInuse:  ms.HeapInuse,
		heapObject: ms.HeapObjects,
		memFile:    k.MemFile.InUse(),
	}
	ns := k.RootPIDNamespace()
	ids := k.ProcessIDs(ns)
	s.unreaped = len(ids)
	for _, id := range ids {
		if p, ok := k.ProcessSnapshot(ns, id); ok && !p.Zombie {
			s.processes++
			s.threads += len(p.Threads)
		}
	}
	s.hostFDKinds, s.hostFDs = hostFDs()
	return s
}

// maxScannedFD bounds the descriptor numbers hostFDs looks at. A
// confined sentry cannot list /proc/self/fd, so it asks fcntl about each
// number; the sentry's descriptors are dense from 0, far below this.
const maxScannedFD = 1 << 16

// hostFDs returns the sentry's host descriptors by kind (the file type
// fstat reports; "anon" for eventfds, epoll and other anonymous inodes),
// so that a leak says what leaks, and their total.
func hostFDs() (map[string]int, int) {
	kinds := map[string]int{}
	total := 0
	for fd := 0; fd < maxScannedFD; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			continue
		}
		total++
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			kinds["unknown"]++
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFSOCK:
			kinds["socket"]++
		case unix.S_IFIFO:
			kinds["pipe"]++
		case unix.S_IFREG:
			kinds["file"]++
		case unix.S_IFDIR:
			kinds["dir"]++
		case unix.S_IFCHR:
			kinds["chardev"]++
		default:
			kinds["anon"]++
		}
	}
	return kinds, total
}

func formatKinds(kinds map[string]int) string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", k, kinds[k])
	}
	return b.String()
}

func writeDebugStats(w io.Writer, phase string, s debugStats) {
	fmt.Fprintf(w, "%s phase=%s goroutines=%d heap_inuse_bytes=%d heap_objects=%d processes=%d threads=%d unreaped=%d memfile_bytes=%d host_fds=%d host_fd_kinds=%s\n",
		DebugStatsPrefix, phase, s.goroutines, s.heapInuse, s.heapObject, s.processes, s.threads, s.unreaped, s.memFile, s.hostFDs, formatKinds(s.hostFDKinds))
}
