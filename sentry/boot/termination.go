package boot

import (
	"os"
	"os/signal"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// The sentry of `cocoon do` ends its sandbox when it is asked to stop
// (Ctrl-C in a terminal, timeout(1)'s SIGTERM, a closed terminal's
// SIGHUP): every process is killed, and the sentry exits as a shell
// reports a command killed by that signal, 128 plus its number.
//
// Until then the sandbox runs however its programs wait. A program that
// blocks forever (a read from a pipe whose write end it holds) hangs, as
// on Linux: the Go runtime, which takes a process whose goroutines all
// wait on channels for a deadlock and kills it, counts the goroutine
// waiting for signals as one that may yet run.

// terminationSignals are the signals that end the sandbox.
var terminationSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP}

// killWait bounds how long the sandbox's tasks get to exit once killed.
const killWait = 5 * time.Second

// endOnTermination starts relaying termination signals to k: the first
// one kills every process of the sandbox. It returns the signal that
// did (0: none yet) and a function that stops the relay once the
// sandbox has ended.
//
// Termination signals are ignored from then on, until the sentry exits:
// a second one is common (cocoon do passes on the signal its process
// group got, which the sentry got too), and left to its default action
// it would not kill the sentry as the first one's 128+N reports, since
// the sentry is the init of its PID namespace, which ignores such
// signals; the Go runtime, finding itself alive after raising it, exits
// with status 2 instead.
func endOnTermination(k *kernel.Kernel) (received func() unix.Signal, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, terminationSignals...)
	var got atomic.Int32
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			got.Store(int32(sig.(unix.Signal)))
			k.KillAll(killWait)
		case <-done:
		}
	}()
	return func() unix.Signal { return unix.Signal(got.Load()) }, func() {
		signal.Ignore(terminationSignals...)
		close(done)
	}
}
