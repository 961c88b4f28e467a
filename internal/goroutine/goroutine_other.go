//go:build !amd64

package goroutine

import (
	"bytes"
	"runtime"
	"strconv"
)

// id returns the goroutine's number from its stack trace's header: slow,
// but the sentry runs on amd64, where the runtime's g pointer is read
// directly.
func id() uintptr {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return uintptr(n)
}
