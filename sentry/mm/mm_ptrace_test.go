package mm_test

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/ptrace"
)

// TestDemandPagingOnPlatform runs code on the real platform in an
// untouched mapping: the first fetch faults and is served by demand
// paging, and running off the end of the mapping is a SIGSEGV.
func TestDemandPagingOnPlatform(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mf, err := memfile.New("t", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	p, err := ptrace.New(mf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	m := mm.New(mf, as, p.MaxUserAddress())
	defer m.Release()
	data, err := m.MMap(mm.MMapOpts{Length: 0x10000, Addr: 0x400000, Fixed: true, Private: true, Perms: platform.Read | platform.Write})
	if err != nil {
		t.Fatal(err)
	}
	// Zero bytes decode as `add %al,(%rax)`: with rax pointing at data the
	// code slides through the page to the end of its mapping.
	if _, err := m.MMap(mm.MMapOpts{Length: 0x10000, Addr: 0x500000, Fixed: true, Private: true, Perms: platform.Read | platform.Execute}); err != nil {
		t.Fatal(err)
	}
	ctx, _ := p.NewContext()
	st := &arch.State{}
	st.Regs.Rip = 0x500000
	st.Regs.Rax = data
	var faults []uint64
	for len(faults) < 3 {
		trap, err := ctx.Switch(as, st)
		if err != nil {
			t.Fatal(err)
		}
		if trap.Kind != platform.TrapFault {
			t.Fatalf("trap %+v, want faults only", trap)
		}
		faults = append(faults, trap.Addr)
		if r := m.HandleFault(trap.Addr, trap.Access, trap.NotPresent); r.Signo != 0 {
			if r.Signo != int(unix.SIGSEGV) || r.Code != mm.SegvMapErr {
				t.Fatalf("fault result %+v, want SIGSEGV/SEGV_MAPERR", r)
			}
			break
		}
	}
	// The code page and the data page fault once each (in either order),
	// then the end of the code mapping.
	if len(faults) != 3 || faults[2] != 0x510000 {
		t.Fatalf("faults at %#x, want the code and data pages, then 0x510000", faults)
	}
}
