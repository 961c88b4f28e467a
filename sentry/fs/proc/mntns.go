package proc

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Mount namespaces in /proc: /proc/[pid]/ns/mnt names the process's
// namespace (a magic link to its namespace file, which setns(2) takes),
// and /proc/[pid]/mounts and mountinfo list the namespace's mounts.

// mountNSLink returns /proc/[pid]/ns/mnt.
func (fs *filesystem) mountNSLink(key string, v *view) *node {
	ns := func() (*vfs.MountNamespace, error) {
		p, _, err := v.snapshot()
		if err != nil || p.MountNamespace == nil {
			return nil, unix.ENOENT
		}
		return p.MountNamespace, nil
	}
	n := fs.symlink(key, v.attr, func() (string, error) {
		mnt, err := ns()
		if err != nil {
			return "", err
		}
		return "mnt:[" + strconv.FormatUint(mnt.ID(), 10) + "]", nil
	})
	n.magic = func() (*vfs.Dentry, error) {
		mnt, err := ns()
		if err != nil {
			return nil, err
		}
		name := "mnt:[" + strconv.FormatUint(mnt.ID(), 10) + "]"
		return vfs.NewAnonymous(name, &vfs.NamespaceInode{Namespace: mnt, Ino: mnt.ID()}), nil
	}
	return n
}

// mountsOf returns the mount table of p's mount namespace. The mounts the
// sandbox made while booting are described by this /proc's table (found
// by where they were first mounted, in order for mounts stacked at one
// place); those made since by what mount(2) recorded with them. A bind
// mount, or a copy in another namespace, is described as its source is:
// the same device, type and file system options.
func (fs *filesystem) mountsOf(p *Process) []Mount {
	table := fs.mounts()
	if p == nil || p.MountNamespace == nil {
		return table
	}
	describe := func(e *vfs.MountEntry) Mount {
		if e.Info != nil {
			return Mount{
				Source: e.Info.Source, FSType: e.Info.FSType, SuperOptions: e.Info.SuperOptions,
				Dev: e.Info.Dev, NoDev: e.Info.NoDev,
				Options: vfs.MountOptions(e.ReadOnly, e.NoExec, e.NoSuid),
			}
		}
		seq := e.OriginSeq
		for _, m := range table {
			if m.Target != e.Origin {
				continue
			}
			if seq == 0 {
				return m
			}
			seq--
		}
		m := Mount{Source: "none", FSType: "none", Options: vfs.MountOptions(e.ReadOnly, e.NoExec, e.NoSuid)}
		if st, err := e.Root.Inode().Stat(); err == nil {
			m.Dev = st.Dev
		}
		return m
	}
	entries := p.MountNamespace.Mounts()
	out := make([]Mount, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		m := describe(e)
		m.Target, m.ID, m.ParentID, m.Root = e.Target, e.ID, e.ParentID, e.FSRoot
		m.Propagation = propagationFields(e.Propagation)
		out = append(out, m)
	}
	return out
}

// propagationFields renders a mount's propagation as mountinfo's optional
// fields.
func propagationFields(p vfs.Propagation) string {
	var f []string
	if p.Shared != 0 {
		f = append(f, "shared:"+strconv.FormatInt(p.Shared, 10))
	}
	if p.Master != 0 {
		f = append(f, "master:"+strconv.FormatInt(p.Master, 10))
	}
	if p.Unbindable {
		f = append(f, "unbindable")
	}
	return strings.Join(f, " ")
}
