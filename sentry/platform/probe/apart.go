package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Measuring in a process of its own.
//
// Starting a platform makes the calling process the tracer and reaper of
// the platform's stub processes: the systrap and ptrace factories wait for
// any child or tracee to change state and reap the stub threads that
// exited. In a sentry every child is a stub. In the daemon, which has
// children of its own (the CNI plugins libcni runs, each waited for by
// os/exec), a measurement running next to them could take a plugin's exit
// status, and the plugin's caller then fails with ECHILD ("waitid: no
// child processes"): a pod's network then cannot be torn down. So the
// daemon measures in a child process that runs nothing else.

// Command is the internal cocoon subcommand that measures and prints the
// report (ServeMeasure).
const Command = "measure-platforms"

// ServeMeasure is the subcommand: it measures with the default options and
// writes the report to w as JSON.
func ServeMeasure(w io.Writer) error {
	return json.NewEncoder(w).Encode(Measure(Options{}))
}

// MeasureApart runs exe's measurement subcommand and returns its report.
// It never fails: when the child does, every platform is reported
// unavailable with the reason, as Measure reports a platform that does not
// start.
func MeasureApart(exe string) Report {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(exe, Command)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r Report
	if err == nil {
		if err = json.Unmarshal(stdout.Bytes(), &r); err != nil {
			err = fmt.Errorf("reading its report: %w", err)
		}
	}
	if err == nil {
		return r
	}
	reason := fmt.Sprintf("measuring the platforms in %s %s: %v", exe, Command, err)
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		reason += ": " + msg
	}
	r = Report{}
	for _, name := range Names {
		r.Platforms = append(r.Platforms, Result{Name: name, Reason: reason})
	}
	return r
}
