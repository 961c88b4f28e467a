package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// procCases use /proc's magic links: root, cwd, fd, exe, map_files.
func procCases() {
	k := newCase("proc-root-links", "the host canary through /proc/PID/root and /proc/PID/cwd of every visible process")
	for _, pid := range append([]string{"self", "thread-self"}, pidStrings()...) {
		root := "/proc/" + pid + "/root"
		if l, err := os.Readlink(root); err == nil && l != "/" {
			k.note("readlink %s = %q", root, l)
			if h := hostString(l); h != "" {
				k.escape("readlink %s names the host path %s", root, h)
			}
		}
		for _, p := range []string{root + "/" + hostRel(), root + "/../../" + hostRel(), "/proc/" + pid + "/cwd/" + ups(10) + hostRel()} {
			if r := tryCanary(k, p); r != "ENOENT" {
				k.note("open %s: %s", p, r)
			}
		}
		if fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			if r := tryCanaryAt(k, fd, hostRel(), "a descriptor of "+root); r != "ENOENT" {
				k.note("openat(%s, %s): %s", root, hostRel(), r)
			}
			unix.Close(fd)
		}
	}
	k.note("every walk failed or found a sandbox file")
	k.done()

	procFDScan()
	procExe()
}

func pidStrings() []string {
	var out []string
	for _, p := range pids() {
		out = append(out, strconv.Itoa(p))
	}
	return out
}

// procFDScan looks at every descriptor of every process the sandbox
// shows: none may be the sentry's or the gofer's (a host path, the memory
// file, the gofer's socket), and none may lead out when opened or walked
// from.
func procFDScan() {
	k := newCase("proc-fd-scan", "descriptors of the sentry or the gofer (host files, the memory file, the gofer socket) through /proc/*/fd, /proc/*/fdinfo and /proc/*/map_files")
	seen, opened := 0, 0
	kinds := map[string]int{}
	for _, pid := range pids() {
		base := fmt.Sprintf("/proc/%d", pid)
		for _, fd := range fdsOf(pid) {
			seen++
			p := base + "/fd/" + fd
			l, err := os.Readlink(p)
			if err != nil {
				continue
			}
			kind := l
			if i := strings.IndexAny(kind, ":["); i > 0 {
				kind = kind[:i]
			}
			kinds[kind]++
			if h := hostString(l); h != "" {
				k.escape("%s -> %q names the host path %s", p, l, h)
			}
			if strings.Contains(l, "memfd:") && !strings.Contains(l, "escape-") {
				k.note("%s -> %q", p, l)
			}
			nfd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			opened++
			var st unix.Stat_t
			if unix.Fstat(nfd, &st) == nil {
				switch st.Mode & unix.S_IFMT {
				case unix.S_IFDIR:
					tryCanaryAt(k, nfd, ups(10)+hostRel(), p)
					tryCanaryAt(k, nfd, hostRel(), p)
				case unix.S_IFREG:
					f := os.NewFile(uintptr(nfd), p)
					if isCanary(f) {
						k.escape("%s is the host canary", p)
					}
					nfd = -1
					f.Close()
				case unix.S_IFBLK:
					k.escape("%s (%s) is a block device", p, l)
				}
			}
			if nfd >= 0 {
				unix.Close(nfd)
			}
		}
		if ents, err := os.ReadDir(base + "/map_files"); err == nil {
			for _, e := range ents {
				if l, err := os.Readlink(base + "/map_files/" + e.Name()); err == nil {
					if h := hostString(l); h != "" {
						k.escape("%s/map_files/%s -> %q names the host path %s", base, e.Name(), l, h)
					}
				}
			}
		}
		if b, err := os.ReadFile(base + "/maps"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if h := hostString(line); h != "" {
					k.escape("%s/maps shows the host path %s: %s", base, h, line)
					break
				}
			}
		}
	}
	k.note("%d descriptors in %d processes, %d opened, kinds %v; none is the host's", seen, len(pids()), opened, kinds)
	k.done()
}

