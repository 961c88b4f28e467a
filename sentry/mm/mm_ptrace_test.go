package mm_test

import (
	"runtime"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/ptrace"
)

func TestDemandPagedCodeRuns(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mf, err := memfile.New("t", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
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
	addr, err := m.MMap(mm.MMapOpts{Length: 0x10000, Addr: 0x400000, Fixed: true, Private: true, Perms: platform.Read | platform.Write | platform.Execute})
	if err != nil {
		t.Fatal(err)
	}
	// mov $39,%eax; syscall
	if _, err := m.CopyOut(addr+0x5000, []byte{0xb8, 39, 0, 0, 0, 0x0f, 0x05}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.MMap(mm.MMapOpts{Length: 0x10000, Addr: 0x500000, Fixed: true, Private: true, Perms: platform.Read | platform.Execute}); err != nil {
		t.Fatal(err)
	}
	// jmp to 0x500000 (an untouched mapping: its zero bytes are "add %al,(%rax)", so set rax to a mapped address)
	ctx, _ := p.NewContext()
	st := &arch.State{}
	st.Regs.Rip = 0x500000
	st.Regs.Rax = addr
	for i := 0; i < 4; i++ {
		trap, err := ctx.Switch(as, st)
		t.Logf("trap %+v err %v rip %#x", trap, err, st.Regs.Rip)
		if trap.Kind == platform.TrapSyscall {
			return
		}
		if trap.Kind == platform.TrapFault && i == 0 && trap.Addr != 0x500000 {
			t.Fatalf("first fault at %#x, want 0x500000", trap.Addr)
		}
		if trap.Kind == platform.TrapFault {
			if r := m.HandleFault(trap.Addr, trap.Access); r.Signo != 0 {
				t.Fatalf("fault %+v", r)
			}
		}
	}
	t.Fatal("no syscall")
}
