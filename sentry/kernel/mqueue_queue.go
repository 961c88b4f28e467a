package kernel

// One POSIX message queue (struct mqueue_inode_info): its attributes as a
// file, its messages in priority order, the tasks sleeping to send or
// receive, and mq_notify's registration (mqueue_notify.go).
//
// As in Linux, a sender that finds a receiver asleep hands the message
// over directly (pipelined_send) and a receiver that makes room in a full
// queue moves the first sleeping sender's message in (pipelined_receive),
// so a woken sleeper never has to compete for the queue again. Sleepers
// are woken in the order they went to sleep: Linux orders them by task
// priority first, and every sandbox task has the same one (nice 0,
// SCHED_OTHER; sys_sched.go). Blocking sends and receives return
// ERESTARTSYS when a signal interrupts them (wq_sleep): restarted after a
// handler with SA_RESTART, EINTR after one without, as signal(7) lists
// mq_timedsend and mq_timedreceive; the absolute timeout makes the
// restart exact.

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// MQueue is one queue.
type MQueue struct {
	ns *MQNamespace
	// name, seq (creation order), mq_maxmsg, mq_msgsize and the
	// RLIMIT_MSGQUEUE charge (to the user chargedTo) never change.
	name            string
	seq             uint64
	maxMsg, msgSize int64
	chargedTo       uint32
	charged         uint64
	// events wakes poll and epoll waiters; it has its own lock.
	events waiter.Queue
	// linked says the name is in ns.queues (st_nlink 1): written with
	// ns.mu and mu held, read with either.
	linked bool
	// opens counts the open files of the queue, and freed is set once
	// the queue is gone (no name, no open file); protected by ns.mu.
	opens int
	freed bool

	// mu protects everything below.
	mu sync.Mutex
	// The queue's attributes as a file.
	mode                uint32
	uid, gid            uint32
	size                int64
	atime, mtime, ctime unix.Timespec
	// levels holds the messages by priority, lowest first; each level's
	// messages are in the order they were sent.
	levels []*mqLevel
	// curMsgs is mq_curmsgs; qsize the bytes of message text queued.
	curMsgs int64
	qsize   uint64
	// senders and receivers are the sleepers, first to wake first.
	senders, receivers []*mqWaiter
	// notify is the mq_notify registration, or nil.
	notify *mqNotification
}

// mqMessage is one message.
type mqMessage struct {
	prio uint32
	text []byte
	// memcg is the memory account the message is charged to (the
	// sender's container's; nil: none), charge what it is charged.
	memcg  *mm.MemCgroup
	charge int64
}

// The memory a message takes in Linux (ipc/msgutil.c's alloc_msg): a
// struct msg_msg holding the first DATALEN_MSG bytes of text, then
// struct msg_msgseg's of DATALEN_SEG bytes each, every one kmalloc'ed
// with GFP_KERNEL_ACCOUNT, so charged to the sender's memory cgroup
// until the message is freed (received, dropped with its queue, or given
// up by a sender that timed out).
const (
	sizeofMsgMsgSeg = 8
	mqDataLenMsg    = 4096 - sizeofMsgMsg
	mqDataLenSeg    = 4096 - sizeofMsgMsgSeg
	// sizeofObjCgroupPtr is the obj_cgroup pointer SLUB keeps beside
	// each accounted object and charges with it (obj_full_size).
	sizeofObjCgroupPtr = 8
)

// kmallocSizes are the object sizes of the kmalloc caches up to a page.
var kmallocSizes = [...]int64{8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096}

// kmallocCharge is what an accounted kmalloc of n bytes (at most a page)
// charges: the object size of the cache that serves it and the
// obj_cgroup pointer.
func kmallocCharge(n int64) int64 {
	for _, sz := range kmallocSizes {
		if n <= sz {
			return sz + sizeofObjCgroupPtr
		}
	}
	return n + sizeofObjCgroupPtr
}

// mqMessageCharge returns what a message of n bytes of text charges.
func mqMessageCharge(n int64) int64 {
	alen := min(n, mqDataLenMsg)
	total := kmallocCharge(sizeofMsgMsg + alen)
	for n -= alen; n > 0; n -= alen {
		alen = min(n, mqDataLenSeg)
		total += kmallocCharge(sizeofMsgMsgSeg + alen)
	}
	return total
}

