// Package fdio holds the host descriptor loops more than one process of
// cocoon needs.
package fdio

import (
	"io"

	"golang.org/x/sys/unix"
)

// PwriteAll writes all of b at off of fd, through short writes and EINTR.
// A write that makes no progress is EIO.
func PwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return unix.EIO
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// PreadFull reads len(b) bytes at off of fd, through short reads and
// EINTR. Reading past the end of the file is io.ErrUnexpectedEOF.
func PreadFull(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pread(fd, b, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return io.ErrUnexpectedEOF
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}
