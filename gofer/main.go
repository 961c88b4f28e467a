package gofer

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Main runs the `cocoon gofer` subcommand and returns its exit status. args
// are the arguments after the subcommand name:
//
//	--root DIR                    the host directory to serve as the tree
//	                              named "", read-only unless --rw
//	--rw                          serve --root read-write
//	--overlay DIR                 serve --root read-write through a host
//	                              overlayfs with its writable layer in DIR
//	--mount NAME=PATH[:ro|:rw]    also serve PATH as the tree NAME (read-only
//	                              unless :rw); may be repeated
//	--fd N                        an inherited, connected SOCK_SEQPACKET
//	                              socket to serve
//
// At least one of --root and --mount is required. The daemon starts the
// gofer with the sentry's end of a socketpair as the other end of N. Main
// returns 0 when the sentry hangs up, 1 when serving fails and 2 for bad
// arguments.
func Main(args []string) int {
	return run(args, os.Stderr)
}

// mountFlags collects --mount values.
type mountFlags []Tree

func (m *mountFlags) String() string { return fmt.Sprint(*m) }

func (m *mountFlags) Set(v string) error {
	t, err := parseMount(v)
	if err != nil {
		return err
	}
	*m = append(*m, t)
	return nil
}

// parseMount parses NAME=PATH[:ro|:rw]. Only a final ":ro" or ":rw" is a
// mode, so other colons belong to the path.
func parseMount(v string) (Tree, error) {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		return Tree{}, fmt.Errorf("want NAME=PATH[:ro|:rw], got %q", v)
	}
	t := Tree{Name: name, Path: path, ReadOnly: true}
	if p, found := strings.CutSuffix(path, ":rw"); found {
		t.Path, t.ReadOnly = p, false
	} else if p, found := strings.CutSuffix(path, ":ro"); found {
		t.Path = p
	}
	if t.Path == "" {
		return Tree{}, fmt.Errorf("empty path in %q", v)
	}
	return t, nil
}

func run(args []string, stderr io.Writer) int {
	flags := flag.NewFlagSet("cocoon gofer", flag.ContinueOnError)
	flags.SetOutput(stderr)
	root := flags.String("root", "", "host `directory` to serve as the tree named \"\"")
	rw := flags.Bool("rw", false, "serve --root read-write (default read-only)")
	overlay := flags.String("overlay", "", "serve --root read-write through a host overlayfs whose writable layer is in `directory` (needs a private mount namespace)")
	var mounts mountFlags
	flags.Var(&mounts, "mount", "also serve a tree, as `NAME=PATH[:ro|:rw]` (read-only by default; repeatable)")
	fd := flags.Int("fd", -1, "inherited connected SOCK_SEQPACKET socket `descriptor` to serve (required)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *overlay != "" {
		if *root == "" {
			fmt.Fprintln(stderr, "cocoon gofer: --overlay needs --root")
			return 2
		}
		merged, err := mountOverlay(*root, *overlay)
		if err != nil {
			fmt.Fprintf(stderr, "cocoon gofer: %v\n", err)
			return 1
		}
		*root, *rw = merged, true
	}
	var trees []Tree
	if *root != "" {
		trees = append(trees, Tree{Name: "", Path: *root, ReadOnly: !*rw})
	}
	trees = append(trees, mounts...)
	switch {
	case flags.NArg() != 0:
		fmt.Fprintf(stderr, "cocoon gofer: unexpected arguments %q\n", flags.Args())
		return 2
	case len(trees) == 0:
		fmt.Fprintln(stderr, "cocoon gofer: --root or --mount is required")
		return 2
	case *rw && *root == "":
		fmt.Fprintln(stderr, "cocoon gofer: --rw needs --root")
		return 2
	case *fd < 0:
		fmt.Fprintln(stderr, "cocoon gofer: --fd is required")
		return 2
	}
	if err := ServeTrees(*fd, trees); err != nil {
		fmt.Fprintf(stderr, "cocoon gofer: %v\n", err)
		return 1
	}
	return 0
}
