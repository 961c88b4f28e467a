// Package devpts implements Unix 98 pseudo-terminals: the devpts file
// system (/dev/pts with its numbered replica nodes and "ptmx"), the master
// end that /dev/ptmx opens, and Linux's N_TTY line discipline between the
// two ends (termios, canonical line editing, echo, output processing,
// signal characters, flow control and job control).
//
// Blocking follows sentry/fs/pipe: reads and writes never block here. When
// nothing can be transferred they return EAGAIN and the syscall layer waits
// on the file's waiter.Queue (the file is a waiter.Waitable), interruptibly,
// and retries; O_NONBLOCK is the syscall layer's business, except that the
// line discipline needs it for VMIN/VTIME (see File.SetNonblocking).
//
// Job control needs the calling task, which vfs.FileImpl methods do not
// get; the syscall layer calls File.ReadTask, File.WriteTask and
// File.IoctlTask with a JobControl for the caller, and the plain
// ReadAt/WriteAt/Ioctl behave as those with a nil JobControl (no
// background checks, no controlling-terminal requests). Signals that the
// terminal itself raises (^C, SIGWINCH, hangup) go through the Hooks set on
// the FS.
//
// Lock order: TTY.mu and FS.mu are never held together; neither is held
// while calling a JobControl method or a hook.
package devpts

import (
	"sort"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

const (
	// ptmxMajor and ptmxMinor are /dev/ptmx's device number (TTYAUX 5,2).
	ptmxMajor, ptmxMinor = 5, 2
	// replicaMajor is UNIX98_PTY_SLAVE_MAJOR: /dev/pts/N is 136+N/256, N%256.
	replicaMajor = 136
	// maxPTYs is Linux's default /proc/sys/kernel/pty/max.
	maxPTYs = 4096
	// ttyGID is the "tty" group that owns replicas by default.
	ttyGID = 5
)

// Hooks are the kernel's entry points for the signals a terminal raises
// without a calling task (a character typed on the master, a window size
// change, a hangup). Both may be nil.
type Hooks struct {
	// SignalProcessGroup sends sig to every process of group pgid, with no
	// permission checks (the kernel's kill_pgrp(pgid, sig, 1)).
	SignalProcessGroup func(pgid int32, sig unix.Signal)
	// HangUp is called when tty, the controlling terminal of session sid,
	// hangs up because its master was closed. As Linux's
	// tty_signal_session_leader, the kernel clears the controlling
	// terminal of every process of the session whose terminal is tty and
	// sends SIGHUP then SIGCONT to the session leader. When HangUp is nil,
	// SIGHUP and SIGCONT go to the terminal's foreground process group
	// through SignalProcessGroup instead.
	HangUp func(sid int32, tty *TTY)
}

// FS is one devpts instance: a set of pseudo-terminals and the directory
// that shows their replicas.
type FS struct {
	root *rootInode
	ptmx *ptmxInode

	// mu protects hooks, nodes and used.
	mu    sync.Mutex
	hooks Hooks
	// nodes are the terminals whose master is open: /dev/pts/N exists.
	nodes map[int]*TTY
	// used are the indexes not yet released (master or a replica open).
	used map[int]bool
}

// New returns an empty devpts instance.
func New() *FS {
	fs := &FS{nodes: make(map[int]*TTY), used: make(map[int]bool)}
	fs.root = &rootInode{fs: fs, attr: synth.Attr(synth.NewIno(), unix.S_IFDIR|0o755, 0)}
	fs.ptmx = &ptmxInode{fs: fs, attr: synth.Attr(synth.NewIno(), unix.S_IFCHR|0o666, unix.Mkdev(ptmxMajor, ptmxMinor))}
	return fs
}

// SetHooks installs the kernel's hooks; terminals use the hooks in force
// when they raise a signal.
func (fs *FS) SetHooks(h Hooks) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.hooks = h
}

func (fs *FS) getHooks() Hooks {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hooks
}

// Root returns the directory to mount at /dev/pts. The FS itself is that
// directory too: it implements vfs.Inode and vfs.DirReader by delegation.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Stat implements vfs.Inode.Stat for the root directory.
func (fs *FS) Stat() (unix.Stat_t, error) { return fs.root.Stat() }

// Lookup implements vfs.Inode.Lookup for the root directory.
func (fs *FS) Lookup(name string) (vfs.Inode, error) { return fs.root.Lookup(name) }

// Readlink implements vfs.Inode.Readlink (EINVAL).
func (fs *FS) Readlink() (string, error) { return fs.root.Readlink() }

// Open implements vfs.Inode.Open for the root directory.
func (fs *FS) Open(flags int) (vfs.FileImpl, error) { return fs.root.Open(flags) }

// Readdir implements vfs.DirReader for the root directory.
func (fs *FS) Readdir(off uint64, maxBytes int) ([]vfs.Dirent, error) {
	return fs.root.Readdir(off, maxBytes)
}

// PtmxInode returns a character device inode (c 5,2) whose Open is
// OpenMaster, for /dev/ptmx and /dev/pts/ptmx.
func (fs *FS) PtmxInode() vfs.Inode { return fs.ptmx }

