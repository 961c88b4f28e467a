package systrap

import (
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// spareHolds reports whether the factory keeps a spare whose process is
// tgid.
func spareHolds(t *testing.T, p *Platform, tgid int) bool {
	t.Helper()
	found := false
	if err := p.do(func(*tracee) error {
		for _, as := range p.spares {
			found = found || as.first.tgid == tgid
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// runOnce switches ctx into as at rip and returns the trap.
func runOnce(t *testing.T, ctx platform.Context, as platform.AddressSpace, rip uint64) platform.Trap {
	t.Helper()
	st := &arch.State{}
	st.Regs.Rip = rip
	trap, err := ctx.Switch(as, st)
	if err != nil {
		t.Fatal(err)
	}
	return trap
}

// TestRecycledProcessIsEmpty: a released address space's process comes
// back as a spare without its application thread and without any of the
// old program's mappings.
func TestRecycledProcessIsEmpty(t *testing.T) {
	f := newFixture(t, getppidLoop)
	old := f.as.(*addressSpace)
	data, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.as.MapFile(dataAddr, data, platform.Read|platform.Write); err != nil {
		t.Fatal(err)
	}
	if trap := runOnce(t, f.ctx, f.as, codeAddr); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v, want a system call", trap)
	}
	// A second task ran there and exited: its thread is parked.
	ctx2, err := f.p.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	if trap := runOnce(t, ctx2, f.as, codeAddr); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v, want a system call", trap)
	}
	parkedTid := old.threads[ctx2.(*context)].tid
	ctx2.Release()
	if len(old.parked) != 1 {
		t.Fatalf("%d parked threads after a task's exit, want 1", len(old.parked))
	}
	tgid, appTid := old.first.tgid, old.threads[f.ctx.(*context)].tid
	f.as.Release()

	deadline := time.Now().Add(10 * time.Second)
	for !spareHolds(t, f.p, tgid) {
		if time.Now().After(deadline) {
			t.Fatal("the released process never became a spare")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, tid := range []int{appTid, parkedTid} {
		if err := unix.Tgkill(tgid, tid, 0); err != unix.ESRCH {
			t.Fatalf("old application thread %d is still there: tgkill: %v", tid, err)
		}
	}
	var recycled platform.AddressSpace
	for i := 0; i <= maxSpares && recycled == nil; i++ {
		as, err := f.p.NewAddressSpace()
		if err != nil {
			t.Fatal(err)
		}
		defer as.Release()
		if as.(*addressSpace).first.tgid == tgid {
			recycled = as
		}
	}
	if recycled == nil {
		t.Fatal("NewAddressSpace never handed out the recycled process")
	}
	// movb (dataAddr), %al: the old program's page must be gone.
	code := []byte{0x8a, 0x04, 0x25, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(code[3:], dataAddr)
	fr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.mf.Slice(fr), code)
	if err := recycled.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	trap := runOnce(t, f.ctx, recycled, codeAddr)
	if trap.Kind != platform.TrapFault || trap.Addr != dataAddr || !trap.NotPresent {
		t.Fatalf("trap %+v, want a not-present fault at %#x", trap, dataAddr)
	}
}

// TestRecycleKillsProcessWithStrayThread: an application that fakes its
// thread's hand-off and parks the thread where no exit command reaches it
// (a futex wait of its own, from the stub's code) gets its process
// killed, not recycled.
func TestRecycleKillsProcessWithStrayThread(t *testing.T) {
	f := newFixture(t, getppidLoop)
	as := f.as.(*addressSpace)
	if trap := runOnce(t, f.ctx, f.as, codeAddr); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v, want a system call", trap)
	}
	msg := as.threads[f.ctx.(*context)].r.addr
	tgid := as.first.tgid
	var code []byte
	// movabs $msg, %rdi; movl $stateEvent, (%rdi): the sentry sees an event.
	code = append(code, 0x48, 0xbf)
	code = binary.LittleEndian.AppendUint64(code, msg)
	code = append(code, 0xc7, 0x07, stateEvent, 0, 0, 0)
	// lea 0x200(%rdi), %rdi; mov $SYS_futex, %eax; FUTEX_WAIT for 0, no
	// timeout: xor %esi, %esi; xor %edx, %edx; xor %r10d, %r10d.
	code = append(code, 0x48, 0x8d, 0xbf, 0x00, 0x02, 0, 0)
	code = append(code, 0xb8, unix.SYS_FUTEX, 0, 0, 0)
	code = append(code, 0x31, 0xf6, 0x31, 0xd2, 0x45, 0x31, 0xd2)
	// movabs $stubSyscallAddr, %rcx; jmp *%rcx
	code = append(code, 0x48, 0xb9)
	code = binary.LittleEndian.AppendUint64(code, stubSyscallAddr)
	code = append(code, 0xff, 0xe1)
	fr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.mf.Slice(fr), code)
	const strayAddr = 0x500000
	if err := f.as.MapFile(strayAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	runOnce(t, f.ctx, f.as, strayAddr)
	f.as.Release()
	deadline := time.Now().Add(10 * time.Second)
	for unix.Kill(tgid, 0) != unix.ESRCH {
		if time.Now().After(deadline) {
			t.Fatal("the process with a stray thread was not killed")
		}
		if spareHolds(t, f.p, tgid) {
			t.Fatal("the process with a stray thread was recycled")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStubsHoldOnlyTheMemoryFile: a stub holds descriptor 0, the memory
// file, and nothing else, even when the sentry holds a descriptor without
// close-on-exec as the platform starts.
func TestStubsHoldOnlyTheMemoryFile(t *testing.T) {
	var leak [2]int
	if err := unix.Pipe(leak[:]); err != nil { // no O_CLOEXEC
		t.Fatal(err)
	}
	defer unix.Close(leak[0])
	defer unix.Close(leak[1])
	f := newFixture(t, getppidLoop)
	pid := f.as.(*addressSpace).first.tgid
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range ents {
		fds = append(fds, e.Name())
	}
	if len(fds) != 1 || fds[0] != "0" {
		t.Errorf("stub %d holds descriptors %v, want only 0", pid, fds)
	}
}

// TestNoNewSpareWhileOneIsRecycled: the factory makes no spare address
// space while a released one is being recycled into one, and waits
// newSpaceDelay before making one otherwise (an execve releases its old
// address space only after it took the last spare).
func TestNoNewSpareWhileOneIsRecycled(t *testing.T) {
	p := &Platform{}
	if work, after := p.spareWork(nil); work == nil || after != newSpaceDelay {
		t.Fatalf("no spare and none recycled: work %v after %v, want a new space after %v", work != nil, after, newSpaceDelay)
	}
	p.recycling.Add(1)
	if work, _ := p.spareWork(nil); work != nil {
		t.Fatal("the factory would make a spare while one is being recycled")
	}
	p.recycling.Add(-1)
	p.spares = []*addressSpace{{}}
	if work, after := p.spareWork(nil); work == nil || after != 0 {
		t.Fatalf("a spare without a thread: work %v after %v, want its thread at once", work != nil, after)
	}
}

// spareCount returns how many spare address spaces the factory keeps.
func spareCount(t *testing.T, p *Platform) int {
	t.Helper()
	n := 0
	if err := p.do(func(*tracee) error {
		n = len(p.spares)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSparesOfABurstKeptThenTrimmed: address spaces released together (a
// server's forked children exiting) all come back as spares for the next
// forks, and once none is taken for spareIdleTime the factory lets all
// but idleSpares go.
func TestSparesOfABurstKeptThenTrimmed(t *testing.T) {
	defer func(d time.Duration) { spareIdleTime = d }(spareIdleTime)
	spareIdleTime = 300 * time.Millisecond
	f := newFixture(t, getppidLoop)
	fr, _ := f.mf.Allocate(arch.PageSize)
	copy(f.mf.Slice(fr), getppidLoop)
	const burst = 6
	var spaces []platform.AddressSpace
	for range burst {
		as, err := f.p.NewAddressSpace()
		if err != nil {
			t.Fatal(err)
		}
		if err := as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
			t.Fatal(err)
		}
		if trap := runOnce(t, f.ctx, as, codeAddr); trap.Kind != platform.TrapSyscall {
			t.Fatalf("trap %+v", trap)
		}
		spaces = append(spaces, as)
	}
	for _, as := range spaces {
		as.Release()
	}
	most := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		most = max(most, spareCount(t, f.p))
		if most >= burst {
			break
		}
	}
	if most < burst {
		t.Errorf("%d address spaces released together: at most %d spares kept, want %d", burst, most, burst)
	}
	n := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n = spareCount(t, f.p); n <= idleSpares {
			break
		}
	}
	if n != idleSpares {
		t.Errorf("idle for %v: %d spares kept, want %d", 5*time.Second, n, idleSpares)
	}
	// What is left still serves.
	as, err := f.p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Release()
	if err := as.MapFile(codeAddr, fr, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	if trap := runOnce(t, f.ctx, as, codeAddr); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v", trap)
	}
}
