// Package dev is the sandbox's /dev: the memory devices every program
// expects (null, zero, full, random, urandom), links to the standard
// streams, and the TUN/TAP clone device net/tun (sentry/fs/tun). Host device nodes are never reachable: the gofer refuses them
// and the sandbox's /dev is made up here.
package dev

import (
	"crypto/rand"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/fs/tun"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// kind says what a memory device does.
type kind int

const (
	null kind = iota
	zero
	full
	random
)

// device is a character device inode.
type device struct {
	kind kind
	attr unix.Stat_t
}

func newDevice(k kind, major, minor uint32) *device {
	return &device{kind: k, attr: synth.Attr(synth.NewIno(), unix.S_IFCHR|0o666, unix.Mkdev(major, minor))}
}

// New returns the /dev directory.
func New() vfs.Inode { return NewWith(nil) }

// TTYRdev is /dev/tty's device number: opening it opens the caller's
// controlling terminal, which the syscall layer resolves.
var TTYRdev = unix.Mkdev(5, 0)

// NewTTY returns the /dev/tty node.
func NewTTY() vfs.Inode { return newDevice(null, 5, 0) }

// NewConsole returns a /dev/console node (5:1) for the terminal of a
// container to be bound over; until it is, it reads and writes as
// /dev/null.
func NewConsole() vfs.Inode { return newDevice(null, 5, 1) }

// NewWith returns the /dev directory with extra entries (ptmx, pts, tty).
func NewWith(extra map[string]vfs.Inode) vfs.Inode {
	entries := map[string]vfs.Inode{
		"null":    newDevice(null, 1, 3),
		"zero":    newDevice(zero, 1, 5),
		"full":    newDevice(full, 1, 7),
		"random":  newDevice(random, 1, 8),
		"urandom": newDevice(random, 1, 9),
		"stdin":   synth.NewSymlink("/proc/self/fd/0"),
		"stdout":  synth.NewSymlink("/proc/self/fd/1"),
		"stderr":  synth.NewSymlink("/proc/self/fd/2"),
		"fd":      synth.NewSymlink("/proc/self/fd"),
		"shm":     synth.NewDir(0o1777, map[string]vfs.Inode{}),
		"net":     synth.NewDir(0o755, map[string]vfs.Inode{"tun": tun.NewInode()}),
	}
	for name, in := range extra {
		entries[name] = in
	}
	return synth.NewDir(0o755, entries)
}

func (d *device) Stat() (unix.Stat_t, error)       { return d.attr, nil }
func (d *device) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }
func (d *device) Readlink() (string, error)        { return "", unix.EINVAL }
func (d *device) Open(int) (vfs.FileImpl, error)   { return &file{d}, nil }

// file is an open memory device.
type file struct{ d *device }

// IsStream implements vfs.Streamer: positions are meaningless here, but
// Linux lets lseek succeed on these devices, so report false.
func (*file) IsStream() bool { return false }

func (f *file) ReadAt(dst []byte, _ int64) (int, error) {
	switch f.d.kind {
	case null:
		return 0, nil
	case random:
		return rand.Read(dst)
	default:
		clear(dst)
		return len(dst), nil
	}
}

func (f *file) WriteAt(src []byte, _ int64) (int, error) {
	if f.d.kind == full {
		return 0, unix.ENOSPC
	}
	return len(src), nil
}

func (f *file) Stat() (unix.Stat_t, error) { return f.d.attr, nil }

// Seek implements vfs.Seeker: Linux's memory devices accept any seek and
// stay at position 0.
func (*file) Seek(int64, int) (int64, error) { return 0, nil }
func (*file) Close() error                   { return nil }

// IsZero reports whether impl is /dev/zero, whose mappings are anonymous
// memory.
func IsZero(impl vfs.FileImpl) bool {
	f, ok := impl.(*file)
	return ok && f.d.kind == zero
}
