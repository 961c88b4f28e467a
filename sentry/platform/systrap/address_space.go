package systrap

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/cpuledger"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/stubproc"
)

// addressSpace is one stub process. Its first thread belongs to the factory;
// every context that runs in the address space gets a stub thread of its
// own, made on first use.
type addressSpace struct {
	p     *Platform
	first *tracee
	// cpu bounds the user time charged for the Switches of the process's
	// threads (cpu_time.go); safe for concurrent use.
	cpu *cpuledger.Ledger

	// mu protects everything below.
	mu sync.Mutex
	// threads maps each context to its stub thread in this process.
	threads map[*context]*stubThread
	// regions holds every thread region ever mapped, by index; free holds
	// those whose thread has exited, for reuse.
	regions []*region
	free    []*region
	// exiting holds the threads told to exit whose regions are reused
	// once the host has removed them.
	exiting []*stubThread
	// idle holds stub threads made ahead of use (see Platform.spares),
	// which never ran application code.
	idle []*stubThread
	// parked holds the stub threads of exited tasks, at most maxParked,
	// kept for the process's next task: a thread is the process's own
	// (whatever the application did to it, only this process, which
	// shares the memory, can be affected), and making one costs a clone
	// and several ptrace stops. Recycling ends them like any thread that
	// ran application code.
	parked   []*stubThread
	released bool

	// pendMu protects pending, maps, running, sys and releasing
	// (batch.go, syscall_thread.go). It is taken before mu, and held
	// while queued calls run so that they run in order.
	pendMu sync.Mutex
	// pending holds the mmaps queued while no thread runs application
	// code.
	pending []editOp
	// maps is what the process maps below stubStart once pending is
	// made (hostmaps.go); not kept up to date while holding.
	maps hostMaps
	// running counts the stub threads running application code (between
	// beginRun and endRun).
	running int
	// sys is the process's syscall thread, which makes its mmaps and
	// munmaps; nil once released.
	sys *sysThread
	// releasing is set by Release: no thread may run application code
	// any more.
	releasing bool
	// holding is set while an execve reloads the process (reload.go):
	// edits are queued whatever their number, and no thread may run
	// application code. heldTrapTable is the old program's trap table,
	// put back if the reload is aborted.
	holding       bool
	heldTrapTable uint64

	// reapMu protects reaped, set once the process is killed and its
	// first thread reaped: its ID may belong to another process then.
	reapMu sync.Mutex
	reaped bool

	// trapTable is where mm mapped the trap table of patched system-call
	// sites (fastpath.go), 0 while there is none.
	trapTable atomic.Uint64
}

