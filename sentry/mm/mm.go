// Package mm implements application address spaces: the list of virtual
// memory areas (VMAs) that mmap(2) and friends edit, the pages of the memory
// file that back them, demand paging on faults, and the copies between
// application memory and the sentry.
//
// A MemoryManager owns one platform.AddressSpace and keeps it a subset of
// its own view: a page is mapped in the platform only if the VMA covering it
// allows the access and the page is populated in pages. Removing or
// restricting a mapping always unmaps it from the platform before the
// syscall returns, so an application can never use a stale translation.
//
// Lock order: MemoryManager.mu is a leaf lock, except that platform
// AddressSpace methods are called with it held.
package mm

import (
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

const (
	pageSize = arch.PageSize
	// faultAroundPages is how many pages a fault populates at once (an
	// aligned window around the faulting page, clipped to its VMA). Each
	// platform fault costs tens of microseconds, populating a neighbour
	// costs a memset.
	faultAroundPages = 16
	// fileFaultAroundPages is the window for file-backed mappings: program
	// text and libraries are read sequentially at start-up, and copying a
	// file page costs far less than a fault (a dynamic /bin/true starts
	// ~4 ms sooner with 64 than with 16).
	fileFaultAroundPages = 64
	// minMmapAddr is Linux's default vm.mmap_min_addr.
	minMmapAddr = 0x10000
	// stackGuardGap is Linux's stack_guard_gap: a growing stack keeps this
	// far from the mapping below it.
	stackGuardGap = 256 * pageSize
	// defaultStackLimit bounds stack growth (RLIMIT_STACK's usual 8 MiB).
	defaultStackLimit = 8 << 20
	// mmapGap is the space left below the stack for it to grow before
	// top-down mmap allocations begin, as Linux's mmap_base does.
	mmapGap = 128 << 20
)

// vma is one virtual memory area, [start, end).
type vma struct {
	start, end uint64
	perms      platform.AccessType
	maxPerms   platform.AccessType
	private    bool
	growsDown  bool
	file       Mappable
	// off is the file offset (or shared-object offset) that start maps.
	off uint64
	// shared holds the pages of a MAP_SHARED mapping; nil for private
	// ones.
	shared *sharedMemory
	// cache, for a private file mapping, is the file's own page object
	// (a tmpfs file's data, a gofer file's page cache): pages are mapped
	// from it copy-on-write.
	cache *SharedMemory
	name  string
	// special marks a mapping of a kernel object (MMapOpts.Object), which
	// cannot grow.
	special bool
	// lock is the VMA's mlock state (mlock.go).
	lock lockMode
}

// hold takes the references a VMA of mm keeps on its file and shared
// object, and records mm among the object's mappers.
func (v *vma) hold(mm *MemoryManager) {
	if v.file != nil {
		incRef(v.file)
	}
	if v.shared != nil {
		v.shared.incRef()
		v.shared.addMapper(mm)
	}
	if v.cache != nil {
		v.cache.incRef()
		v.cache.addMapper(mm)
	}
}

// drop releases what hold took.
func (v *vma) drop(mm *MemoryManager) {
	v.writeBack(v.start, v.end)
	if v.file != nil {
		decRef(v.file)
	}
	if v.shared != nil {
		v.shared.removeMapper(mm)
		v.shared.decRef(mm.mf)
	}
	if v.cache != nil {
		v.cache.removeMapper(mm)
		v.cache.decRef(mm.mf)
	}
}

// fileOffset returns the file offset that backs addr.
func (v *vma) fileOffset(addr uint64) uint64 { return v.off + (addr - v.start) }

// MemoryManager is one application address space.
type MemoryManager struct {
	// users counts the tasks sharing the address space (CLONE_VM); the
	// last one releases it.
	users atomic.Int32

	mf      *memfile.File
	as      platform.AddressSpace
	maxAddr uint64

	// mu protects everything below, and serialises calls into as.
	mu sync.Mutex
	// vmas is sorted by start; VMAs never overlap.
	vmas []*vma
	// pages holds the page-table entries (pagetable.go).
	pages pageTable
	// peakPages is the most pages populated at once (ru_maxrss).
	peakPages uint64
	// filled is set when the fault being served read file data
	// (FaultResult.Major).
	filled bool
	// brkStart is where the heap begins; brk is the current break.
	brkStart, brk uint64
	// mmapBase is where top-down allocations start.
	mmapBase uint64
	// stackLimit bounds growth of GrowsDown mappings.
	stackLimit uint64
	// commitLimit is the largest accountable mapping: the memory file's
	// size, which is all the memory the sandbox can use.
	commitLimit uint64
	// asLimit is RLIMIT_AS: the most address space the VMAs may span.
	asLimit uint64
	// memcg is the account of the pages the address space populates
	// (nil: none); set before the address space is used.
	memcg *MemCgroup
	// chargedOver is set when a fault, a copy or a populate of the
	// address space found its account past its limit, for the task
	// that made it to run the owner's OOM path (TakeChargedOver).
	chargedOver atomic.Bool
	// patch is the system-call patching state (syscall_patch.go).
	patch patchState
	// forkedFrom is the address space mm was forked from, nil for one
	// that exec made or once mm is released: the system-call sites mm's
	// traps show are patched there too (syscall_patch.go), and the pages
	// mm first writes copy-on-write are recalled for its later forks
	// (fork.go). It is read under mm.mu and used after mm.mu is released.
	forkedFrom *MemoryManager
	// released is set by Release: nothing is patched for mm afterwards,
	// whichever child's trap asks.
	released bool
	// lockFuture is the lock mlockall(MCL_FUTURE) gives new VMAs.
	lockFuture lockMode
	// cowSinceFork counts the copy-on-write faults since the address
	// space was made or last forked (fork.go).
	cowSinceFork int
	// forkRecall holds pages written copy-on-write soon after a fork by
	// this address space or a child forked from it, a ring of
	// forkRecallPages written through forkRecallNext: each fork copies
	// them for the child (fork.go). Atomic, so that a child records
	// without the parent's lock.
	forkRecall     [forkRecallPages]atomic.Uint64
	forkRecallNext atomic.Uint32
	// lastCOW is the page of the latest copy-on-write fault that made
	// a copy, 0 before the first (cow.go).
	lastCOW uint64
}

// SetMemCgroup charges the pages the address space populates from now on
// to c.
func (mm *MemoryManager) SetMemCgroup(c *MemCgroup) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.memcg = c
}

