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
	return whole(unix.Pwrite, fd, b, off, unix.EIO)
}

// PreadFull reads len(b) bytes at off of fd, through short reads and
// EINTR. Reading past the end of the file is io.ErrUnexpectedEOF.
func PreadFull(fd int, b []byte, off int64) error {
	return whole(unix.Pread, fd, b, off, io.ErrUnexpectedEOF)
}

// whole repeats op until it has moved all of b; none is the error of a
// call that moves nothing.
func whole(op func(int, []byte, int64) (int, error), fd int, b []byte, off int64, none error) error {
	for len(b) > 0 {
		n, err := op(fd, b, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return none
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}
