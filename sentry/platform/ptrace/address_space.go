package ptrace

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// addressSpace is one stub process.
type addressSpace struct {
	p *Platform

	// mu protects threads and released.
	mu sync.Mutex
	// threads maps the host TID of a tracer to the stub thread it traces in
	// this process.
	threads map[int]*thread
	// main is the stub process's first thread; its owner created the
	// address space.
	main     *thread
	released bool
}

var _ platform.AddressSpace = (*addressSpace)(nil)

// NewAddressSpace implements platform.Platform.NewAddressSpace.
//
// Preconditions: the caller is locked to its OS thread.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	t, err := p.newStubProcess()
	if err != nil {
		return nil, err
	}
	return &addressSpace{p: p, main: t, threads: map[int]*thread{t.owner: t}}, nil
}

// threadFor returns the stub thread the calling host thread traces.
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
	// Tasks sharing one address space from several host threads come with
	// the multi-threaded kernel; until then a second tracer is an error the
	// caller reports, never a silent cross-thread ptrace.
	return nil, fmt.Errorf("ptrace: address space of stub %d is not traced by thread %d", as.main.tgid, tid)
}

// MapFile implements platform.AddressSpace.MapFile.
func (as *addressSpace) MapFile(addr uint64, fr memfile.Range, perms platform.AccessType) error {
	t, err := as.threadFor()
	if err != nil {
		return err
	}
	_, err = t.syscall(unix.SYS_MMAP, uintptr(addr), uintptr(fr.Length()), hostProt(perms),
		unix.MAP_SHARED|unix.MAP_FIXED, stubMemFD, uintptr(fr.Start))
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

// Release implements platform.AddressSpace.Release.
func (as *addressSpace) Release() {
	as.mu.Lock()
	if as.released {
		as.mu.Unlock()
		return
	}
	as.released = true
	as.mu.Unlock()
	as.main.kill()
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
