package control

import (
	"math"
	"os"
	"time"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/mm"
)

// stats reports the pod's and each container's resource use (OpStats).
func (s *Server) stats() *Stats {
	st := &Stats{
		Timestamp:   time.Now().UnixNano(),
		MemoryBytes: s.pod.MemoryInUse(),
		CPUNanos:    uint64(s.k.TotalCPU()),
	}
	for _, c := range s.sortedContainers() {
		st.Containers = append(st.Containers, containerStats(c.id, c.kc.Stats()))
	}
	return st
}

// containerStats turns the kernel's account of a container into its
// control form, measuring its address spaces' memory.
func containerStats(id string, u kernel.ContainerStats) ContainerStats {
	page := uint64(os.Getpagesize())
	resident, shmem := mm.ResidentMemory(u.MMs)
	rss, mapped := memoryByKind(u.MMs)
	out := ContainerStats{
		ID:                    id,
		CPUNanos:              uint64(u.UserCPU + u.SystemCPU),
		MemoryWorkingSetBytes: resident * page,
		Processes:             uint64(u.Processes),

		HasDetail:             true,
		UserNanos:             uint64(u.UserCPU),
		SystemNanos:           uint64(u.SystemCPU),
		Threads:               uint64(u.Threads),
		FileDescriptors:       uint64(u.FileDescriptors),
		Sockets:               uint64(u.Sockets),
		MemoryUsageBytes:      u.MemoryUsage,
		MemoryMaxUsageBytes:   u.MemoryPeak,
		MemoryFailcnt:         u.MemoryFailcnt,
		MemoryRSSBytes:        rss,
		MemoryMappedFileBytes: mapped,
		MemoryShmemBytes:      shmem * page,
		OOMKills:              u.OOMKills,
		PageFaults:            u.PageFaults,
		MajorFaults:           u.MajorFaults,
		HasWritableLayer:      u.HasLayer,
		WritableLayerBytes:    u.LayerBytes,
		WritableLayerInodes:   u.LayerInodes,
	}
	if u.HasInit {
		n := int64(-1)
		if u.NoFileSoft != kernel.Infinity && u.NoFileSoft <= math.MaxInt64 {
			n = int64(u.NoFileSoft)
		}
		out.NoFileSoft = &n
	}
	return out
}

// memoryByKind sums the proportional set size of the resident pages of
// anonymous private mappings (rss) and of file mappings (mapped) over
// the address spaces mms: a page mapped by several address spaces counts
// its share in each, so pages shared after fork add up to one page.
func memoryByKind(mms []*mm.MemoryManager) (rss, mapped uint64) {
	for _, m := range mms {
		for _, v := range m.VMAs(true) {
			switch {
			case v.File != nil:
				mapped += v.PssBytes
			case v.Private:
				rss += v.PssBytes
			}
		}
	}
	return rss, mapped
}
