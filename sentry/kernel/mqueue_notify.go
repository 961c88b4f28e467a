package kernel

// mq_notify(2): one process per queue may ask to be told when a message
// arrives on the empty queue while nobody is blocked receiving
// (__do_notify). The registration is used up by the notification, and
// dropped by mq_notify(NULL) from its owner or by any close of a
// descriptor of the queue in the owning process (mqueue_flush_file).
//
// SIGEV_SIGNAL queues sigev_signo with si_code SI_MESGQ, sigev_value and
// the sender's process and real user IDs, subject to the sender's
// permission to signal the owner, as kill_pid_info checks for a code
// from user space. SIGEV_THREAD is glibc's: it registers a netlink socket
// and a 32-byte cookie, and the kernel writes the cookie to the socket
// (last byte NOTIFY_WOKENUP, or NOTIFY_REMOVED when the registration is
// dropped); glibc's helper thread reads it and starts the thread. A
// socket that can take such cookies implements MQNotifySink; every other
// descriptor is refused with Linux's errors (EBADF, ENOTSOCK, and EINVAL
// for a socket that is not a netlink one). Netlink sockets
// (sentry/socket/netlink) take the cookies.

import "golang.org/x/sys/unix"

// sigev_notify and si_code values for mq_notify (SigevSignal, SigevNone
// are in timers.go).
const (
	SigevThread = 2
	// SIMesgq is SI_MESGQ.
	SIMesgq = -3
	// MQNotifyCookieLen is NOTIFY_COOKIE_LEN.
	MQNotifyCookieLen = 32
	// The cookie's last byte (NOTIFY_WOKENUP, NOTIFY_REMOVED).
	mqNotifyWokenUp = 1
	mqNotifyRemoved = 2
)

// MQNotifySink is implemented by sockets mq_notify's SIGEV_THREAD can
// name (Linux's netlink sockets): DeliverMQNotification queues the cookie
// as one message for the socket's reader (netlink_sendskb), dropping it
// when the socket cannot take it.
type MQNotifySink interface {
	DeliverMQNotification(cookie []byte)
}

// MQSigevent is what mq_notify keeps of struct sigevent.
type MQSigevent struct {
	// Notify is SigevNone, SigevSignal or SigevThread.
	Notify int32
	// Signo and Value are SIGEV_SIGNAL's signal and sigev_value.
	Signo int32
	Value uint64
	// Sink and Cookie are SIGEV_THREAD's socket and cookie
	// (MQNotifyCookieLen bytes).
	Sink   MQNotifySink
	Cookie []byte
}

// mqNotification is a registration.
type mqNotification struct {
	// owner is the registering process (notify_owner).
	owner *ThreadGroup
	ev    MQSigevent
}

// MQNotify implements mq_notify(2) once the sigevent is checked: ev nil
// drops the caller's process's registration (a registration of another
// process stays, silently); otherwise EBUSY if the queue has one.
func (t *Task) MQNotify(q *MQueue, ev *MQSigevent) error {
	q.mu.Lock()
	if ev == nil {
		var removed *mqNotification
		if q.notify != nil && q.notify.owner == t.tg {
			removed = q.notify
			q.notify = nil
			now := mqNow()
			q.atime, q.ctime = now, now
		}
		q.mu.Unlock()
		removed.sendRemoved()
		return nil
	}
	defer q.mu.Unlock()
	if q.notify != nil {
		return unix.EBUSY
	}
	q.notify = &mqNotification{owner: t.tg, ev: *ev}
	now := mqNow()
	q.atime, q.ctime = now, now
	return nil
}

// Flush drops the registration of closer's process: a descriptor of the
// queue is being closed (mqueue_flush_file).
func (q *MQueue) Flush(closer *Task) {
	q.mu.Lock()
	var removed *mqNotification
	if q.notify != nil && q.notify.owner == closer.tg {
		removed = q.notify
		q.notify = nil
	}
	q.mu.Unlock()
	removed.sendRemoved()
}

// takeNotificationLocked takes the registration a message that made the
// queue non-empty uses up (__do_notify), or returns nil.
//
// Preconditions: q.mu is held.
func (q *MQueue) takeNotificationLocked() *mqNotification {
	n := q.notify
	if n == nil || q.curMsgs != 1 {
		return nil
	}
	q.notify = nil
	return n
}

// deliverMQNotification notifies n's owner that t's message arrived.
// Called without MQueue.mu: the signal takes Kernel.mu.
func (t *Task) deliverMQNotification(n *mqNotification) {
	switch n.ev.Notify {
	case SigevSignal:
		if n.ev.Signo == 0 || !t.MaySignal(n.owner) {
			return
		}
		info := &SigInfo{Signo: n.ev.Signo, Code: SIMesgq}
		info.SetPIDKUID(0, t.creds.UID)
		info.SetValue(n.ev.Value)
		// si_pid is the sender as the owner's PID namespace sees it.
		info.SetSender(t.tg, false)
		t.k.SendGroupSignal(n.owner, info)
	case SigevThread:
		n.sendCookie(mqNotifyWokenUp)
	}
}

// sendRemoved tells a SIGEV_THREAD registration's socket that it was
// dropped (remove_notification); n may be nil.
func (n *mqNotification) sendRemoved() {
	if n != nil && n.ev.Notify == SigevThread {
		n.sendCookie(mqNotifyRemoved)
	}
}

func (n *mqNotification) sendCookie(code byte) {
	c := make([]byte, MQNotifyCookieLen)
	copy(c, n.ev.Cookie)
	c[MQNotifyCookieLen-1] = code
	n.ev.Sink.DeliverMQNotification(c)
}