// newMQMessage makes a message charged to acct (load_msg): ENOMEM when
// the charge does not fit under the account's limit and its OOM path
// cannot make room.
func newMQMessage(acct mm.Account, text []byte, prio uint32) (*mqMessage, error) {
	charge := mqMessageCharge(int64(len(text)))
	if !acct.ChargeObject(charge) {
		return nil, unix.ENOMEM
	}
	m := &mqMessage{prio: prio, text: text}
	if acct.Memcg != nil {
		m.memcg, m.charge = acct.Memcg, charge
	}
	return m, nil
}

// free uncharges m (free_msg); its text stays readable for the receiver
// that copies it out.
func (m *mqMessage) free() {
	m.memcg.UnchargeObject(m.charge)
	m.memcg, m.charge = nil, 0
}

// mqLevel holds the messages of one priority (struct
// posix_msg_tree_node).
type mqLevel struct {
	prio uint32
	msgs []*mqMessage
}

// mqWaiter is a sleeping sender or receiver (struct ext_wait_queue).
type mqWaiter struct {
	// msg is the sender's message, or the one handed to a receiver.
	msg *mqMessage
	// ready is STATE_READY: the sender's message went in, or a message
	// was handed to the receiver. Set under MQueue.mu before wake.
	ready bool
	wake  chan struct{}
}

// MaxMsg and MsgSize return mq_maxmsg and mq_msgsize.
func (q *MQueue) MaxMsg() int64  { return q.maxMsg }
func (q *MQueue) MsgSize() int64 { return q.msgSize }

// Name returns the name the queue was created with.
func (q *MQueue) Name() string { return q.name }

// Ino returns the queue's inode number.
func (q *MQueue) Ino() uint64 { return MQRootIno + q.seq }

// Stat returns the queue's attributes as a file (st_dev is the file
// system's to fill).
func (q *MQueue) Stat() unix.Stat_t {
	q.mu.Lock()
	defer q.mu.Unlock()
	nlink := uint64(0)
	if q.linked {
		nlink = 1
	}
	return unix.Stat_t{
		Ino: q.Ino(), Mode: q.mode, Nlink: nlink, Uid: q.uid, Gid: q.gid,
		Size: q.size, Blksize: 4096, Atim: q.atime, Mtim: q.mtime, Ctim: q.ctime,
	}
}

// SetStat changes the queue's attributes (simple_setattr: truncate(2)
// sets st_size and nothing else); the VFS has checked the caller may.
func (q *MQueue) SetStat(opts vfs.SetStatOpts) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if opts.Mask&vfs.SetSize != 0 {
		q.size = opts.Size
		q.mtime, q.ctime = mqNow(), mqNow()
	}
	applyMQStat(&q.mode, &q.uid, &q.gid, &q.atime, &q.mtime, &q.ctime, opts)
	return nil
}

// Release drops an open of the queue (a file's last reference): an
// unlinked queue goes with its last one.
func (q *MQueue) Release() {
	n := q.ns
	n.mu.Lock()
	defer n.mu.Unlock()
	q.opens--
	if !q.linked && q.opens == 0 {
		n.freeLocked(q)
	}
}

// Open takes an open of the queue for a file opened through a mount
// (open(2) of /dev/mqueue/NAME): ENOENT if the queue went between the
// lookup and the open.
func (q *MQueue) Open() error {
	q.ns.mu.Lock()
	defer q.ns.mu.Unlock()
	if q.freed {
		return unix.ENOENT
	}
	q.opens++
	return nil
}

// insertLocked queues m behind the messages of its priority (msg_insert).
//
// Preconditions: q.mu is held.
func (q *MQueue) insertLocked(m *mqMessage) {
	i := sort.Search(len(q.levels), func(i int) bool { return q.levels[i].prio >= m.prio })
	if i == len(q.levels) || q.levels[i].prio != m.prio {
		q.levels = append(q.levels, nil)
		copy(q.levels[i+1:], q.levels[i:])
		q.levels[i] = &mqLevel{prio: m.prio}
	}
	q.levels[i].msgs = append(q.levels[i].msgs, m)
	q.curMsgs++
	q.qsize += uint64(len(m.text))
	q.ns.queuedBytes.Add(int64(len(m.text)))
}

