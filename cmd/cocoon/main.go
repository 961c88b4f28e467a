// Command cocoon is the Cocoon node runtime: one binary whose subcommands
// are the daemon and the per-sandbox processes it re-executes.
package main

import (
	"fmt"
	"os"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// subcommands maps names to entry points that return an exit code.
var subcommands = map[string]func(args []string) int{
	"daemon":   daemonMain,
	"do":       doMain,
	"gofer":    gofer.Main,
	"image":    imageMain,
	"sentry":   boot.Main,
	"syscalls": syscallsMain,
	"version":  versionMain,

	probe.Command: measureMain,
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: cocoon COMMAND [ARGS...]

Commands:
  daemon    serve the CRI (kubelet, crictl) on a unix socket
  do        run a program in a fresh sandbox
  image     import an image archive into the store (image import FILE)
  syscalls  list the system calls the sentry implements
  version   print the version

Internal commands, started by cocoon itself:
  gofer     serve a directory tree to a sentry
  sentry    run the user-space kernel of one sandbox
  measure-platforms
            measure the sentry platforms and print the report as JSON
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	cmd, ok := subcommands[os.Args[1]]
	if !ok {
		if os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
			usage()
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "cocoon: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	os.Exit(cmd(os.Args[2:]))
}
