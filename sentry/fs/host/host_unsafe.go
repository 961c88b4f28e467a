package host

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// termiosBytes views t as the bytes of Linux's struct termios.
func termiosBytes(t *unix.Termios) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(t)), unsafe.Sizeof(*t))
}

// winsizeBytes views w as the bytes of Linux's struct winsize.
func winsizeBytes(w *unix.Winsize) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(w)), unsafe.Sizeof(*w))
}