// SetLimits applies the process's RLIMIT_AS and RLIMIT_STACK.
func (mm *MemoryManager) SetLimits(as, stack uint64) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.asLimit = as
	mm.stackLimit = stack
}

// mappedLocked returns the total size of the VMAs.
func (mm *MemoryManager) mappedLocked() uint64 {
	var n uint64
	for _, v := range mm.vmas {
		n += v.end - v.start
	}
	return n
}

// New returns an empty memory manager over as.
func New(mf *memfile.File, as platform.AddressSpace, maxAddr uint64) *MemoryManager {
	m := &MemoryManager{
		mf:          mf,
		as:          as,
		maxAddr:     maxAddr,
		pages:       newPageTable(),
		mmapBase:    maxAddr - mmapGap,
		stackLimit:  defaultStackLimit,
		commitLimit: mf.Size(),
		asLimit:     ^uint64(0),
	}
	m.users.Store(1)
	return m
}

// IncUsers adds a task sharing the address space.
func (mm *MemoryManager) IncUsers() { mm.users.Add(1) }

// DecUsers removes a task; the last one releases the address space.
func (mm *MemoryManager) DecUsers() {
	if mm.users.Add(-1) == 0 {
		mm.Release()
	}
}

// Users returns how many tasks share the address space.
func (mm *MemoryManager) Users() int32 { return mm.users.Load() }

