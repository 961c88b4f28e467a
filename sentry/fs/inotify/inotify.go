// Package inotify implements inotify(7): instances (the files
// inotify_init1 returns) holding watches on inodes and a queue of events,
// and a Registry, the event source the VFS layer reports file system
// events to.
//
// Watched inodes are named by a WatchTarget, a comparable value the caller
// derives from the inode's identity (for example a struct of device and
// inode numbers), so that every path to an inode names the same target.
//
// Like eventfd, reads never block: they return EAGAIN when the queue is
// empty and the syscall layer waits on the file's queue (EventIn) unless
// the file is O_NONBLOCK.
//
// Lock order: Instance.mu, then Registry.mu. The registry never takes an
// instance's lock while holding its own: Notify copies the watches of a
// target out under Registry.mu, releases it, and then delivers to each
// instance under that instance's lock, skipping watches removed meanwhile.
package inotify

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// Limits and layout.
const (
	// MaxQueuedEvents is /proc/sys/fs/inotify/max_queued_events' default:
	// the queue holds this many events, then one IN_Q_OVERFLOW.
	MaxQueuedEvents = 16384
	// EventSize is sizeof(struct inotify_event): wd, mask, cookie, len.
	EventSize = 16
	// IocSetNextWD is INOTIFY_IOC_SETNEXTWD, _IOW('I', 0, __u32): the
	// next watch descriptor to try (arg itself, not a pointer).
	IocSetNextWD = 0x40044900
)

// Mask bits: the events (IN_ALL_EVENTS), and what add_watch accepts.
const (
	// AllEvents is IN_ALL_EVENTS.
	AllEvents = unix.IN_ALL_EVENTS
	// AllBits is Linux's ALL_INOTIFY_BITS: every bit inotify_add_watch
	// accepts.
	AllBits = AllEvents | unix.IN_UNMOUNT | unix.IN_Q_OVERFLOW | unix.IN_IGNORED |
		unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK | unix.IN_MASK_ADD |
		unix.IN_MASK_CREATE | unix.IN_ISDIR | unix.IN_ONESHOT
	// watchFlags are the flags a watch keeps besides its events.
	watchFlags = unix.IN_ONESHOT | unix.IN_EXCL_UNLINK
)

// WatchTarget names a watched inode. It must be comparable (a map key);
// the caller decides what it is, and must pass the same value for the same
// inode everywhere.
type WatchTarget any

// CheckMask makes inotify_add_watch's first checks, which Linux makes
// before it looks at the descriptor: EINVAL for bits outside AllBits or
// none of them.
func CheckMask(mask uint32) error {
	if mask&^AllBits != 0 || mask&AllBits == 0 {
		return unix.EINVAL
	}
	return nil
}

// Registry is the event source: it knows every watch of every instance
// made with it, by target. A Registry's methods are safe for concurrent
// use, and cost one atomic load when nothing is watched.
type Registry struct {
	// nwatches counts the watches in targets, for the fast path.
	nwatches atomic.Int64
	cookie   atomic.Uint32

	// mu protects targets.
	mu      sync.Mutex
	targets map[WatchTarget]map[*watch]struct{}
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{targets: make(map[WatchTarget]map[*watch]struct{})}
}

// Active reports whether anything is watched, so callers can skip
// computing event targets when nothing could receive them.
func (r *Registry) Active() bool { return r.nwatches.Load() != 0 }

// NewCookie returns a fresh non-zero cookie tying an IN_MOVED_FROM to its
// IN_MOVED_TO, as fsnotify_get_cookie does.
func (r *Registry) NewCookie() uint32 {
	for {
		if c := r.cookie.Add(1); c != 0 {
			return c
		}
	}
}

func (r *Registry) add(w *watch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.targets[w.target]
	if ws == nil {
		ws = make(map[*watch]struct{})
		r.targets[w.target] = ws
	}
	ws[w] = struct{}{}
	r.nwatches.Add(1)
}

func (r *Registry) remove(w *watch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.targets[w.target]
	if _, ok := ws[w]; !ok {
		return
	}
	delete(ws, w)
	if len(ws) == 0 {
		delete(r.targets, w.target)
	}
	r.nwatches.Add(-1)
}

// watchesOf copies out the watches on target.
func (r *Registry) watchesOf(target WatchTarget) []*watch {
	if r.nwatches.Load() == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := r.targets[target]
	if len(ws) == 0 {
		return nil
	}
	out := make([]*watch, 0, len(ws))
	for w := range ws {
		out = append(out, w)
	}
	return out
}

