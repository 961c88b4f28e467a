package boot

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
)

// heapSitesShown bounds the allocation sites the exit report lists.
const heapSitesShown = 15

// heapSiteFrames bounds the frames printed for each site.
const heapSiteFrames = 10

// writeHeapSites lists the allocation sites holding the most live heap,
// by the runtime's sampled memory profile (one allocation in 512 KiB on
// average, scaled back up), so that a heap still large after every task
// has exited says what holds it. Cheap enough for a report made once.
func writeHeapSites(w io.Writer) {
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	rate := int64(runtime.MemProfileRate)
	type site struct {
		bytes, objects int64
		stack          []uintptr
	}
	sites := make([]site, 0, len(recs))
	var total int64
	for i := range recs {
		b, o := scaleHeapSample(recs[i].InUseBytes(), recs[i].InUseObjects(), rate)
		if b == 0 {
			continue
		}
		total += b
		sites = append(sites, site{bytes: b, objects: o, stack: recs[i].Stack()})
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].bytes > sites[j].bytes })
	fmt.Fprintf(w, "%s live heap by allocation site (sampled, %d bytes in %d sites)\n", DebugStatsPrefix, total, len(sites))
	for i := 0; i < len(sites) && i < heapSitesShown; i++ {
		s := sites[i]
		fmt.Fprintf(w, "%d bytes in %d objects\n", s.bytes, s.objects)
		frames := runtime.CallersFrames(s.stack)
		for k := 0; k < heapSiteFrames; k++ {
			f, more := frames.Next()
			if !strings.HasPrefix(f.Function, "runtime.") {
				fmt.Fprintf(w, "\t%s\n", f.Function)
			}
			if !more {
				break
			}
		}
	}
}

// scaleHeapSample undoes the profile's sampling as pprof does: an
// allocation of size s is recorded with probability 1-exp(-s/rate).
func scaleHeapSample(bytes, objects, rate int64) (int64, int64) {
	if objects == 0 || bytes == 0 || rate <= 1 {
		return bytes, objects
	}
	avg := float64(bytes) / float64(objects)
	scale := 1 / (1 - math.Exp(-avg/float64(rate)))
	return int64(float64(bytes) * scale), int64(float64(objects) * scale)
}
