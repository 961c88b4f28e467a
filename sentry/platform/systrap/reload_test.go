package systrap

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// runStoreLoad runs storeLoad (store RAX at RBX, load it back into RDX,
// then a system call) with RBX at addr, and returns the trap.
func runStoreLoad(t *testing.T, f *fixture, addr uint64) (platform.Trap, error) {
	t.Helper()
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	st.Regs.Rbx = addr
	st.Regs.Rax = 0x5678
	return f.ctx.Switch(f.as, st)
}

func mapPage(t *testing.T, f *fixture, addr uint64, perms platform.AccessType) memfile.Range {
	t.Helper()
	fr, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.as.MapFile(addr, fr, perms); err != nil {
		t.Fatal(err)
	}
	return fr
}

// TestReloadCommit: after a reload, the process maps exactly what was
// mapped while it was held, and nothing of before; no context runs while
// it is held.
func TestReloadCommit(t *testing.T) {
	f := newFixture(t, storeLoad)
	oldData := mapPage(t, f, dataAddr, platform.Read|platform.Write)
	mapPage(t, f, dataAddr+arch.PageSize, platform.Read|platform.Write)
	if trap, err := runStoreLoad(t, f, dataAddr); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("before the reload: trap %+v, %v", trap, err)
	}
	r := f.as.(platform.Reloadable)
	r.BeginReload()
	if _, err := runStoreLoad(t, f, dataAddr); !errors.Is(err, errReloading) {
		t.Fatalf("Switch during a reload: %v, want %v", err, errReloading)
	}
	code := mapPage(t, f, codeAddr, platform.Read|platform.Execute)
	copy(f.mf.Slice(code), storeLoad)
	newData := mapPage(t, f, dataAddr, platform.Read|platform.Write)
	// An unmap while held is held too, after the mapping it undoes.
	scratch := mapPage(t, f, dataAddr+2*arch.PageSize, platform.Read|platform.Write)
	f.as.Unmap(dataAddr+2*arch.PageSize, arch.PageSize)
	f.mf.Release(scratch)
	if err := r.CommitReload(); err != nil {
		t.Fatal(err)
	}
	if trap, err := runStoreLoad(t, f, dataAddr); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("after the reload: trap %+v, %v", trap, err)
	}
	if got := f.mf.Slice(newData)[0]; got != 0x78 {
		t.Errorf("the store after the reload reached %#x, want the new page", got)
	}
	if got := f.mf.Slice(oldData)[0]; got != 0x78 {
		t.Errorf("old page holds %#x, want the store made before the reload", got)
	}
	f.mf.Slice(oldData)[0] = 0
	for _, addr := range []uint64{dataAddr + arch.PageSize, dataAddr + 2*arch.PageSize} {
		if trap, err := runStoreLoad(t, f, addr); err != nil || trap.Kind != platform.TrapFault || !trap.NotPresent {
			t.Errorf("page %#x after the reload: trap %+v, %v; want it unmapped", addr, trap, err)
		}
	}
	if f.mf.Slice(oldData)[0] != 0 {
		t.Error("the old page is still mapped after the reload")
	}
}

// TestReloadAbort: an aborted reload makes none of the held mappings and
// leaves the process with nothing mapped, for the old program to fault
// back in.
func TestReloadAbort(t *testing.T) {
	f := newFixture(t, storeLoad)
	mapPage(t, f, dataAddr, platform.Read|platform.Write)
	if trap, err := runStoreLoad(t, f, dataAddr); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("before the reload: trap %+v, %v", trap, err)
	}
	r := f.as.(platform.Reloadable)
	r.BeginReload()
	held := mapPage(t, f, dataAddr+arch.PageSize, platform.Read|platform.Write)
	r.AbortReload()
	if trap, err := runStoreLoad(t, f, dataAddr); err != nil || trap.Kind != platform.TrapFault || trap.Addr != codeAddr {
		t.Fatalf("after an aborted reload: trap %+v, %v; want a fault on the unmapped code", trap, err)
	}
	code := mapPage(t, f, codeAddr, platform.Read|platform.Execute)
	copy(f.mf.Slice(code), storeLoad)
	if trap, err := runStoreLoad(t, f, dataAddr+arch.PageSize); err != nil || trap.Kind != platform.TrapFault || !trap.NotPresent {
		t.Fatalf("a mapping held by the aborted reload: trap %+v, %v; want it never made", trap, err)
	}
	if f.mf.Slice(held)[0] != 0 {
		t.Error("a store reached a page whose mapping the aborted reload held")
	}
}

// mappingRss returns the resident size, in KiB, of process pid's mapping
// that starts at addr, going by /proc/PID/smaps; -1 when there is none.
func mappingRss(t *testing.T, pid int, addr uint64) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		var start, end uint64
		if _, err := fmt.Sscanf(line, "%x-%x", &start, &end); err == nil && strings.Contains(line, " ") {
			in = start == addr
			continue
		}
		var kb int
		if in {
			if _, err := fmt.Sscanf(line, "Rss: %d kB", &kb); err == nil {
				return kb
			}
		}
	}
	return -1
}

// TestReloadKeepsWhatTheNewProgramMapsAgain: a reload keeps the old
// program's mapping of a page the new one maps at the same place (its
// host page tables too), and removes the old program's others.
func TestReloadKeepsWhatTheNewProgramMapsAgain(t *testing.T) {
	f := newFixture(t, storeLoad)
	as := f.as.(*addressSpace)
	code, err := f.mf.Allocate(arch.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.mf.Slice(code), storeLoad)
	if err := f.as.MapFile(codeAddr, code, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	mapPage(t, f, dataAddr, platform.Read|platform.Write)
	if trap, err := runStoreLoad(t, f, dataAddr); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("before the reload: trap %+v, %v", trap, err)
	}
	pid := as.first.tgid
	if rss := mappingRss(t, pid, codeAddr); rss != 4 {
		t.Fatalf("the code page's mapping has %d KiB resident after running, want 4", rss)
	}
	r := f.as.(platform.Reloadable)
	r.BeginReload()
	if err := f.as.MapFile(codeAddr, code, platform.Read|platform.Execute); err != nil {
		t.Fatal(err)
	}
	newData := mapPage(t, f, dataAddr+arch.PageSize, platform.Read|platform.Write)
	if err := r.CommitReload(); err != nil {
		t.Fatal(err)
	}
	if rss := mappingRss(t, pid, codeAddr); rss != 4 {
		t.Errorf("the code page's mapping has %d KiB resident after the reload, want 4: it was made again", rss)
	}
	if hostMapsAt(t, pid, dataAddr) {
		t.Error("the old program's data page is still mapped after the reload")
	}
	if trap, err := runStoreLoad(t, f, dataAddr+arch.PageSize); err != nil || trap.Kind != platform.TrapSyscall {
		t.Fatalf("after the reload: trap %+v, %v", trap, err)
	}
	if got := f.mf.Slice(newData)[0]; got != 0x78 {
		t.Errorf("the store after the reload reached %#x, want the new page", got)
	}
}