// region is a thread's sysmsg page and signal stack: regionSize bytes of
// the memory file, mapped in the stub at addr and in the sentry as mem.
type region struct {
	addr uint64
	fr   memfile.Range
	mem  []byte
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// NewAddressSpace implements platform.Platform.NewAddressSpace. It may be
// called from any thread. The factory keeps an address space made ahead
// or recycled, with a stub thread ready to run, so a fork or an exec does
// not wait for the host to fork a stub.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	var as *addressSpace
	err := p.do(func(master *tracee) error {
		p.lastTaken = time.Now()
		if n := len(p.spares); n > 0 {
			// One with a thread ready, if any.
			i := n - 1
			for j, s := range p.spares {
				if len(s.idle) > 0 {
					i = j
				}
			}
			as = p.spares[i]
			p.spares = append(p.spares[:i], p.spares[i+1:]...)
			return nil
		}
		var err error
		as, err = p.newSpace(master, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.spacesMu.Lock()
	p.spaces[as] = struct{}{}
	p.spacesMu.Unlock()
	return as, nil
}

// newSpace forks a stub process, with a stub thread made ahead when
// withThread is set.
//
// Preconditions: runs on the factory's thread.
func (p *Platform) newSpace(master *tracee, withThread bool) (*addressSpace, error) {
	first, err := newProcess(master)
	if err != nil {
		return nil, err
	}
	as := &addressSpace{p: p, first: first, threads: make(map[*context]*stubThread), maps: newHostMaps(), cpu: cpuledger.New(first.tgid)}
	if err := as.startSysThread(); err != nil {
		as.release(false)
		return nil, err
	}
	if withThread {
		t, err := as.newThreadLocked(func(fn func() error) error { return fn() })
		if err != nil {
			as.release(false)
			return nil, err
		}
		as.idle = append(as.idle, t)
	}
	return as, nil
}

// MapFile implements platform.AddressSpace.MapFile.
// The mapping may be queued until a thread of the process next runs
// application code (batch.go).
func (as *addressSpace) MapFile(addr uint64, fr memfile.Range, perms platform.AccessType) error {
	fd, off := stubproc.FileOf(as.p.mf, fr)
	return as.queueMap(editOp{nr: unix.SYS_MMAP, args: [6]uintptr{uintptr(addr), uintptr(fr.Length()), hostProt(perms),
		unix.MAP_SHARED | unix.MAP_FIXED, fd, off}})
}

// Protect implements platform.Protector with mprotect(2), queued like
// MapFile's mmap.
func (as *addressSpace) Protect(addr, length uint64, perms platform.AccessType) error {
	return as.queueMap(editOp{nr: unix.SYS_MPROTECT, args: [6]uintptr{uintptr(addr), uintptr(length), hostProt(perms)}})
}

var _ platform.Protector = (*addressSpace)(nil)

// Unmap implements platform.AddressSpace.Unmap. munmap of a host process is
// synchronous for all its threads: no stub thread can use the old
// translation once it returns.
//
// An munmap the host refuses (ENOMEM when splitting a mapping would pass
// the host's map count) leaves the pages mapped in the stub, and the
// caller reuses them at once: the process is killed instead, and Unmap
// returns once it is gone.
func (as *addressSpace) Unmap(addr, length uint64) {
	if err := as.editNow(munmapOp(addr, length)); err != nil {
		as.kill()
	}
}

// kill kills the stub process and waits until the host has removed it,
// with its mappings. The leader is reported dead only once every thread of
// the process is gone.
func (as *addressSpace) kill() {
	as.reapMu.Lock()
	defer as.reapMu.Unlock()
	if as.reaped {
		return
	}
	_ = unix.Kill(as.first.tgid, unix.SIGKILL)
	as.first.reap()
	as.reaped = true
}

// isReaped reports whether kill has run.
func (as *addressSpace) isReaped() bool {
	as.reapMu.Lock()
	defer as.reapMu.Unlock()
	return as.reaped
}

// threadFor returns c's stub thread in the process, making one if needed.
func (as *addressSpace) threadFor(c *context) (*stubThread, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released {
		return nil, errStubDied
	}
	if t, ok := as.threads[c]; ok {
		return t, nil
	}
	var t *stubThread
	if n := len(as.parked); n > 0 {
		t = as.parked[n-1]
		as.parked = as.parked[:n-1]
	} else if n := len(as.idle); n > 0 {
		t = as.idle[n-1]
		as.idle = as.idle[:n-1]
	} else {
		var err error
		t, err = as.newThreadLocked(func(fn func() error) error {
			return as.p.do(func(*tracee) error { return fn() })
		})
		if err != nil {
			return nil, err
		}
	}
	as.threads[c] = t
	return t, nil
}

// newThreadLocked makes a stub thread and waits until it is ready. onFactory
// runs a function on the factory's thread.
//
// Preconditions: as.mu is held, or as is not shared yet.
func (as *addressSpace) newThreadLocked(onFactory func(func() error) error) (*stubThread, error) {
	var r *region
	var t *stubThread
	err := onFactory(func() error {
		var err error
		if r, err = as.regionLocked(); err != nil {
			return err
		}
		clear(r.mem[:pageSize])
		// stack_t { ss_sp, ss_flags, ss_size } for the thread's sigaltstack.
		ss := (*[3]uint64)(unsafe.Pointer(&r.mem[sysmsgAltStack]))
		ss[0], ss[1], ss[2] = r.addr+pageSize, 0, regionSize-pageSize
		t = &stubThread{as: as, r: r, msg: (*sysmsg)(unsafe.Pointer(&r.mem[0])), call: noCall}
		// No spin for the first run: a new thread is handed over
		// only once the task it was made for (a fork's child, a new
		// thread) is set up, which takes longer than a spin lasts
		// (measured: nearly every one ran out).
		t.msg.Spin = 0
		t.msg.StubCPU, t.msg.SentryCPU = noCPU, noCPU
		t.initFastPath()
		t.tid, err = newThread(as.first, r.addr)
		if err != nil {
			as.free = append(as.free, r)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := t.start(); err != nil {
		_ = unix.Tgkill(as.first.tgid, t.tid, unix.SIGKILL)
		return nil, err
	}
	return t, nil
}

// regionLocked returns a free thread region, mapping a new one if needed.
//
// Preconditions: runs on the factory's thread; as.mu is held or as is not
// shared yet.
func (as *addressSpace) regionLocked() (*region, error) {
	// Regions of exited threads come back once the host removed them.
	live := as.exiting[:0]
	for _, t := range as.exiting {
		if unix.Tgkill(as.first.tgid, t.tid, 0) == unix.ESRCH {
			as.free = append(as.free, t.r)
		} else {
			live = append(live, t)
		}
	}
	as.exiting = live
	if n := len(as.free); n > 0 {
		r := as.free[n-1]
		as.free = as.free[:n-1]
		return r, nil
	}
	if len(as.regions) >= maxRegions {
		return nil, fmt.Errorf("systrap: too many stub threads")
	}
	fr, err := as.p.mf.Allocate(regionSize)
	if err != nil {
		return nil, err
	}
	r := &region{addr: regionBase + uint64(len(as.regions))*regionSize, fr: fr, mem: as.p.mf.Slice(fr)}
	if _, err := as.first.syscall(unix.SYS_MMAP, uintptr(r.addr), regionSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_FIXED, stubMemFD, uintptr(fr.Start)); err != nil {
		as.p.mf.Release(fr)
		return nil, fmt.Errorf("systrap: mapping a stub thread region: %w", err)
	}
	as.regions = append(as.regions, r)
	return r, nil
}

// Release implements platform.AddressSpace.Release. The stub threads of
// the process die with it.
//
// The host takes a while to tear a killed process down (the leader is
// reported only once every thread and the mappings are gone), and a fork+exec
// releases an address space each time. When no thread of the process runs
// application code, Release empties the process and leaves the rest to a
// goroutine, which recycles it (recycle.go) or kills it: no application
// code can run there again (beginRun refuses a released space), and
// nothing of the memory file is mapped there any more, so the pages may be
// reused at once. Its thread regions and syscall page, which the stub's
// own code still reads, are released only once it is reaped. Otherwise
// Release kills the process and returns once it is gone.
func (as *addressSpace) Release() {
	as.release(true)
}

// release releases the address space; in the background says that the wait
// for the host to remove the process may outlive the call, and that the
// process may be recycled.
func (as *addressSpace) release(inBackground bool) {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return
	}
	as.released = true
	appThreads := append(append([]*stubThread(nil), as.exiting...), as.parked...)
	for _, t := range as.threads {
		appThreads = append(appThreads, t)
	}
	idleThreads := as.idle
	as.threads, as.exiting, as.idle, as.parked = nil, nil, nil, nil
	regions := as.regions
	as.regions, as.free = nil, nil
	as.mu.Unlock()
	as.p.spacesMu.Lock()
	delete(as.p.spaces, as)
	as.p.spacesMu.Unlock()
	as.pendMu.Lock()
	as.releasing = true
	idle := as.running == 0
	keep := inBackground && idle && as.keepableLocked()
	as.pendMu.Unlock()
	// A thread that outlives the wait gets the process killed.
	stuck := false
	if keep {
		// The process keeps its mappings for its next address space
		// only once no thread of it can run application code: the
		// caller frees the pages they map next (hostmaps.go).
		stuck = !as.endThreads(appThreads)
		appThreads = nil
	}
	as.pendMu.Lock()
	if keep && !stuck {
		as.maps.keepAll()
	}
	emptied := !stuck && inBackground && idle && (keep || as.emptyLocked())
	as.pendMu.Unlock()
	// The leader is reaped only once every thread of the process is gone,
	// and with them the process's mappings of the regions.
	// Traced threads stay zombies until reaped, and the leader cannot be
	// reaped before them (wait4 sees the tracees of every thread of the
	// sentry).
	finish := func() {
		as.kill()
		for _, r := range regions {
			as.p.mf.Release(r.fr)
		}
		as.releaseBatch()
	}
	if !emptied {
		// The caller frees the pages next: the process must be gone.
		finish()
		return
	}
	as.p.reapers.Add(1)
	as.p.recycling.Add(1)
	go func() {
		defer as.p.reapers.Done()
		if fresh := as.recycle(appThreads, idleThreads, regions); fresh != nil {
			if as.p.keepSpare(fresh) {
				return
			}
			fresh.release(false)
			return
		}
		as.p.recycled()
		finish()
	}()
}

// maxParked bounds the stub threads a process keeps for its next tasks.
const maxParked = 4

// releaseThread parks c's stub thread, whose task is going away, for the
// process's next task, or ends it and keeps its region for the next
// thread.
func (as *addressSpace) releaseThread(c *context) {
	as.mu.Lock()
	t, ok := as.threads[c]
	delete(as.threads, c)
	if ok && !as.released && len(as.parked) < maxParked {
		// It waits in its hand-off, as between two Switch calls; the
		// next task's Switch gives it that task's registers and FP
		// state.
		as.parked = append(as.parked, t)
		as.mu.Unlock()
		return
	}
	as.mu.Unlock()
	if !ok {
		return
	}
	t.msg.Cmd = cmdExit
	t.resume()
	// The thread is not a child of ours: its region is reused once the
	// host has removed it (regionLocked checks).
	as.mu.Lock()
	if !as.released {
		as.exiting = append(as.exiting, t)
	}
	as.mu.Unlock()
}

const pageSize = 4096

func hostProt(perms platform.AccessType) uintptr {
	var prot uintptr
	if perms&platform.Read != 0 {
		prot |= unix.PROT_READ
	}
	if perms&platform.Write != 0 {
		prot |= unix.PROT_WRITE
	}
	if perms&platform.Execute != 0 {
		prot |= unix.PROT_EXEC
	}
	return prot
}
