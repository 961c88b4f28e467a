package gofer

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/sys/unix"
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
//	--tree-socket N               an inherited, listening SOCK_SEQPACKET
//	                              socket through which the daemon adds and
//	                              removes trees at run time (treesocket.go)
//	--unconfined                  UNSAFE, for debugging only: serve without
//	                              confinement (no pivot_root, capabilities
//	                              or seccomp filter)
//
// At least one of --root, --mount and --tree-socket is required (a pod's
// gofer starts with no tree and gets them through its tree socket as the
// pod's containers are created). The daemon starts the
// gofer with the sentry's end of a socketpair as the other end of N, in
// new mount, IPC, network and UTS namespaces. Before serving, the gofer
// confines itself (see confine.go): a root holding only its trees,
// five capabilities, and a seccomp allow-list that kills it on any other
// system call; it refuses to serve if it cannot. Main returns 0 when the
// sentry hangs up, 1 when confining or serving fails and 2 for bad
// arguments; a SIGTERM ends the process with 143 (128 plus its number).
func Main(args []string) int {
	handleSignals(os.Stderr)
	return run(args, os.Stderr)
}

// handleSignals makes a SIGTERM end the process with 128 plus its number,
// saying so on w, and ignores the signals a terminal sends its foreground
// job (SIGINT, SIGHUP), which `cocoon do` runs the gofer in: the sandbox
// acts on those, and the gofer serves until its sentry hangs up.
//
// The gofer is the init of its PID namespace, where the kernel drops a
// signal whose action is the default: without a handler of its own, Go's
// runtime, failing to die of the signal it re-raised, exited with status
// 2, which reads as bad arguments. The mount namespace, and any overlay
// the gofer mounted in it, go with the process.
func handleSignals(w io.Writer) {
	signal.Ignore(unix.SIGINT, unix.SIGHUP)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM)
	go func() {
		sig := (<-sigs).(unix.Signal)
		fmt.Fprintf(w, "cocoon gofer: terminated by %s\n", unix.SignalName(sig))
		os.Exit(128 + int(sig))
	}()
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
	treeSock := flags.Int("tree-socket", -1, "inherited listening SOCK_SEQPACKET socket `descriptor` through which trees are added and removed at run time")
	unconfined := flags.Bool("unconfined", false, "UNSAFE, debugging only: serve without pivot_root, capability drop and seccomp filter")
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
	case *root == "" && len(mounts) == 0 && *treeSock < 0:
		fmt.Fprintln(stderr, "cocoon gofer: --root, --mount or --tree-socket is required")
		return 2
	case *rw && *root == "":
		fmt.Fprintln(stderr, "cocoon gofer: --rw needs --root")
		return 2
	case *overlay != "" && *root == "":
		fmt.Fprintln(stderr, "cocoon gofer: --overlay needs --root")
		return 2
	case *fd < 0:
		fmt.Fprintln(stderr, "cocoon gofer: --fd is required")
		return 2
	}
	confined := !*unconfined && !skipConfine
	// Serve owns the descriptors it is given, also when it fails.
	fail := func(err error) int {
		_ = unix.Close(*fd)
		if *treeSock >= 0 {
			_ = unix.Close(*treeSock)
		}
		fmt.Fprintf(stderr, "cocoon gofer: %v\n", err)
		return 1
	}
	if confined {
		// Before the overlay: never mount in a shared namespace.
		if err := checkOwnMountNS(); err != nil {
			return fail(err)
		}
	}
	if *overlay != "" {
		merged, err := mountOverlay(*root, *overlay)
		if err != nil {
			return fail(err)
		}
		*root, *rw = merged, true
	}
	var trees []Tree
	if *root != "" {
		trees = append(trees, Tree{Name: "", Path: *root, ReadOnly: !*rw})
	}
	trees = append(trees, mounts...)
	if !confined {
		if err := serveTrees(*fd, *treeSock, trees, stderr); err != nil {
			fmt.Fprintf(stderr, "cocoon gofer: %v\n", err)
			return 1
		}
		return 0
	}
	if err := serveConfined(*fd, *treeSock, trees, stderr); err != nil {
		fmt.Fprintf(stderr, "cocoon gofer: %v\n", err)
		return 1
	}
	return 0
}

// serveConfined is serveTrees with the gofer confined: the trees are
// mounted in a new root and opened there, and the process drops its
// privileges once they and the sockets are open. Trees added later through
// treeSock (if not negative) arrive as descriptors and need no path. conn
// and treeSock are closed also on failure.
func serveConfined(conn, treeSock int, trees []Tree, logw io.Writer) error {
	closeTreeSock := func() {
		if treeSock >= 0 {
			_ = unix.Close(treeSock)
		}
	}
	RaiseFileLimit(logw)
	trees, err := confineMounts(trees, logw)
	if err != nil {
		_ = unix.Close(conn)
		closeTreeSock()
		return err
	}
	var s *server
	if treeSock >= 0 {
		s, err = newServerOf(trees)
	} else {
		s, err = newServerTrees(trees)
	}
	if err != nil {
		_ = unix.Close(conn)
		closeTreeSock()
		return err
	}
	defer s.shutdown()
	var ts *treeSocket
	if treeSock >= 0 {
		// Checked with getsockopt, which the filter forbids, so before
		// restrictProcess.
		if ts, err = newTreeSocket(treeSock, s, logw); err != nil {
			_ = unix.Close(conn)
			return err
		}
		// Stopped before s.shutdown, so that no tree is added after it.
		defer ts.stop()
	}
	pc, err := newPacketConn(conn)
	if err != nil {
		return err
	}
	defer pc.close()
	if err := restrictProcess(logw); err != nil {
		return err
	}
	// Only now: every request from the tree socket is served confined.
	ts.start()
	return s.serve(pc)
}