// Notify reports events (mask: IN_* event bits) on target to every watch
// on it that asked for one of them. name is the child's name for events a
// directory reports about its entries (IN_CREATE, IN_DELETE,
// IN_MOVED_FROM/TO, and the parent half of NotifyFile), "" for events on
// target itself; cookie ties rename pairs (0 otherwise); isDir adds
// IN_ISDIR (never to IN_DELETE_SELF or IN_MOVE_SELF, as Linux). An
// IN_ONESHOT watch is removed, with IN_IGNORED, after its first event.
func (r *Registry) Notify(target WatchTarget, mask, cookie uint32, name string, isDir bool) {
	r.notify(target, mask, cookie, name, isDir, false)
}

// NotifyFile reports events on a file to the watches on the file itself
// (with no name) and on its parent directory (with name, the file's name
// there): IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_OPEN, IN_CLOSE_WRITE,
// IN_CLOSE_NOWRITE. parent nil (the root, or a file without a parent)
// reports to the file only. An instance watching both gets both events, as
// on Linux.
func (r *Registry) NotifyFile(parent, child WatchTarget, name string, mask uint32, isDir bool) {
	r.notifyFile(parent, child, name, mask, isDir, false)
}

// NotifyUnlinked is NotifyFile for a file that has been unlinked but is
// still open (its old parent and name): watches with IN_EXCL_UNLINK, on the
// parent or on the file, do not get the events.
func (r *Registry) NotifyUnlinked(parent, child WatchTarget, name string, mask uint32, isDir bool) {
	r.notifyFile(parent, child, name, mask, isDir, true)
}

func (r *Registry) notifyFile(parent, child WatchTarget, name string, mask uint32, isDir, unlinked bool) {
	if r.nwatches.Load() == 0 {
		return
	}
	if parent != nil {
		r.notify(parent, mask, 0, name, isDir, unlinked)
	}
	r.notify(child, mask, 0, "", isDir, unlinked)
}

// NotifyRename reports a rename as fsnotify_move does: IN_MOVED_FROM on
// oldParent with oldName and IN_MOVED_TO on newParent with newName,
// sharing a fresh cookie; IN_ATTRIB on replaced (the inode newName named
// before, nil if none: its link count changed); IN_MOVE_SELF on moved.
// If replaced lost its last link the caller then calls TargetGone on it
// (at once, or when its last open file closes). RENAME_EXCHANGE is two
// calls, the second with the names and parents swapped and replaced nil.
func (r *Registry) NotifyRename(oldParent, newParent, moved, replaced WatchTarget, oldName, newName string, isDir bool) {
	if r.nwatches.Load() == 0 {
		return
	}
	cookie := r.NewCookie()
	r.notify(oldParent, unix.IN_MOVED_FROM, cookie, oldName, isDir, false)
	r.notify(newParent, unix.IN_MOVED_TO, cookie, newName, isDir, false)
	if replaced != nil {
		r.notify(replaced, unix.IN_ATTRIB, 0, "", false, false)
	}
	r.notify(moved, unix.IN_MOVE_SELF, 0, "", isDir, false)
}

// TargetGone reports that target was deleted (its last link removed and,
// on Linux, its last reference dropped): IN_DELETE_SELF to the watches
// that asked for it, then IN_IGNORED to every watch on target, which are
// removed.
func (r *Registry) TargetGone(target WatchTarget) {
	r.removeTarget(target, unix.IN_DELETE_SELF)
}

// Unmounted reports that the file system holding target was unmounted:
// IN_UNMOUNT then IN_IGNORED to every watch on target, which are removed.
func (r *Registry) Unmounted(target WatchTarget) {
	r.removeTarget(target, unix.IN_UNMOUNT)
}

func (r *Registry) removeTarget(target WatchTarget, mask uint32) {
	for _, w := range r.watchesOf(target) {
		w.inst.deliver(w, mask, 0, "", false, false, true)
	}
}

func (r *Registry) notify(target WatchTarget, mask, cookie uint32, name string, isDir, unlinked bool) {
	if target == nil {
		return
	}
	for _, w := range r.watchesOf(target) {
		w.inst.deliver(w, mask, cookie, name, isDir, unlinked, false)
	}
}

// watch is one instance's watch on one target.
type watch struct {
	inst   *Instance
	wd     int32
	target WatchTarget

	// mask is the events and watchFlags; removed is set once the watch
	// left the instance. Both are protected by inst.mu.
	mask    uint32
	removed bool
}

// event is a queued struct inotify_event.
type event struct {
	wd           int32
	mask, cookie uint32
	name         string
	overflow     bool
}

// size is the event's encoded size: the header and the name, NUL
// terminated and padded to a multiple of EventSize.
func (e *event) size() int {
	if e.name == "" {
		return EventSize
	}
	return EventSize + (len(e.name)+1+EventSize-1)/EventSize*EventSize
}

