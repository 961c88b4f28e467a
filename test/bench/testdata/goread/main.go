// Command goread times N one-byte reads of /dev/zero through Go's syscall
// package and prints nanoseconds per read. Every system call of a Go
// program's I/O goes through the same function of its runtime, whose
// site takes the number from a register; the platform report shows what
// such a call costs in each sandbox.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	n := 100000
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v <= 0 {
			fmt.Fprintln(os.Stderr, "usage: goread [N]")
			os.Exit(2)
		}
		n = v
	}
	fd, err := syscall.Open("/dev/zero", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goread:", err)
		os.Exit(1)
	}
	buf := []byte{1}
	// Warm up (and let a patching sandbox patch the site).
	for i := 0; i < 10; i++ {
		syscall.Read(fd, buf)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if m, err := syscall.Read(fd, buf); m != 1 || err != nil || buf[0] != 0 {
			fmt.Fprintf(os.Stderr, "goread: read %d: %d bytes, %v, byte %d\n", i, m, err, buf[0])
			os.Exit(1)
		}
	}
	fmt.Printf("%.1f\n", float64(time.Since(start).Nanoseconds())/float64(n))
}