// procExe: /proc/*/exe of every process must be a sandbox file, never the
// host's cocoon binary (which the sentry and gofer run), and must not be
// writable through the link.
func procExe() {
	k := newCase("proc-exe", "the host's cocoon binary (the sentry's and the gofer's executable) through /proc/*/exe")
	var exes []string
	for _, pid := range append([]string{"self"}, pidStrings()...) {
		p := "/proc/" + pid + "/exe"
		l, err := os.Readlink(p)
		if err != nil {
			continue
		}
		if !slices.Contains(exes, l) {
			exes = append(exes, l)
		}
		if h := hostString(l); h != "" {
			k.escape("%s -> %q names the host path %s", p, l, h)
		}
		if isCocoonBinary(p) {
			k.escape("%s is the host's cocoon binary", p)
		}
		if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
			// Writing would change the container's own (copied-up)
			// file at most; the host checks the image layers.
			k.passedInside("%s opened for writing", p)
			f.Close()
		}
	}
	k.note("executables: %v", exes)
	k.done()
}

// pidCases look for the sentry and the gofer among the sandbox's
// processes, ptrace every process, and signal the host's.
func pidCases() {
	visible := pids()
	k := newCase("sentry-visible", "the sentry or gofer process (host cocoon binary) among /proc's processes")
	for _, pid := range visible {
		base := fmt.Sprintf("/proc/%d", pid)
		comm, _ := os.ReadFile(base + "/comm")
		if isCocoonBinary(base + "/exe") {
			k.escape("pid %d (%s) runs the host's cocoon binary", pid, strings.TrimSpace(string(comm)))
		}
	}
	for _, hp := range cfg.HostPIDs {
		if slices.Contains(visible, hp) {
			l, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", hp))
			k.note("host pid %d is also a sandbox pid (exe %q)", hp, l)
		}
	}
	k.note("the sandbox shows pids %v", visible)
	k.done()

	k = newCase("ptrace-every-pid", "tracing the sentry or the gofer: PTRACE_ATTACH/SEIZE to every /proc pid, pid 1 and the host's sentry, gofer and daemon pids")
	targets := append(slices.Clone(visible), cfg.HostPIDs...)
	results := map[string][]int{}
	self := os.Getpid()
	for _, pid := range targets {
		if pid == self {
			continue
		}
		for _, req := range []int{unix.PTRACE_ATTACH, unix.PTRACE_SEIZE} {
			_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), 0, 0, 0, 0)
			results[rawErr(e)] = append(results[rawErr(e)], pid)
			if e == 0 {
				if !slices.Contains(visible, pid) || isCocoonBinary(fmt.Sprintf("/proc/%d/exe", pid)) {
					k.escape("ptrace(%d, pid %d) attached to a process the sandbox does not show", req, pid)
				} else {
					k.note("attached to sandbox pid %d", pid)
				}
				unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, 0, 0, 0)
			}
		}
	}
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, 1, 0x400000, 0, 0, 0)
	k.note("PTRACE_PEEKDATA on pid 1 without attaching: %s", rawErr(e))
	for r, ps := range results {
		k.note("%s: pids %v", r, ps)
	}
	k.done()

	k = newCase("signal-host-pids", "signals, pidfds and memory reads aimed at the host's sentry, gofer, daemon and test pids")
	for _, hp := range cfg.HostPIDs {
		if slices.Contains(visible, hp) {
			continue
		}
		_, _, e := unix.Syscall(unix.SYS_KILL, uintptr(hp), 0, 0)
		if e == 0 {
			k.escape("kill(%d, 0) found a process the sandbox does not show", hp)
		}
		_, _, e2 := unix.Syscall(unix.SYS_PIDFD_OPEN, uintptr(hp), 0, 0)
		if e2 == 0 {
			k.escape("pidfd_open(%d) opened a process the sandbox does not show", hp)
		}
		buf := make([]byte, 64)
		local := unix.Iovec{Base: &buf[0], Len: 64}
		remote := unix.RemoteIovec{Base: 0x400000, Len: 64}
		_, _, e3 := unix.Syscall6(unix.SYS_PROCESS_VM_READV, uintptr(hp), uintptr(unsafe.Pointer(&local)), 1, uintptr(unsafe.Pointer(&remote)), 1, 0)
		if e3 == 0 {
			k.escape("process_vm_readv(%d) read a process the sandbox does not show", hp)
		}
		_, err := os.Stat(fmt.Sprintf("/proc/%d", hp))
		k.note("pid %d: kill %s, pidfd_open %s, process_vm_readv %s, /proc/%d %s", hp, rawErr(e), rawErr(e2), rawErr(e3), hp, errno(err))
	}
	k.done()
}
