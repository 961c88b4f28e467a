package kvm

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// RawExitRoundTrip measures the cheapest exit this host's KVM offers, n
// times: a ring-0 guest that only runs hlt (the trampoline's halt stub),
// each KVM_RUN one exit with no register written back. It is the floor
// under a system call's round trip, which make bench reports next to it.
func (p *Platform) RawExitRoundTrip(n int) (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	v, err := p.m.pool.acquire(nil, int32(unix.Gettid()))
	if err != nil {
		return 0, err
	}
	defer p.m.pool.release(v)
	// The vCPU is left outside any address space's bookkeeping: make
	// the next Switch on it reload everything.
	defer func() { v.flushedAS, v.cpl, v.atSyscallStub, v.userOwner = nil, 0, false, nil }()
	k := &v.run.Sync.Regs
	k.RIP, k.RSP, k.RFLAGS = haltStubVA, stackTop(v.id, stackRSP0), kernelRFlags
	v.run.DirtyRegs = syncRegs
	if v.cpl != 0 {
		v.run.Sync.Sregs.CS, v.run.Sync.Sregs.SS = segKernelCode, segKernelData
		v.run.DirtyRegs |= syncSregs
	}
	run := func() error {
		for {
			errno := v.be.run()
			if errno == unix.EINTR {
				setImmediateExit(v.run, 0)
				continue
			}
			if errno != 0 || v.run.ExitReason != exitHLT {
				return fmt.Errorf("kvm: raw exit: KVM_RUN: %v, exit reason %d at rip %#x", errno, v.run.ExitReason, v.run.Sync.Regs.RIP)
			}
			return nil
		}
	}
	if err := run(); err != nil {
		return 0, err
	}
	start := time.Now()
	for range n {
		if err := run(); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(n), nil
}
