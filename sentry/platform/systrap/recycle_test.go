package systrap

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
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

// takeRecycled waits until the released process tgid is a spare and takes
// it; it is released when the test ends.
func takeRecycled(t *testing.T, p *Platform, tgid int) *addressSpace {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !spareHolds(t, p, tgid) {
		if time.Now().After(deadline) {
			t.Fatal("the released process never became a spare")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i <= maxSpares; i++ {
		as, err := p.NewAddressSpace()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(as.Release)
		if as.(*addressSpace).first.tgid == tgid {
			return as.(*addressSpace)
		}
	}
	t.Fatal("NewAddressSpace never handed out the recycled process")
	return nil
}

// hostMapsAt reports whether process pid maps addr, going by its
// /proc/PID/maps.
func hostMapsAt(t *testing.T, pid int, addr uint64) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var start, end uint64
		if _, err := fmt.Sscanf(line, "%x-%x", &start, &end); err == nil && start <= addr && addr < end {
			return true
		}
	}
	return false
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
	recycled := takeRecycled(t, f.p, tgid)
	for _, tid := range []int{appTid, parkedTid} {
		if err := unix.Tgkill(tgid, tid, 0); err != unix.ESRCH {
			t.Fatalf("old application thread %d is still there: tgkill: %v", tid, err)
		}
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

// TestRecycledProcessKeepsOnlyWhatItsNextSpaceMaps: a recycled process
// keeps its mappings; those its next address space asks for again are not
// made again, and the others are gone before its code first runs.
func TestRecycledProcessKeepsOnlyWhatItsNextSpaceMaps(t *testing.T) {
	// movb (dataAddr), %al; mov $110, %eax; syscall
	code := []byte{0x8a, 0x04, 0x25, 0, 0, 0, 0, 0xb8, 110, 0, 0, 0, 0x0f, 0x05}
	binary.LittleEndian.PutUint32(code[3:], dataAddr)
	f := newFixture(t, code)
	codeFr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.mf.Slice(codeFr), code)
	data, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	// mapAndRun maps the code page, and the data page when withData is
	// set, into as, reports how many edits that queued, and runs it.
	mapAndRun := func(as *addressSpace, withData bool) (int, platform.Trap) {
		t.Helper()
		if err := as.MapFile(codeAddr, codeFr, platform.Read|platform.Execute); err != nil {
			t.Fatal(err)
		}
		if withData {
			if err := as.MapFile(dataAddr, data, platform.Read); err != nil {
				t.Fatal(err)
			}
		}
		as.pendMu.Lock()
		queued := len(as.pending)
		as.pendMu.Unlock()
		return queued, runOnce(t, f.ctx, as, codeAddr)
	}
	first := f.as.(*addressSpace)
	if _, trap := mapAndRun(first, true); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v, want a system call", trap)
	}
	tgid := first.first.tgid
	first.Release()

	second := takeRecycled(t, f.p, tgid)
	if !hostMapsAt(t, tgid, codeAddr) || !hostMapsAt(t, tgid, dataAddr) {
		t.Fatal("the recycled process kept none of its mappings")
	}
	// The code page is there already; the data page, not asked for,
	// is gone before the code runs.
	queued, trap := mapAndRun(second, false)
	if queued != 0 {
		t.Errorf("%d edits queued for a page the process maps already, want 0", queued)
	}
	if trap.Kind != platform.TrapFault || trap.Addr != dataAddr || !trap.NotPresent {
		t.Fatalf("trap %+v, want a not-present fault at %#x: the kept page the new space did not map is still there", trap, dataAddr)
	}
	if hostMapsAt(t, tgid, dataAddr) {
		t.Fatal("the process still maps the kept page its address space did not ask for")
	}
	if err := second.MapFile(dataAddr, data, platform.Read); err != nil {
		t.Fatal(err)
	}
	if trap := runOnce(t, f.ctx, second, codeAddr); trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v, want a system call", trap)
	}
	second.Release()

	// Asked for again, both serve without an edit.
	third := takeRecycled(t, f.p, tgid)
	queued, trap = mapAndRun(third, true)
	if queued != 0 {
		t.Errorf("%d edits queued for pages the process maps already, want 0", queued)
	}
	if trap.Kind != platform.TrapSyscall {
		t.Fatalf("trap %+v, want a system call", trap)
	}
}
