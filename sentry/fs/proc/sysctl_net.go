package proc

import (
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// /proc/sys/net: the net.* sysctls of the reader's network namespace
// (core, ipv4, ipv6 and unix). Each namespace has its own values, so a file reads
// and writes the calling task's; a namespace shows the files it has
// (a hostNetwork pod's initial one: ping_group_range alone), each mode
// 0644, or 0444 where the namespace may not change it (a child
// namespace's net.core.rmem_max and wmem_max, as on Linux).

// netSysctlSource is implemented by Sources whose namespaces have net
// sysctls of their own (the kernel's).
type netSysctlSource interface {
	// NetSysctls returns the dotted names of the calling task's
	// namespace's net sysctls, each with whether it is writable there.
	NetSysctls() map[string]bool
	// WriteNetSysctl writes one for the calling task.
	WriteNetSysctl(name, value string) error
}

// NetSysctls implements netSysctlSource.
func (s *kernelSource) NetSysctls() map[string]bool { return s.k.NetSysctls() }

// WriteNetSysctl implements netSysctlSource.
func (s *kernelSource) WriteNetSysctl(name, value string) error {
	return s.k.WriteNetSysctl(name, value)
}

// netSysctlNames returns the caller's net sysctls under prefix ("net.ipv4."),
// sorted, and their writability. A Source without namespaces of its own
// shows ping_group_range, read-only.
func (fs *filesystem) netSysctlNames(prefix string) ([]string, map[string]bool) {
	all := map[string]bool{"net.ipv4.ping_group_range": false}
	if src, ok := fs.src.(netSysctlSource); ok {
		all = src.NetSysctls()
	}
	var names []string
	for n := range all {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, all
}

// netSysctlDir returns /proc/sys/net/<sub> (sub is "core", "ipv4", "ipv6"
// or "unix"), or a directory below it (sub "ipv6.conf.lo"): a name with
// more parts below the directory (net.ipv6.conf.lo.disable_ipv6) is a
// directory of it.
func (fs *filesystem) netSysctlDir(key, sub string) *node {
	prefix := "net." + sub + "."
	file := func(name string, writable bool) *node {
		k := key + "/" + strings.TrimPrefix(name, prefix)
		read := func() ([]byte, error) { return line(fs.src.Sysctl(name)), nil }
		if !writable {
			return fs.file(k, 0o444, nil, read)
		}
		n := fs.file(k, 0o644, nil, read)
		src := fs.src.(netSysctlSource)
		n.write = func(p []byte) (int, error) {
			if err := src.WriteNetSysctl(name, string(p)); err != nil {
				return 0, err
			}
			return len(p), nil
		}
		return n
	}
	// children returns the entries right below the directory: each
	// file's name, or each subdirectory's once, in order.
	type child struct {
		base string
		dir  bool
	}
	children := func() ([]child, map[string]bool) {
		names, w := fs.netSysctlNames(prefix)
		var out []child
		seen := map[string]bool{}
		for _, name := range names {
			rest := strings.TrimPrefix(name, prefix)
			base, _, nested := strings.Cut(rest, ".")
			if !seen[base] {
				seen[base] = true
				out = append(out, child{base, nested})
			}
		}
		return out, w
	}
	node := func(c child, w map[string]bool) *node {
		if c.dir {
			return fs.netSysctlDir(key+"/"+c.base, sub+"."+c.base)
		}
		return file(prefix+c.base, w[prefix+c.base])
	}
	return fs.dir(key, 0o555, nil, func() ([]dirent, error) {
		cs, w := children()
		out := make([]dirent, len(cs))
		for i, c := range cs {
			typ := uint8(unix.DT_REG)
			if c.dir {
				typ = unix.DT_DIR
			}
			out[i] = dirent{pos: uint64(2 + i), name: c.base, ino: node(c, w).ino, typ: typ}
		}
		return out, nil
	}, func(base string) (vfs.Inode, error) {
		cs, w := children()
		for _, c := range cs {
			if c.base == base {
				return node(c, w), nil
			}
		}
		return nil, unix.ENOENT
	})
}
