package kernel

import (
	"github.com/cocoonrt/cocoon/sentry/fs/inotify"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
)

// memfdDev is the device number memfd files report (Linux's shm_mnt is
// an anonymous tmpfs too).
const memfdDev = 0x2b

// Memfds returns the hidden tmpfs memfd_create's files live in.
func (k *Kernel) Memfds() *tmpfs.FS {
	k.memfdOnce.Do(func() {
		k.memfds = tmpfs.New(k.MemFile, tmpfs.Options{Mode: 0o1777, Dev: memfdDev})
	})
	return k.memfds
}

// Inotify returns the kernel's inotify event registry.
func (k *Kernel) Inotify() *inotify.Registry {
	k.inotifyOnce.Do(func() { k.inotify = inotify.NewRegistry() })
	return k.inotify
}
