package pipe

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// SetStat implements vfs.SetStatter for the description of an anonymous
// pipe (pipe(2)): its inode is in no directory, yet fchmod, fchown and
// futimens change it as they change any inode on Linux (pipefs), and
// fstat of either end shows the change. The syscall layer has checked
// permissions. A FIFO's attributes are its file system inode's, changed
// through its dentry, never here.
func (e *end) SetStat(opts vfs.SetStatOpts) error {
	if e.p.stat != nil {
		return unix.EOPNOTSUPP
	}
	e.p.attrMu.Lock()
	defer e.p.attrMu.Unlock()
	return synth.SetAttr(&e.p.attr, opts)
}