// encode writes the event at the start of dst, which must hold size().
func (e *event) encode(dst []byte) {
	binary.LittleEndian.PutUint32(dst[0:], uint32(e.wd))
	binary.LittleEndian.PutUint32(dst[4:], e.mask)
	binary.LittleEndian.PutUint32(dst[8:], e.cookie)
	n := e.size() - EventSize
	binary.LittleEndian.PutUint32(dst[12:], uint32(n))
	clear(dst[EventSize : EventSize+n])
	copy(dst[EventSize:], e.name)
}

// Instance is an inotify instance, the FileImpl of an inotify_init1 file.
type Instance struct {
	reg   *Registry
	attr  unix.Stat_t
	queue waiter.Queue

	// mu protects the fields below and the watches' mask and removed.
	mu       sync.Mutex
	watches  map[int32]*watch
	byTarget map[WatchTarget]*watch
	// nextWD is where the search for a free watch descriptor starts:
	// they are handed out cyclically from 1, as Linux's idr_alloc_cyclic.
	nextWD int32
	events []event
	// bytes is the encoded size of events (FIONREAD).
	bytes int
	// overflowQueued is whether an IN_Q_OVERFLOW is in events.
	overflowQueued bool
	closed         bool
}

// New returns an inotify instance whose watches r knows. The caller checks
// inotify_init1's flags (IN_CLOEXEC, IN_NONBLOCK; others EINVAL) and opens
// the instance O_RDONLY with IN_NONBLOCK as O_NONBLOCK.
func New(r *Registry) *Instance {
	return &Instance{
		reg:      r,
		attr:     synth.Attr(synth.NewIno(), 0o600, 0),
		watches:  make(map[int32]*watch),
		byTarget: make(map[WatchTarget]*watch),
		nextWD:   1,
	}
}

// AddWatch implements inotify_add_watch once the caller resolved the path
// (following the last symlink unless IN_DONT_FOLLOW, ENOTDIR for
// IN_ONLYDIR on a non-directory, EACCES without read permission) to
// target. It returns the watch descriptor: a new one, or target's existing
// one with its mask replaced (or, with IN_MASK_ADD, OR-ed). EINVAL for a
// bad mask (CheckMask) or IN_MASK_ADD with IN_MASK_CREATE; EEXIST for
// IN_MASK_CREATE on a watched target. IN_ONESHOT and IN_EXCL_UNLINK are
// kept with the watch.
func (in *Instance) AddWatch(target WatchTarget, mask uint32) (int32, error) {
	if err := CheckMask(mask); err != nil {
		return 0, err
	}
	if mask&unix.IN_MASK_ADD != 0 && mask&unix.IN_MASK_CREATE != 0 {
		return 0, unix.EINVAL
	}
	keep := mask & (AllEvents | watchFlags)
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return 0, unix.EBADF
	}
	if w := in.byTarget[target]; w != nil {
		if mask&unix.IN_MASK_CREATE != 0 {
			return 0, unix.EEXIST
		}
		if mask&unix.IN_MASK_ADD != 0 {
			w.mask |= keep
		} else {
			w.mask = keep
		}
		return w.wd, nil
	}
	wd, err := in.allocWDLocked()
	if err != nil {
		return 0, err
	}
	w := &watch{inst: in, wd: wd, target: target, mask: keep}
	in.watches[wd] = w
	in.byTarget[target] = w
	in.reg.add(w)
	return wd, nil
}

func (in *Instance) allocWDLocked() (int32, error) {
	if len(in.watches) >= 1<<31-1 {
		return 0, unix.ENOSPC
	}
	wd := in.nextWD
	for in.watches[wd] != nil {
		if wd++; wd <= 0 {
			wd = 1
		}
	}
	if in.nextWD = wd + 1; in.nextWD <= 0 {
		in.nextWD = 1
	}
	return wd, nil
}

// RmWatch implements inotify_rm_watch: EINVAL for a descriptor that is not
// a watch of this instance; otherwise the watch goes and IN_IGNORED is
// queued for it.
func (in *Instance) RmWatch(wd int32) error {
	in.mu.Lock()
	w := in.watches[wd]
	if w == nil {
		in.mu.Unlock()
		return unix.EINVAL
	}
	in.removeLocked(w)
	in.mu.Unlock()
	in.queue.Notify(waiter.EventIn)
	return nil
}

// removeLocked drops w and queues its IN_IGNORED.
func (in *Instance) removeLocked(w *watch) {
	w.removed = true
	delete(in.watches, w.wd)
	delete(in.byTarget, w.target)
	in.reg.remove(w)
	in.queueLocked(event{wd: w.wd, mask: unix.IN_IGNORED}, false)
}

