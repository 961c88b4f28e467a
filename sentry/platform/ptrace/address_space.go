package ptrace

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/cpuledger"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/stubproc"
)

// addressSpace is one stub process. Its first thread belongs to the factory;
// every sentry thread that touches the address space gets a stub thread of
// its own, made on first use.
type addressSpace struct {
	p     *Platform
	first *thread
	// cpu bounds the user time charged for the Switches of the process's
	// threads (context.go's BoundUserTime); safe for concurrent use.
	cpu *cpuledger.Ledger

	// mu protects spare, threads, released, probeUsed and probeFree.
	mu sync.Mutex
	// spare is the thread made with the process, not yet claimed.
	spare int
	// threads maps the host TID of a tracer to the stub thread it traces in
	// this process.
	threads  map[int]*thread
	released bool
	// probeUsed is the number of probe slots (faultprobe.go) handed out
	// so far; probeFree holds those whose threads exited.
	probeUsed int
	probeFree []int
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// NewAddressSpace implements platform.Platform.NewAddressSpace. It may be
// called from any thread.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	res := p.request(nil)
	if res.err != nil {
		return nil, res.err
	}
	as := &addressSpace{p: p, first: res.first, spare: res.tid, threads: make(map[int]*thread), cpu: cpuledger.New(res.first.tgid)}
	p.spacesMu.Lock()
	p.spaces[as] = struct{}{}
	p.spacesMu.Unlock()
	return as, nil
}

// threadFor returns the stub thread the calling host thread traces, making
// one if needed.
//
// Preconditions: the caller is locked to its OS thread.
func (as *addressSpace) threadFor() (*thread, error) {
	tid := unix.Gettid()
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.released {
		return nil, errStubDied
	}
	if t, ok := as.threads[tid]; ok {
		return t, nil
	}
	stubTID := as.spare
	as.spare = 0
	if stubTID == 0 {
		res := as.p.request(as.first)
		if res.err != nil {
			return nil, res.err
		}
		stubTID = res.tid
	}
	t, err := attach(as.first.tgid, stubTID)
	if err != nil {
		_ = unix.Tgkill(as.first.tgid, stubTID, unix.SIGKILL)
		return nil, err
	}
	if as.p.faultProbe {
		t.probeSlot = as.probeSlotLocked()
	}
	as.threads[tid] = t
	return t, nil
}

// probeSlotLocked returns a free probe slot, or 0 when all are taken (the
// thread then cannot probe its faults).
//
// Preconditions: as.mu is held.
func (as *addressSpace) probeSlotLocked() int {
	if n := len(as.probeFree); n > 0 {
		i := as.probeFree[n-1]
		as.probeFree = as.probeFree[:n-1]
		return i
	}
	if as.probeUsed == probeSlots {
		return 0
	}
	as.probeUsed++
	return as.probeUsed
}

// MapFile implements platform.AddressSpace.MapFile.
func (as *addressSpace) MapFile(addr uint64, fr memfile.Range, perms platform.AccessType) error {
	t, err := as.threadFor()
	if err != nil {
		return err
	}
	fd, off := stubproc.FileOf(as.p.mf, fr)
	_, err = t.syscall(unix.SYS_MMAP, uintptr(addr), uintptr(fr.Length()), hostProt(perms),
		unix.MAP_SHARED|unix.MAP_FIXED, fd, off)
	return err
}

// Unmap implements platform.AddressSpace.Unmap.
func (as *addressSpace) Unmap(addr, length uint64) {
	t, err := as.threadFor()
	if err != nil {
		return
	}
	// munmap of a host process is synchronous for all its threads: no stub
	// thread can use the old translation once it returns.
	_, _ = t.syscall(unix.SYS_MUNMAP, uintptr(addr), uintptr(length))
}

// Release implements platform.AddressSpace.Release. The stub threads of
// the process die with it.
func (as *addressSpace) Release() {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return
	}
	as.released = true
	as.p.spacesMu.Lock()
	delete(as.p.spaces, as)
	as.p.spacesMu.Unlock()
	threads := as.threads
	as.threads = nil
	as.mu.Unlock()
	_ = unix.Kill(as.first.tgid, unix.SIGKILL)
	// A traced thread stays a zombie until its tracer's thread group reaps
	// it, and the process's leader cannot be reaped before its other
	// threads: reap them all (wait4 sees the tracees of every thread of the
	// sentry).
	for _, t := range threads {
		t.reap()
	}
	as.first.reap()
}

// releaseThread ends the stub thread traced by the calling thread, whose
// task is going away. The thread exits by itself: a signal would kill the
// whole process, and so would PTRACE_O_EXITKILL when the tracer's OS thread
// ends with the thread still attached.
func (as *addressSpace) releaseThread() {
	tid := unix.Gettid()
	as.mu.Lock()
	t, ok := as.threads[tid]
	delete(as.threads, tid)
	if ok && t.probeSlot != 0 {
		as.probeFree = append(as.probeFree, t.probeSlot)
	}
	as.mu.Unlock()
	if ok {
		t.exit()
	}
}

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