// FutexKey returns the identity of the futex word at addr: for shared
// memory the shared object and offset (the same in every address space
// mapping it), for private memory this address space and addr.
func (mm *MemoryManager) FutexKey(addr uint64, private bool) (any, uint64, error) {
	if private {
		return mm, addr, nil
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	v := mm.vmaAtLocked(addr)
	if v == nil {
		return nil, 0, errFault
	}
	if v.shared != nil {
		return v.shared, v.fileOffset(addr), nil
	}
	return mm, addr, nil
}

// AddressSpace returns the platform address space the manager fills.
func (mm *MemoryManager) AddressSpace() platform.AddressSpace { return mm.as }

// MaxUserAddress returns the end of the mappable range.
func (mm *MemoryManager) MaxUserAddress() uint64 { return mm.maxAddr }

// Release frees every page and the platform address space.
func (mm *MemoryManager) Release() {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	// The platform first: a page freed while the address space still
	// maps it could be handed to another process while a thread of this
	// one can still reach it.
	mm.as.Release()
	mm.released, mm.forkedFrom = true, nil
	mm.pages.each(func(_ uint64, p *pte) { p.page.decRef(mm.mf) })
	mm.pages.clear()
	for _, v := range mm.vmas {
		v.drop(mm)
	}
	mm.vmas = nil
}

// findLocked returns the index of the first VMA that ends after addr.
func (mm *MemoryManager) findLocked(addr uint64) int {
	return sort.Search(len(mm.vmas), func(i int) bool { return mm.vmas[i].end > addr })
}

// vmaAtLocked returns the VMA containing addr, or nil.
func (mm *MemoryManager) vmaAtLocked(addr uint64) *vma {
	i := mm.findLocked(addr)
	if i < len(mm.vmas) && mm.vmas[i].start <= addr {
		return mm.vmas[i]
	}
	return nil
}

// overlapsLocked reports whether any VMA intersects [start, end).
func (mm *MemoryManager) overlapsLocked(start, end uint64) bool {
	i := mm.findLocked(start)
	return i < len(mm.vmas) && mm.vmas[i].start < end
}

// insertLocked adds v, which overlaps nothing, taking references on its
// file and shared object.
func (mm *MemoryManager) insertLocked(v *vma) {
	v.hold(mm)
	i := mm.findLocked(v.start)
	mm.vmas = append(mm.vmas, nil)
	copy(mm.vmas[i+1:], mm.vmas[i:])
	mm.vmas[i] = v
}

// splitLocked makes addr a VMA boundary if a VMA straddles it.
func (mm *MemoryManager) splitLocked(addr uint64) {
	i := mm.findLocked(addr)
	if i == len(mm.vmas) || mm.vmas[i].start >= addr {
		return
	}
	v := mm.vmas[i]
	upper := *v
	upper.start = addr
	upper.off = v.fileOffset(addr)
	v.end = addr
	upper.hold(mm)
	mm.vmas = append(mm.vmas, nil)
	copy(mm.vmas[i+2:], mm.vmas[i+1:])
	mm.vmas[i+1] = &upper
}

// removeRangeLocked deletes [start, end) from the VMAs and frees its pages.
func (mm *MemoryManager) removeRangeLocked(start, end uint64) {
	if !mm.overlapsLocked(start, end) {
		return
	}
	mm.splitLocked(start)
	mm.splitLocked(end)
	i := mm.findLocked(start)
	j := i
	for j < len(mm.vmas) && mm.vmas[j].start < end {
		mm.vmas[j].drop(mm)
		j++
	}
	mm.vmas = append(mm.vmas[:i], mm.vmas[j:]...)
	mm.trapTableGoneLocked(start, end)
	if mm.anyMappedLocked(start, end) {
		mm.as.Unmap(start, end-start)
	}
	mm.releasePagesLocked(start, end)
}

// anyMappedLocked reports whether a page of [start, end) is mapped in the
// platform address space. Only pages whose entry says so are: an unmap of
// a range without any (an exec's fixed mappings in a fresh address space,
// a munmap of memory never touched) needs no platform call, and on the
// systrap and ptrace platforms each call is a round trip to a host
// process.
func (mm *MemoryManager) anyMappedLocked(start, end uint64) bool {
	found := false
	mm.forEachPageLocked(start, end, func(_ uint64, p *pte) {
		found = found || p.mapped
	})
	return found
}

// releasePagesLocked frees the populated pages in [start, end). The caller
// has unmapped them from the platform.
func (mm *MemoryManager) releasePagesLocked(start, end uint64) {
	mm.forEachPageLocked(start, end, func(addr uint64, p *pte) {
		p.page.decRef(mm.mf)
		mm.pages.remove(addr)
	})
}

// forEachPageLocked calls fn for each populated page in [start, end), in
// address order. fn may remove the page it is given, and no other.
func (mm *MemoryManager) forEachPageLocked(start, end uint64, fn func(addr uint64, p *pte)) {
	mm.pages.eachIn(start, end, func(addr uint64, p *pte) bool {
		fn(addr, p)
		return true
	})
}

// errno helpers keep the syscall paths free of formatting.
var (
	errInval    error = unix.EINVAL
	errNoMem    error = unix.ENOMEM
	errExist    error = unix.EEXIST
	errAccess   error = unix.EACCES
	errPerm     error = unix.EPERM
	errFault    error = unix.EFAULT
	errOverflow error = unix.EOVERFLOW
	errNameLong error = unix.ENAMETOOLONG
)

// ResidentPages returns how many pages the address space has populated.
func (mm *MemoryManager) ResidentPages() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return uint64(mm.pages.len())
}

// PeakResidentPages returns the most pages the address space has held at
// once (getrusage's ru_maxrss).
func (mm *MemoryManager) PeakResidentPages() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return max(mm.peakPages, uint64(mm.pages.len()))
}
