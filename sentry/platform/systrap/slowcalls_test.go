package systrap

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

func TestSlowCallsGuess(t *testing.T) {
	var s slowCalls
	const no = unix.SYS_WRITE
	if s.slow(no) {
		t.Fatal("a call never seen is guessed slow")
	}
	s.note(no, true)
	if s.slow(no) {
		t.Fatal("one slow answer made the guess")
	}
	s.note(no, true)
	if !s.slow(no) {
		t.Fatal("two slow answers in a row did not make the guess")
	}
	for range 10 {
		s.note(no, true)
	}
	s.note(no, false)
	if !s.slow(no) {
		t.Fatal("one quick answer after many slow ones undid the guess")
	}
	s.note(no, false)
	if s.slow(no) {
		t.Fatal("two quick answers in a row kept the guess")
	}
	if s.slow(unix.SYS_READ) {
		t.Fatal("another call number shares the guess")
	}
	for _, no := range []uint64{slowCallNumbers, noCall} {
		s.note(no, true)
		s.note(no, true)
		if s.slow(no) {
			t.Fatalf("call number %#x, out of range, guessed slow", no)
		}
	}
}

// TestSlowCallGuessCutsTheStubSpin: a stub thread waiting for the answer
// to a call the sentry has been slow to answer sleeps at once instead of
// spinning, and spins again once the answers come quickly.
func TestSlowCallGuessCutsTheStubSpin(t *testing.T) {
	f := newFixture(t, getppidLoop)
	withoutCPUHints(t)
	st := &arch.State{}
	st.Regs.Rip = codeAddr
	c := f.ctx.(*context)
	calibrated := stubSpin
	// A spin far longer than the test waits for the stub to sleep.
	const longSpin = 1<<32 - 1
	spinLasts := time.Duration(float64(stubSpinBudget) * longSpin / float64(calibrated))
	patience := min(spinLasts/4, time.Second)
	stubSpin = longSpin
	t.Cleanup(func() { stubSpin = calibrated })
	switchOnce := func() *sysmsg {
		t.Helper()
		if trap, err := f.ctx.Switch(f.as, st); err != nil || trap.Kind != platform.TrapSyscall {
			t.Fatalf("trap %+v err %v", trap, err)
		}
		st.Regs.Rip = codeAddr
		return c.last.msg
	}
	// The thread's first run never spins; the second hands it a spin.
	switchOnce()
	switchOnce()
	for range slowScoreMax {
		f.p.slow.note(unix.SYS_GETPPID, true)
	}
	msg := switchOnce()
	deadline := time.Now().Add(patience)
	for atomic.LoadUint32(&msg.StubSleeping) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the stub still spins %v after a call guessed slow (a spin lasts ~%v)", patience, spinLasts)
		}
		time.Sleep(100 * time.Microsecond)
	}
	// The test answers at once; a loaded machine may still make an
	// answer late now and then.
	for i := 0; f.p.slow.slow(unix.SYS_GETPPID); i++ {
		if i == 100 {
			t.Fatal("100 quick answers did not undo the guess")
		}
		switchOnce()
	}
	msg = switchOnce()
	time.Sleep(10 * time.Millisecond)
	if atomic.LoadUint32(&msg.StubSleeping) != 0 && spinLasts > time.Second {
		t.Fatalf("the stub sleeps at once though its call is no longer guessed slow")
	}
}