// getLocked takes the oldest message of the highest priority (msg_get).
//
// Preconditions: q.mu is held; q.curMsgs > 0.
func (q *MQueue) getLocked() *mqMessage {
	top := q.levels[len(q.levels)-1]
	m := top.msgs[0]
	top.msgs[0] = nil
	top.msgs = top.msgs[1:]
	if len(top.msgs) == 0 {
		q.levels[len(q.levels)-1] = nil
		q.levels = q.levels[:len(q.levels)-1]
	}
	q.curMsgs--
	q.qsize -= uint64(len(m.text))
	q.ns.queuedBytes.Add(-int64(len(m.text)))
	return m
}

// popWaiter takes the first sleeper off list (wq_get_first_waiter).
func popWaiter(list *[]*mqWaiter) *mqWaiter {
	if len(*list) == 0 {
		return nil
	}
	w := (*list)[0]
	(*list)[0] = nil
	*list = (*list)[1:]
	return w
}

// removeWaiter takes w off list.
func removeWaiter(list *[]*mqWaiter, w *mqWaiter) {
	for i, e := range *list {
		if e == w {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return
		}
	}
}

// touchLocked stamps atime, mtime and ctime (a send or a receive).
//
// Preconditions: q.mu is held.
func (q *MQueue) touchLocked() {
	now := mqNow()
	q.atime, q.mtime, q.ctime = now, now, now
}

// mqSleep waits on w until it is ready (nil), the deadline passes
// (ETIMEDOUT) or a signal comes (ERESTARTSYS), as wq_sleep does. A zero
// deadline waits for ever.
func (t *Task) mqSleep(q *MQueue, w *mqWaiter, list *[]*mqWaiter, deadline time.Time) error {
	for {
		timedOut, err := t.BlockUntil(w.wake, deadline)
		q.mu.Lock()
		if w.ready {
			q.mu.Unlock()
			return nil
		}
		if err != nil || timedOut {
			removeWaiter(list, w)
			q.mu.Unlock()
			if err != nil {
				return ERESTARTSYS
			}
			return unix.ETIMEDOUT
		}
		q.mu.Unlock()
	}
}

// MQTimedSend sends text with priority prio (do_mq_timedsend, after the
// checks of the descriptor, the priority and the size): the message is
// charged to the sender's container first (ENOMEM when it cannot be),
// then EAGAIN on a full queue with nonblock, else it sleeps until there
// is room or the deadline (zero: none) passes.
func (t *Task) MQTimedSend(q *MQueue, text []byte, prio uint32, nonblock bool, deadline time.Time) error {
	return t.mqTimedSend(t.memAccount(), q, text, prio, nonblock, deadline)
}

// mqTimedSend is MQTimedSend charging the message to acct.
func (t *Task) mqTimedSend(acct mm.Account, q *MQueue, text []byte, prio uint32, nonblock bool, deadline time.Time) error {
	// Before q.mu: the charge may wait for the OOM killer.
	m, err := newMQMessage(acct, text, prio)
	if err != nil {
		return err
	}
	q.mu.Lock()
	if q.curMsgs == q.maxMsg {
		if nonblock {
			q.mu.Unlock()
			m.free()
			return unix.EAGAIN
		}
		w := &mqWaiter{msg: m, wake: make(chan struct{}, 1)}
		q.senders = append(q.senders, w)
		q.mu.Unlock()
		if err := t.mqSleep(q, w, &q.senders, deadline); err != nil {
			// The message never went in.
			m.free()
			return err
		}
		return nil
	}
	var note *mqNotification
	if r := popWaiter(&q.receivers); r != nil {
		r.msg, r.ready = m, true
		wakeOne(r.wake)
	} else {
		q.insertLocked(m)
		note = q.takeNotificationLocked()
	}
	q.touchLocked()
	q.mu.Unlock()
	q.events.Notify(waiter.EventIn)
	if note != nil {
		t.deliverMQNotification(note)
	}
	return nil
}

