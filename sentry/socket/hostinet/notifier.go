package hostinet

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// The notifier turns readiness changes of host sockets into wake-ups of
// the sentry's waiters: one epoll instance per sentry, every host socket
// registered edge-triggered for every event, and one goroutine that
// waits on it and notifies the socket's queue. Waiters re-check
// Readiness after registering, so an edge that came before they
// registered is never lost; a stale edge only costs a re-check.

// notifier is the sentry's epoll instance and the queues of the sockets
// registered with it.
type notifier struct {
	epfd int

	// mu protects queues.
	mu sync.Mutex
	// queues maps a registered host descriptor to its socket's queue.
	queues map[int32]*waiter.Queue
}

var (
	notifierOnce sync.Once
	theNotifier  *notifier
	notifierErr  error
)

// getNotifier returns the sentry's notifier, started at the first host
// socket.
func getNotifier() (*notifier, error) {
	notifierOnce.Do(func() {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			notifierErr = err
			return
		}
		theNotifier = &notifier{epfd: epfd, queues: make(map[int32]*waiter.Queue)}
		go theNotifier.run()
	})
	return theNotifier, notifierErr
}

// add registers fd, whose events wake q's waiters.
func (n *notifier) add(fd int32, q *waiter.Queue) error {
	n.mu.Lock()
	n.queues[fd] = q
	n.mu.Unlock()
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLPRI | unix.EPOLLRDHUP | unix.EPOLLERR | unix.EPOLLHUP | unix.EPOLLET,
		Fd:     fd,
	}
	if err := unix.EpollCtl(n.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		n.mu.Lock()
		delete(n.queues, fd)
		n.mu.Unlock()
		return err
	}
	return nil
}

// remove unregisters fd; the caller closes it afterwards, so that the
// number is not reused while still registered.
func (n *notifier) remove(fd int32) {
	n.mu.Lock()
	delete(n.queues, fd)
	n.mu.Unlock()
	_ = unix.EpollCtl(n.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
}

// run waits for events for as long as the sentry lives. It holds an OS
// thread while it waits, one for the whole sandbox.
func (n *notifier) run() {
	events := make([]unix.EpollEvent, 128)
	for {
		k, err := unix.EpollWait(n.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// Not reachable with a valid epfd; waiters then only
			// see readiness when they re-check (timeouts, signals).
			return
		}
		n.mu.Lock()
		for _, ev := range events[:k] {
			if q := n.queues[ev.Fd]; q != nil {
				// Every waiter is woken, as the netstack bridge
				// does: an error or hang-up concerns readers and
				// writers alike, and a spurious wake-up only
				// costs a re-check. Queue.Notify does
				// non-blocking sends only, so holding mu across
				// it cannot deadlock.
				q.Notify(^uint32(0))
			}
		}
		n.mu.Unlock()
	}
}
