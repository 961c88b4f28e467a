package proc

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// User namespace files: /proc/[pid]/{uid_map,gid_map,setgroups} and
// /proc/sys/user/max_user_namespaces (sentry/kernel/userns.go).

// UserNamespaceSource is implemented by Sources that know processes' user
// namespaces. Without it, process directories have no uid_map, gid_map
// or setgroups, and /proc/sys/user is empty.
type UserNamespaceSource interface {
	// IDMap returns process pid's uid_map (gid false) or gid_map as
	// the caller reads it.
	IDMap(pid int32, gid bool) ([]byte, error)
	// SetIDMap writes it on behalf of the caller and returns how much
	// it took, with Linux's errors.
	SetIDMap(pid int32, gid bool, p []byte) (int, error)
	// OpenIDMap opens it for writing on behalf of the caller and
	// returns what serves the open file's writes, which Linux checks
	// against the opener as well as the writer.
	OpenIDMap(pid int32, gid bool) (func(p []byte) (int, error), error)
	// Setgroups returns process pid's setgroups file.
	Setgroups(pid int32) ([]byte, error)
	// SetSetgroups writes it on behalf of the caller.
	SetSetgroups(pid int32, p []byte) (int, error)
	// OpenSetgroups opens it for writing on behalf of the caller.
	OpenSetgroups(pid int32) (func(p []byte) (int, error), error)
	// ReaderCreds returns c, kernel IDs, as the caller's user namespace
	// sees them.
	ReaderCreds(c Creds) Creds
	// MaxUserNamespaces returns user.max_user_namespaces.
	MaxUserNamespaces() int64
	// SetMaxUserNamespaces sets it on behalf of the caller.
	SetMaxUserNamespaces(v int64) error
}

// userNSEntries returns the user namespace files of the process
// directory v, none when the Source does not know user namespaces.
func (fs *filesystem) userNSEntries(v *view) []entry {
	src, ok := fs.src.(UserNamespaceSource)
	if !ok {
		return nil
	}
	// Writes are checked against the file's opener as well as the
	// writer, as Linux does: openWrite captures the opener.
	rw := func(read func() ([]byte, error), open func() (func([]byte) (int, error), error)) func(string) *node {
		return func(k string) *node {
			n := fs.file(k, 0o644, v.attr, func() ([]byte, error) {
				if _, _, err := v.snapshot(); err != nil {
					return nil, err
				}
				return read()
			})
			n.openWrite = open
			return n
		}
	}
	return []entry{
		{"gid_map", rw(func() ([]byte, error) { return src.IDMap(v.pid, true) },
			func() (func([]byte) (int, error), error) { return src.OpenIDMap(v.pid, true) })},
		{"setgroups", rw(func() ([]byte, error) { return src.Setgroups(v.pid) },
			func() (func([]byte) (int, error), error) { return src.OpenSetgroups(v.pid) })},
		{"uid_map", rw(func() ([]byte, error) { return src.IDMap(v.pid, false) },
			func() (func([]byte) (int, error), error) { return src.OpenIDMap(v.pid, false) })},
	}
}

// readerCreds returns the IDs of c as the reader sees them (what
// /proc/[pid]/status shows), c itself when the Source does not know user
// namespaces.
func (fs *filesystem) readerCreds(c Creds) Creds {
	if src, ok := fs.src.(UserNamespaceSource); ok {
		return src.ReaderCreds(c)
	}
	return c
}

// sysUserDir returns /proc/sys/user: the limit on user namespaces (the
// sandbox has no other kind of namespace limit).
func (fs *filesystem) sysUserDir(key string) *node {
	var entries []entry
	if src, ok := fs.src.(UserNamespaceSource); ok {
		entries = append(entries, entry{"max_user_namespaces", func(k string) *node {
			n := fs.file(k, 0o644, nil, func() ([]byte, error) {
				return line(strconv.FormatInt(src.MaxUserNamespaces(), 10)), nil
			})
			n.write = func(p []byte) (int, error) {
				v, err := strconv.ParseInt(strings.TrimSpace(string(p)), 10, 64)
				if err != nil {
					return 0, unix.EINVAL
				}
				if err := src.SetMaxUserNamespaces(v); err != nil {
					return 0, err
				}
				return len(p), nil
			}
			return n
		}})
	}
	return fs.fixedDir(key, 0o555, nil, entries)
}

var _ UserNamespaceSource = (*kernelSource)(nil)

func (s *kernelSource) IDMap(pid int32, gid bool) ([]byte, error) {
	return s.k.ReadIDMap(s.ns, pid, gid)
}

func (s *kernelSource) SetIDMap(pid int32, gid bool, p []byte) (int, error) {
	return s.k.WriteIDMap(s.ns, pid, gid, p)
}

func (s *kernelSource) OpenIDMap(pid int32, gid bool) (func([]byte) (int, error), error) {
	return s.k.OpenIDMap(s.ns, pid, gid)
}

func (s *kernelSource) OpenSetgroups(pid int32) (func([]byte) (int, error), error) {
	return s.k.OpenSetgroups(s.ns, pid)
}

func (s *kernelSource) Setgroups(pid int32) ([]byte, error) { return s.k.ReadSetgroups(s.ns, pid) }

func (s *kernelSource) SetSetgroups(pid int32, p []byte) (int, error) {
	return s.k.WriteSetgroups(s.ns, pid, p)
}

func (s *kernelSource) MaxUserNamespaces() int64 { return kernel.MaxUserNamespaces() }

func (s *kernelSource) SetMaxUserNamespaces(v int64) error { return kernel.SetMaxUserNamespaces(v) }

func (s *kernelSource) ReaderCreds(c Creds) Creds {
	ns := s.k.CallerUserNamespace()
	c.UID, c.EUID, c.SUID, c.FSUID = ns.MungedUID(c.UID), ns.MungedUID(c.EUID), ns.MungedUID(c.SUID), ns.MungedUID(c.FSUID)
	c.GID, c.EGID, c.SGID, c.FSGID = ns.MungedGID(c.GID), ns.MungedGID(c.EGID), ns.MungedGID(c.SGID), ns.MungedGID(c.FSGID)
	groups := make([]uint32, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = ns.MungedGID(g)
	}
	c.Groups = groups
	return c
}