// MQTimedReceive takes the oldest message of the highest priority
// (do_mq_timedreceive, after the checks of the descriptor and the buffer
// size): EAGAIN on an empty queue with nonblock, else it sleeps until a
// message comes or the deadline (zero: none) passes.
func (t *Task) MQTimedReceive(q *MQueue, nonblock bool, deadline time.Time) (text []byte, prio uint32, err error) {
	q.mu.Lock()
	if q.curMsgs == 0 {
		if nonblock {
			q.mu.Unlock()
			return nil, 0, unix.EAGAIN
		}
		w := &mqWaiter{wake: make(chan struct{}, 1)}
		q.receivers = append(q.receivers, w)
		q.mu.Unlock()
		if err := t.mqSleep(q, w, &q.receivers, deadline); err != nil {
			return nil, 0, err
		}
		w.msg.free()
		return w.msg.text, w.msg.prio, nil
	}
	m := q.getLocked()
	q.touchLocked()
	// There is room now: the first sleeping sender's message goes in.
	if s := popWaiter(&q.senders); s != nil {
		q.insertLocked(s.msg)
		s.ready = true
		wakeOne(s.wake)
	}
	q.mu.Unlock()
	m.free()
	q.events.Notify(waiter.EventOut)
	return m.text, m.prio, nil
}

// Attr returns mq_attr (mq_flags is the open file's to fill).
func (q *MQueue) Attr() MQAttr {
	q.mu.Lock()
	defer q.mu.Unlock()
	return MQAttr{MaxMsg: q.maxMsg, MsgSize: q.msgSize, CurMsgs: q.curMsgs}
}

// GetSetAttr implements mq_getsetattr on f, a file of the queue: it
// returns the attributes with mq_flags from f's O_NONBLOCK, then applies
// set's O_NONBLOCK (already checked to be the only flag) to f.
func (q *MQueue) GetSetAttr(f *vfs.File, set *MQAttr) MQAttr {
	q.mu.Lock()
	defer q.mu.Unlock()
	old := MQAttr{
		Flags:  int64(f.StatusFlags() & unix.O_NONBLOCK),
		MaxMsg: q.maxMsg, MsgSize: q.msgSize, CurMsgs: q.curMsgs,
	}
	if set != nil {
		fl := f.StatusFlags() &^ unix.O_NONBLOCK
		if set.Flags&unix.O_NONBLOCK != 0 {
			fl |= unix.O_NONBLOCK
		}
		f.SetStatusFlags(fl)
		now := mqNow()
		q.atime, q.ctime = now, now
	}
	return old
}

// Readiness implements waiter.Waitable: readable while messages are
// queued, writable while there is room (mqueue_poll_file).
func (q *MQueue) Readiness(mask uint32) uint32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	var r uint32
	if q.curMsgs > 0 {
		r |= waiter.EventIn
	}
	if q.curMsgs < q.maxMsg {
		r |= waiter.EventOut
	}
	return r & mask
}

// EventRegister implements waiter.Waitable.
func (q *MQueue) EventRegister(ch chan struct{}, mask uint32) { q.events.EventRegister(ch, mask) }

// EventUnregister implements waiter.Waitable.
func (q *MQueue) EventUnregister(ch chan struct{}) { q.events.EventUnregister(ch) }

// ReadStatus implements read(2) of a queue's file at off
// (mqueue_read_file): one line with the queued bytes and the
// notification, the owner's process ID as the reading task sees it.
func (q *MQueue) ReadStatus(dst []byte, off int64) int {
	q.mu.Lock()
	qsize := q.qsize
	var kind, signo int32
	var owner *ThreadGroup
	if n := q.notify; n != nil {
		kind, owner = n.ev.Notify, n.owner
		if kind == SigevSignal {
			signo = n.ev.Signo
		}
	}
	q.mu.Unlock()
	pid := int32(0)
	if owner != nil {
		if t := callerTask(); t != nil {
			pid = t.pidOf(owner.id)
		}
	}
	line := fmt.Sprintf("QSIZE:%-10d NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n", qsize, kind, signo, pid)
	if len(line) > mqFileSize-1 {
		line = line[:mqFileSize-1] // snprintf into FILENT_SIZE bytes
	}
	if off < 0 || off >= int64(len(line)) {
		return 0
	}
	n := copy(dst, line[off:])
	if n > 0 {
		q.mu.Lock()
		now := mqNow()
		q.atime, q.ctime = now, now
		q.mu.Unlock()
	}
	return n
}
