package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return "errno " + strconv.Itoa(int(e))
}

// rawErr is errno for a raw system call's error number.
func rawErr(e syscall.Errno) string {
	if e == 0 {
		return "ok"
	}
	return errno(e)
}

// hostRel is the canary's host path without its leading slash, for
// walking to it from somewhere that might be the host's root.
func hostRel() string { return strings.TrimPrefix(cfg.CanaryPath, "/") }

// isCanary reports whether f's first MiB is the canary.
func isCanary(f *os.File) bool {
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil && len(b) == 0 {
		return false
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]) == cfg.CanaryHash
}

// tryCanary opens p and marks k escaped when it reads the canary; it
// returns how the attempt ended.
func tryCanary(k *c, p string) string {
	f, err := os.Open(p)
	if err != nil {
		return errno(err)
	}
	defer f.Close()
	if isCanary(f) {
		k.escape("%s is the host canary", p)
		return "READ THE CANARY"
	}
	return "opened a sandbox file, not the canary"
}

// tryCanaryAt is tryCanary relative to a directory descriptor.
func tryCanaryAt(k *c, dirfd int, p, what string) string {
	fd, err := unix.Openat(dirfd, p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errno(err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	if isCanary(f) {
		k.escape("%s then %s is the host canary", what, p)
		return "READ THE CANARY"
	}
	return "opened a sandbox file, not the canary"
}

// hostString returns the host path s names, or "".
func hostString(s string) string {
	for _, h := range cfg.HostStrings {
		if h != "" && strings.Contains(s, h) {
			return h
		}
	}
	return ""
}

// isCocoonBinary reports whether the file at p is the host's cocoon
// binary (the sentry's and the gofer's executable).
func isCocoonBinary(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() != cfg.CocoonSize {
		return false
	}
	h := sha256.New()
	io.Copy(h, io.LimitReader(f, 1<<20))
	return hex.EncodeToString(h.Sum(nil)) == cfg.CocoonHash
}

// pids lists the processes /proc shows.
func pids() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

// fdsOf lists /proc/PID/fd's entries.
func fdsOf(pid int) []string {
	ents, _ := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// peek reads the byte at addr with a plain load, or reports that the
// load faulted.
func peek(addr uintptr) (b byte, ok bool) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return *(*byte)(unsafe.Add(nil, addr)), true
}

// poke writes b at addr with a plain store, or reports that it faulted.
func poke(addr uintptr, b byte) (ok bool) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	*(*byte)(unsafe.Add(nil, addr)) = b
	return true
}

// writeFile writes v to p (no create, no truncate: as `echo v > p` does
// on /proc and /sys).
func writeFile(p, v string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func ptr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func bytePtr(s string) uintptr {
	p, _ := unix.BytePtrFromString(s)
	return uintptr(unsafe.Pointer(p))
}
