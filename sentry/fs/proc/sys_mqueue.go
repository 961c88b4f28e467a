package proc

// /proc/sys/fs/mqueue: the POSIX message queue limits of the IPC
// namespace (ipc/mq_sysctl.c). Unlike the rest of /proc/sys here, they are
// writable: they are the namespace's own, root-owned and mode 0644, and
// the IPC namespace's root may change them as on Linux.

// mqueueSysctls are the files, in Linux's order.
var mqueueSysctls = []string{"queues_max", "msg_max", "msgsize_max", "msg_default", "msgsize_default"}

// mqueueSysctlWriter is implemented by Sources whose fs.mqueue sysctls
// can be written (the kernel's).
type mqueueSysctlWriter interface {
	// WriteMQueueSysctl sets /proc/sys/fs/mqueue/name to value for
	// the calling task.
	WriteMQueueSysctl(name, value string) error
}

// WriteMQueueSysctl implements mqueueSysctlWriter.
func (s *kernelSource) WriteMQueueSysctl(name, value string) error {
	return s.k.CallerIPC().MQueues().WriteSysctl(name, value)
}

// mqueueSysDir returns /proc/sys/fs/mqueue.
func (fs *filesystem) mqueueSysDir(key string) *node {
	w, writable := fs.src.(mqueueSysctlWriter)
	entries := make([]entry, len(mqueueSysctls))
	for i, name := range mqueueSysctls {
		read := func() ([]byte, error) { return line(fs.src.Sysctl("fs.mqueue." + name)), nil }
		entries[i] = entry{name, func(k string) *node {
			if !writable {
				return fs.file(k, 0o444, nil, read)
			}
			n := fs.file(k, 0o644, nil, read)
			n.write = func(p []byte) (int, error) {
				if err := w.WriteMQueueSysctl(name, string(p)); err != nil {
					return 0, err
				}
				return len(p), nil
			}
			return n
		}}
	}
	return fs.fixedDir(key, 0o555, nil, entries)
}
