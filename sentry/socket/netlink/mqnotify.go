package netlink

// DeliverMQNotification implements kernel.MQNotifySink (the kernel
// package imports this one; sentry/syscalls asserts it): mq_notify's
// SIGEV_THREAD cookie arrives as one message from the kernel (port 0), as
// Linux's netlink_sendskb queues it for glibc's helper thread, whatever
// the socket's protocol or binding. A full receive queue drops it.
func (s *Socket) DeliverMQNotification(cookie []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(datagram{data: append([]byte(nil), cookie...)})
}
