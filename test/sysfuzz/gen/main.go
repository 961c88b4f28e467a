//go:build linux && amd64

// Command gen is a seeded random system call generator meant to run inside
// a Cocoon sandbox (never natively: it unlinks, mounts and signals). The
// sandbox's kernel must survive whatever it does; the generator checks
// nothing itself.
//
// Call number i of seed s is a pure function of (s, i): the system call,
// its arguments and the random bytes in the buffers they point to. The
// parent runs the calls in batches, each in a child process (a re-exec of
// this binary, in a PID namespace of its own when the kernel allows), so a
// call that kills, stops or wedges its process ends only its batch; a
// child still running after -child-timeout is killed. A batch's calls see
// the state the earlier calls of the same batch left, so replaying one
// batch exactly is
//
//	gen -seed S -start FIRST -count N -batch N -v
//
// with FIRST and N as the log names them. -v logs every call before it is
// made.
//
// The summary line, last on stdout, is
//
//	sysfuzz: done seed=S start=I calls=N children=C ...
//
// and the exit status is 0 unless a child could not be started or
// survived SIGKILL (a hung kernel), which exit 3.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		os.Exit(childMain(os.Args[2:]))
	}
	seed := flag.Uint64("seed", 1, "the sequence to run")
	start := flag.Uint64("start", 0, "index of the first call")
	count := flag.Uint64("count", 10000, "how many calls to make at most")
	duration := flag.Duration("duration", time.Minute, "start no batch after this long")
	batch := flag.Uint64("batch", 200, "calls per child process")
	childTimeout := flag.Duration("child-timeout", 5*time.Second, "kill a child still running after this long")
	verbose := flag.Bool("v", false, "log every call and every batch; children's stderr goes to stdout")
	flag.Parse()
	if *batch == 0 {
		*batch = 1
	}
	p := &parent{
		seed: *seed, start: *start, count: *count, batch: *batch,
		duration: *duration, childTimeout: *childTimeout, verbose: *verbose,
	}
	os.Exit(p.run())
}

// childArg is argv[1] of a child: gen child SEED START COUNT WORKDIR VERBOSE.
const childArg = "child"

func childArgs(seed, start, count uint64, workdir string, verbose bool) []string {
	v := "0"
	if verbose {
		v = "1"
	}
	return []string{childArg, strconv.FormatUint(seed, 10), strconv.FormatUint(start, 10),
		strconv.FormatUint(count, 10), workdir, v}
}

func parseChildArgs(args []string) (seed, start, count uint64, workdir string, verbose bool, err error) {
	if len(args) != 5 {
		return 0, 0, 0, "", false, fmt.Errorf("want 5 child arguments, got %d", len(args))
	}
	if seed, err = strconv.ParseUint(args[0], 10, 64); err != nil {
		return
	}
	if start, err = strconv.ParseUint(args[1], 10, 64); err != nil {
		return
	}
	if count, err = strconv.ParseUint(args[2], 10, 64); err != nil {
		return
	}
	return seed, start, count, args[3], args[4] == "1", nil
}
