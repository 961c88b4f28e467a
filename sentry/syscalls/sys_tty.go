package syscalls

import (
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/devpts"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// tiocgptpeer is TIOCGPTPEER.
const tiocgptpeer = 0x5441

// openControllingTTY opens /dev/tty: the caller's controlling terminal,
// ENXIO without one.
func openControllingTTY(t *kernel.Task, flags int) (vfs.FileImpl, error) {
	tty := t.ControllingTTY()
	if tty == nil || t.Kernel().PTYs == nil {
		return nil, unix.ENXIO
	}
	in, err := t.Kernel().PTYs.Root().Lookup(strconv.Itoa(tty.Index()))
	if err != nil {
		return nil, unix.EIO
	}
	return in.Open(flags | unix.O_NOCTTY)
}

// ttyIoctl runs a terminal ioctl with the caller's job-control view.
func ttyIoctl(t *kernel.Task, f *vfs.File, tty *devpts.File, req, arg uint64) (uint64, error) {
	if req == tiocgptpeer && tty.IsMaster() {
		flags := int(arg)
		if flags&^(unix.O_RDWR|unix.O_WRONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC) != 0 {
			return 0, unix.EINVAL
		}
		impl, err := tty.OpenPeer(flags)
		if err != nil {
			return 0, err
		}
		peer := vfs.NewFile(impl, nil, flags)
		defer peer.DecRef()
		fd, err := t.FDs().NewFD(peer, 0, flags&unix.O_CLOEXEC != 0, t.RLimit(unix.RLIMIT_NOFILE).Cur)
		return uint64(fd), err
	}
	n, err := tty.IoctlTask(t.JobControl(), t, req, arg)
	return n, ttyErr(err)
}

// ttyErr maps devpts' job-control stop to a restart of the syscall.
func ttyErr(err error) error {
	if e, ok := kernel.IsJobControlStop(err); ok {
		return e
	}
	return err
}

// ttyRead and ttyWrite do terminal I/O with the caller's job control.
func ttyRead(t *kernel.Task, f *vfs.File, tty *devpts.File, buf []byte) (int, error) {
	if !f.Readable() {
		return 0, unix.EBADF
	}
	n, err := tty.ReadTask(t.JobControl(), buf)
	return n, ttyErr(err)
}

func ttyWrite(t *kernel.Task, f *vfs.File, tty *devpts.File, buf []byte) (int, error) {
	if !f.Writable() {
		return 0, unix.EBADF
	}
	n, err := tty.WriteTask(t.JobControl(), buf)
	return n, ttyErr(err)
}