// deliver queues the events of mask that w asked for, and removes w after
// IN_ONESHOT's first event or when remove is set (target gone), with
// IN_IGNORED. Events about an unlinked file skip IN_EXCL_UNLINK watches.
func (in *Instance) deliver(w *watch, mask, cookie uint32, name string, isDir, unlinked, remove bool) {
	in.mu.Lock()
	if w.removed || unlinked && w.mask&unix.IN_EXCL_UNLINK != 0 {
		in.mu.Unlock()
		return
	}
	queued := false
	// IN_UNMOUNT goes to every watch; other events to those that asked.
	if m := mask & (w.mask | unix.IN_UNMOUNT); m != 0 {
		if isDir && m&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) == 0 {
			m |= unix.IN_ISDIR
		}
		in.queueLocked(event{wd: w.wd, mask: m, cookie: cookie, name: name}, true)
		queued = true
		if w.mask&unix.IN_ONESHOT != 0 {
			remove = true
		}
	}
	if remove {
		in.removeLocked(w)
		queued = true
	}
	in.mu.Unlock()
	if queued {
		in.queue.Notify(waiter.EventIn)
	}
}

// queueLocked appends e, merging it into an identical last event when
// merge is set, or queues IN_Q_OVERFLOW instead when the queue is full.
func (in *Instance) queueLocked(e event, merge bool) {
	if in.closed {
		return
	}
	if len(in.events) >= MaxQueuedEvents {
		if in.overflowQueued {
			return
		}
		e = event{wd: -1, mask: unix.IN_Q_OVERFLOW, overflow: true}
		in.overflowQueued = true
	} else if merge && len(in.events) > 0 {
		// Linux merges with the last event unless it is IN_IGNORED;
		// it ignores the cookie, which is compared here so that rename
		// pairs are never lost.
		last := &in.events[len(in.events)-1]
		if last.mask&unix.IN_IGNORED == 0 && last.wd == e.wd && last.mask == e.mask &&
			last.cookie == e.cookie && last.name == e.name {
			return
		}
	}
	in.events = append(in.events, e)
	in.bytes += e.size()
}

// ReadAt implements vfs.FileImpl: as many whole events as fit in dst, in
// order; EINVAL when the first does not fit, EAGAIN when there is none
// (the syscall layer waits for EventIn unless O_NONBLOCK).
func (in *Instance) ReadAt(dst []byte, _ int64) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.events) == 0 {
		return 0, unix.EAGAIN
	}
	n, i := 0, 0
	for ; i < len(in.events); i++ {
		e := &in.events[i]
		sz := e.size()
		if sz > len(dst)-n {
			break
		}
		e.encode(dst[n:])
		n += sz
		in.bytes -= sz
		if e.overflow {
			in.overflowQueued = false
		}
	}
	if i == 0 {
		return 0, unix.EINVAL
	}
	clear(in.events[:i])
	in.events = in.events[i:]
	if len(in.events) == 0 {
		in.events = nil
	}
	return n, nil
}

// WriteAt implements vfs.FileImpl: inotify has no write, so EINVAL.
func (*Instance) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }

// IsStream implements vfs.Streamer.
func (*Instance) IsStream() bool { return true }

// Stat implements vfs.FileImpl: an anonymous inode, mode 0600.
func (in *Instance) Stat() (unix.Stat_t, error) { return in.attr, nil }

// Close implements vfs.FileImpl: every watch goes, without events.
func (in *Instance) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	for _, w := range in.watches {
		w.removed = true
		in.reg.remove(w)
	}
	in.watches = nil
	in.byTarget = nil
	in.events = nil
	in.bytes = 0
	return nil
}

// Ioctl implements vfs.Ioctler: FIONREAD writes the bytes a read would
// return in all (an int); INOTIFY_IOC_SETNEXTWD sets where the next watch
// descriptor is looked for (EINVAL outside 1..INT_MAX); others ENOTTY.
func (in *Instance) Ioctl(io vfs.IoctlIO, request, arg uint64) (uint64, error) {
	switch request {
	case unix.TIOCINQ: // FIONREAD
		in.mu.Lock()
		n := in.bytes
		in.mu.Unlock()
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		if _, err := io.CopyOut(arg, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	case IocSetNextWD:
		if arg < 1 || arg > 1<<31-1 {
			return 0, unix.EINVAL
		}
		in.mu.Lock()
		in.nextWD = int32(arg)
		in.mu.Unlock()
		return 0, nil
	}
	return 0, unix.ENOTTY
}

// Readiness implements waiter.Waitable: EventIn while events are queued.
func (in *Instance) Readiness(mask uint32) uint32 {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.events) > 0 {
		return waiter.EventIn & mask
	}
	return 0
}

// EventRegister implements waiter.Waitable.
func (in *Instance) EventRegister(ch chan struct{}, mask uint32) { in.queue.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (in *Instance) EventUnregister(ch chan struct{}) { in.queue.EventUnregister(ch) }
