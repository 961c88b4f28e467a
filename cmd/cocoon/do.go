package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sandbox"
	"github.com/cocoonrt/cocoon/sentry/boot"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// envFlags collects repeated --env K=V flags.
type envFlags []string

func (e *envFlags) String() string { return strings.Join(*e, ",") }
func (e *envFlags) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

// keyValues turns KEY=VALUE flags into a map (nil for none).
func keyValues(kvs []string) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// doMain is `cocoon do [--root DIR] [--env K=V]... [--strace] -- PROGRAM ARGS...`.
func doMain(args []string) int {
	fs := flag.NewFlagSet("do", flag.ContinueOnError)
	root := fs.String("root", "/", "host directory served as the sandbox's root")
	overlay := fs.String("overlay", "auto", "writable layer over the root, discarded at exit: host (a host overlayfs; needs root), memory (in the sentry), store (in the sentry, its data in a temporary host file), none (read-only root), or auto (store)")
	strace := fs.Bool("strace", false, "log every system call to stderr")
	debug := fs.Bool("debug", false, "log the sentry's diagnostics to stderr")
	stats := fs.Bool("stats", false, "print the sandbox processes' peak memory to stderr at exit")
	unconfined := fs.Bool("unconfined", false, "UNSAFE, debugging only: do not confine the sentry (namespaces, empty root, no capabilities, seccomp)")
	seccompProbe := fs.Bool("debug-seccomp-probe", false, "test hook: the confined sentry makes a host system call its filter refuses, and must die of it")
	platformName := fs.String("platform", probe.Auto, "platform that runs application code: kvm, systrap, ptrace, or auto (the fastest that works here, measured when the sandbox starts)")
	var env envFlags
	fs.Var(&env, "env", "set an environment variable, KEY=VALUE (repeatable)")
	var sysctls envFlags
	fs.Var(&sysctls, "sysctl", "set a sysctl of the sandbox's kernel, NAME=VALUE (repeatable; the names pods may set)")
	var mounts mountFlags
	fs.Var(mounts.volume(), "volume", "bind-mount a host path, HOST:DEST[:ro] (repeatable)")
	fs.Var(mounts.tmpfs(), "tmpfs", "mount a tmpfs, DEST[:OPTIONS] with OPTIONS like size=64m,mode=1777 (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cocoon do [--root DIR] [--overlay host|memory|store|none|auto] [--env K=V]... [--strace] [--platform kvm|systrap|ptrace|auto] -- PROGRAM ARGS...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if !probe.Valid(*platformName) {
		fmt.Fprintf(os.Stderr, "cocoon do: unknown platform %q: want kvm, systrap, ptrace or auto\n", *platformName)
		return 2
	}
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "/"
	}
	hostname, _ := os.Hostname()
	if *overlay == "auto" {
		*overlay = sandbox.OverlayStore
	}
	// Ctrl-C, timeout(1) or a hang-up end the sandbox, which this
	// process waits for so that its temporary layer goes too: a signal
	// to this process alone is passed to the sentry once it runs (a
	// terminal's reaches both; the sentry acts on the first).
	stops := make(chan os.Signal, 1)
	signal.Notify(stops, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	defer signal.Stop(stops)
	sb, err := sandbox.Start(sandbox.Options{
		Root:    *root,
		Overlay: *overlay,
		Mounts:  mounts.list,
		Spec: boot.Spec{
			Argv:     fs.Args(),
			Env:      mergeEnv(os.Environ(), env),
			Cwd:      cwd,
			Hostname: hostname,
			Sysctls:  keyValues(sysctls),
			Strace:   *strace,
			Debug:    *debug,
			Platform: *platformName,

			DebugSeccompProbe: *seccompProbe,
		},
		Unconfined: *unconfined,
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cocoon do: %v\n", err)
		return 125
	}
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for sig := range stops {
			_ = sb.Signal(sig)
		}
	}()
	code, err := sb.Wait()
	signal.Stop(stops)
	close(stops)
	<-forwarded
	if err != nil {
		fmt.Fprintf(os.Stderr, "cocoon do: %v\n", err)
	}
	if *stats {
		u := sb.Usage()
		fmt.Fprintf(os.Stderr, "cocoon do: sentry max RSS %d KiB, gofer max RSS %d KiB\n", u.SentryMaxRSSKiB, u.GoferMaxRSSKiB)
	}
	return code
}

// mountFlags collects --volume and --tmpfs flags in order.
type mountFlags struct{ list []sandbox.Mount }

type volumeFlag struct{ m *mountFlags }
type tmpfsFlag struct{ m *mountFlags }

func (m *mountFlags) volume() volumeFlag { return volumeFlag{m} }
func (m *mountFlags) tmpfs() tmpfsFlag   { return tmpfsFlag{m} }

func (volumeFlag) String() string { return "" }
func (v volumeFlag) Set(s string) error {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("%q is not HOST:DEST[:ro]", s)
	}
	m := sandbox.Mount{Type: "bind", Source: parts[0], Destination: parts[1]}
	if len(parts) == 3 {
		if parts[2] != "ro" && parts[2] != "rw" {
			return fmt.Errorf("%q: mode must be ro or rw", s)
		}
		m.Options = []string{parts[2]}
	}
	v.m.list = append(v.m.list, m)
	return nil
}

func (tmpfsFlag) String() string { return "" }
func (f tmpfsFlag) Set(s string) error {
	dest, opts, _ := strings.Cut(s, ":")
	if dest == "" {
		return fmt.Errorf("%q is not DEST[:OPTIONS]", s)
	}
	m := sandbox.Mount{Type: "tmpfs", Destination: dest}
	if opts != "" {
		m.Options = strings.Split(opts, ",")
	}
	f.m.list = append(f.m.list, m)
	return nil
}

// mergeEnv returns base with overrides applied, keeping base's order.
func mergeEnv(base, overrides []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range overrides {
		key := kv[:strings.IndexByte(kv, '=')+1]
		replaced := false
		for i, old := range out {
			if strings.HasPrefix(old, key) {
				out[i] = kv
				replaced = true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}
