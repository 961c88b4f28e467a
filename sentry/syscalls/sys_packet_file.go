package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
	"github.com/cocoonrt/cocoon/sentry/waiter"
)

// packetIO serves read(2), write(2), readv(2) and writev(2) on a
// vfs.PacketFile: one packet a call, whatever the iovecs. A write
// returns the whole count, as Linux's tun_chr_write_iter does.
func packetIO(t *kernel.Task, f *vfs.File, pf vfs.PacketFile, iovs []iovec, write bool) (uint64, error) {
	var total uint64
	for _, iov := range iovs {
		total += iov.len
	}
	buf := t.Buffer(int(min(total, uint64(pf.MaxPacket()))))
	if write {
		killPrivs(t, f)
		done := 0
		for _, iov := range iovs {
			if done == len(buf) {
				break
			}
			want := min(int(iov.len), len(buf)-done)
			if _, err := t.CopyIn(iov.base, buf[done:done+want]); err != nil {
				return 0, unix.EFAULT
			}
			done += want
		}
		_, err := f.Write(buf)
		if err == unix.EAGAIN {
			err = waitFor(t, f, waiter.EventOut, func() bool {
				_, err = f.Write(buf)
				return err != unix.EAGAIN
			})
		}
		if err != nil {
			return 0, err
		}
		return total, nil
	}
	n, err := f.Read(buf)
	if err == unix.EAGAIN {
		err = waitFor(t, f, waiter.EventIn, func() bool {
			n, err = f.Read(buf)
			return err != unix.EAGAIN
		})
	}
	if err != nil {
		return 0, err
	}
	done := 0
	for _, iov := range iovs {
		if done == n {
			break
		}
		want := min(int(iov.len), n-done)
		if c, err := t.CopyOut(iov.base, buf[done:done+want]); err != nil {
			if done+c > 0 {
				return uint64(done + c), nil
			}
			return 0, unix.EFAULT
		}
		done += want
	}
	return uint64(done), nil
}
