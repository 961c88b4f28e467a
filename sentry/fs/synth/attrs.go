package synth

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// SocketAttrs are a socket's attributes: its sockfs inode, kept in memory,
// which fstat shows and fchmod, fchown and futimens change. A socket type
// embeds it, which gives it Stat and SetStat (vfs.SetStatter).
type SocketAttrs struct {
	mu sync.Mutex // protects st
	st unix.Stat_t
}

// InitSocketAttrs sets the attributes of a new socket owned by uid and gid,
// before anything else can see it.
func (a *SocketAttrs) InitSocketAttrs(uid, gid uint32) {
	a.st = Attr(NewIno(), unix.S_IFSOCK|0o777, 0)
	a.st.Uid, a.st.Gid = uid, gid
}

// Stat returns the attributes.
func (a *SocketAttrs) Stat() (unix.Stat_t, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st, nil
}

// SetStat implements vfs.SetStatter: fchmod, fchown and futimens of a
// socket change its attributes, as on Linux.
func (a *SocketAttrs) SetStat(opts vfs.SetStatOpts) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return SetAttr(&a.st, opts)
}

// Owner returns the owning user and group.
func (a *SocketAttrs) Owner() (uid, gid uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.Uid, a.st.Gid
}