// OpenMaster opens a new pseudo-terminal (the open of /dev/ptmx): it
// allocates the lowest free index, creates /dev/pts/N locked (TIOCSPTLCK)
// and returns the master end. ENOSPC when all indexes are in use.
func (fs *FS) OpenMaster(flags int) (vfs.FileImpl, error) {
	fs.mu.Lock()
	idx := -1
	for i := range maxPTYs {
		if !fs.used[i] {
			idx = i
			break
		}
	}
	if idx < 0 {
		fs.mu.Unlock()
		return nil, unix.ENOSPC
	}
	t := newTTY(fs, idx)
	fs.used[idx] = true
	fs.nodes[idx] = t
	fs.mu.Unlock()
	f := &File{t: t, master: true, readable: flags&unix.O_ACCMODE != unix.O_WRONLY}
	f.nonblock.Store(flags&unix.O_NONBLOCK != 0)
	return f, nil
}

// lookup returns the terminal shown as /dev/pts/idx.
func (fs *FS) lookup(idx int) *TTY {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.nodes[idx]
}

// removeNode hides /dev/pts/idx (the master closed).
func (fs *FS) removeNode(t *TTY) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.nodes[t.index] == t {
		delete(fs.nodes, t.index)
	}
}

// release frees t's index for reuse (master and every replica closed).
func (fs *FS) release(t *TTY) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.nodes[t.index] == t {
		delete(fs.nodes, t.index)
	}
	delete(fs.used, t.index)
}

// rootInode is /dev/pts.
type rootInode struct {
	fs   *FS
	attr unix.Stat_t
}

func (r *rootInode) Stat() (unix.Stat_t, error) { return r.attr, nil }
func (r *rootInode) Readlink() (string, error)  { return "", unix.EINVAL }

// Lookup implements vfs.Inode.Lookup: "ptmx" and the replicas of open
// masters.
func (r *rootInode) Lookup(name string) (vfs.Inode, error) {
	if name == "ptmx" {
		return r.fs.ptmx, nil
	}
	idx, err := strconv.Atoi(name)
	if err != nil || idx < 0 || strconv.Itoa(idx) != name {
		return nil, unix.ENOENT
	}
	t := r.fs.lookup(idx)
	if t == nil {
		return nil, unix.ENOENT
	}
	return t.node, nil
}

// Open implements vfs.Inode.Open.
func (r *rootInode) Open(flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EISDIR
	}
	return &rootFile{r}, nil
}

// Readdir lists ".", "..", "ptmx" and the replicas in index order. Cookie
// i+3 is replica i, so a listing that goes on after the set changed
// neither repeats nor skips a replica that stayed.
func (r *rootInode) Readdir(off uint64, _ int) ([]vfs.Dirent, error) {
	var out []vfs.Dirent
	if off <= 0 {
		out = append(out, vfs.Dirent{Ino: r.attr.Ino, Off: 1, Type: unix.DT_DIR, Name: "."})
	}
	if off <= 1 {
		out = append(out, vfs.Dirent{Ino: r.attr.Ino, Off: 2, Type: unix.DT_DIR, Name: ".."})
	}
	if off <= 2 {
		out = append(out, vfs.Dirent{Ino: r.fs.ptmx.attr.Ino, Off: 3, Type: unix.DT_CHR, Name: "ptmx"})
	}
	r.fs.mu.Lock()
	var idxs []int
	for i := range r.fs.nodes {
		if uint64(i)+3 >= off {
			idxs = append(idxs, i)
		}
	}
	ttys := make([]*TTY, len(idxs))
	sort.Ints(idxs)
	for j, i := range idxs {
		ttys[j] = r.fs.nodes[i]
	}
	r.fs.mu.Unlock()
	for j, i := range idxs {
		out = append(out, vfs.Dirent{Ino: ttys[j].node.ino, Off: uint64(i) + 4, Type: unix.DT_CHR, Name: strconv.Itoa(i)})
	}
	return out, nil
}

// rootFile is the open /dev/pts directory.
type rootFile struct{ r *rootInode }

func (*rootFile) ReadAt([]byte, int64) (int, error)  { return 0, unix.EISDIR }
func (*rootFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }
func (f *rootFile) Stat() (unix.Stat_t, error)       { return f.r.attr, nil }
func (*rootFile) Close() error                       { return nil }

// Readdir implements vfs.DirReader.
func (f *rootFile) Readdir(off uint64, maxBytes int) ([]vfs.Dirent, error) {
	return f.r.Readdir(off, maxBytes)
}

// ptmxInode is /dev/pts/ptmx (and what /dev/ptmx should be).
type ptmxInode struct {
	fs   *FS
	attr unix.Stat_t
}

func (p *ptmxInode) Stat() (unix.Stat_t, error)       { return p.attr, nil }
func (p *ptmxInode) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }
func (p *ptmxInode) Readlink() (string, error)        { return "", unix.EINVAL }
func (p *ptmxInode) Open(flags int) (vfs.FileImpl, error) {
	return p.fs.OpenMaster(flags)
}

// replicaInode is /dev/pts/N.
type replicaInode struct {
	t   *TTY
	ino uint64
}

// Stat implements vfs.Inode.Stat: c 136,N mode 0620, owned as SetOwner
// said (root:tty by default).
func (n *replicaInode) Stat() (unix.Stat_t, error) { return n.t.attr(), nil }
func (n *replicaInode) Lookup(string) (vfs.Inode, error) {
	return nil, unix.ENOTDIR
}
func (n *replicaInode) Readlink() (string, error) { return "", unix.EINVAL }

// Open implements vfs.Inode.Open: EIO while the terminal is locked or
// after its master closed, EBUSY while it is exclusive (TIOCEXCL).
func (n *replicaInode) Open(flags int) (vfs.FileImpl, error) {
	return n.t.openReplica(flags)
}
