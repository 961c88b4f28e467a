package gofer

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Main runs the `cocoon gofer` subcommand and returns its exit status. args
// are the arguments after the subcommand name:
//
//	--root DIR  the host directory to serve, read-only
//	--fd N      an inherited, connected SOCK_SEQPACKET socket to serve
//
// The daemon starts the gofer with the sentry's end of a socketpair as the
// other end of N. Main returns 0 when the sentry hangs up, 1 when serving
// fails and 2 for bad arguments.
func Main(args []string) int {
	return run(args, os.Stderr)
}

func run(args []string, stderr io.Writer) int {
	flags := flag.NewFlagSet("cocoon gofer", flag.ContinueOnError)
	flags.SetOutput(stderr)
	root := flags.String("root", "", "host `directory` to serve read-only (required)")
	fd := flags.Int("fd", -1, "inherited connected SOCK_SEQPACKET socket `descriptor` to serve (required)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case flags.NArg() != 0:
		fmt.Fprintf(stderr, "cocoon gofer: unexpected arguments %q\n", flags.Args())
		return 2
	case *root == "":
		fmt.Fprintln(stderr, "cocoon gofer: --root is required")
		return 2
	case *fd < 0:
		fmt.Fprintln(stderr, "cocoon gofer: --fd is required")
		return 2
	}
	if err := Serve(*fd, *root); err != nil {
		fmt.Fprintf(stderr, "cocoon gofer: %v\n", err)
		return 1
	}
	return 0
}
