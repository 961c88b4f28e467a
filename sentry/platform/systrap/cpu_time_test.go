package systrap

import (
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// A Switch is charged no more user time than the stub process used, as the
// host counts it, however long its wall time was said to be; and never
// more than that wall time.
func TestBoundUserTime(t *testing.T) {
	f := newFixture(t, getppidLoop)
	b, ok := f.ctx.(platform.UserTimeBounder)
	if !ok {
		t.Fatalf("%T does not bound user time", f.ctx)
	}
	if got := b.BoundUserTime(time.Hour); got != time.Hour {
		t.Errorf("bound before any Switch = %v, want the wall time", got)
	}
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	for i := 0; i < 3; i++ {
		if _, err := f.ctx.Switch(f.as, st); err != nil {
			t.Fatal(err)
		}
	}
	// Three getppid round trips used microseconds of the stub's CPU,
	// whatever the wall time.
	if got := b.BoundUserTime(time.Hour); got >= time.Second {
		t.Errorf("bound of an hour of wall time = %v, want the stub's CPU time, far below a second", got)
	}
	if got := b.BoundUserTime(0); got != 0 {
		t.Errorf("bound of no wall time = %v, want 0", got)
	}
}

// A stub that runs without stopping is charged its CPU time, up to the wall
// time.
func TestBoundUserTimeOfABusyLoop(t *testing.T) {
	f := newFixture(t, []byte{0xeb, 0xfe}) // jmp .
	b := f.ctx.(platform.UserTimeBounder)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	var cpu time.Duration
	for i := 0; cpu < 20*time.Millisecond; i++ {
		if i == 200 {
			t.Fatalf("a busy loop was charged %v of CPU time in %d runs of 50 ms", cpu, i)
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			f.ctx.Interrupt()
		}()
		start := time.Now()
		trap, err := f.ctx.Switch(f.as, st)
		if err != nil || trap.Kind != platform.TrapInterrupted {
			t.Fatalf("trap %+v err %v, want interrupted", trap, err)
		}
		wall := time.Since(start)
		got := b.BoundUserTime(wall)
		if got > wall {
			t.Fatalf("bound %v above the wall time %v", got, wall)
		}
		cpu += got
	}
}
