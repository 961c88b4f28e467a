// Package synth provides in-memory inodes that the sentry makes up itself:
// fixed directories (the roots of /dev and /proc) and files whose behaviour
// is code (device nodes).
package synth

import (
	"sort"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// synthDev is the device number of every synthetic inode.
const synthDev = 0x10

var nextIno atomic.Uint64

// NewIno returns a fresh inode number.
func NewIno() uint64 { return nextIno.Add(1) }

// bootTime stamps synthetic files.
var bootTime = func() unix.Timespec {
	now := time.Now()
	return unix.Timespec{Sec: now.Unix(), Nsec: int64(now.Nanosecond())}
}()

// Attr builds a struct stat for a synthetic inode.
func Attr(ino uint64, mode uint32, rdev uint64) unix.Stat_t {
	nlink := uint64(1)
	if mode&unix.S_IFMT == unix.S_IFDIR {
		nlink = 2
	}
	return unix.Stat_t{
		Dev: synthDev, Ino: ino, Mode: mode, Nlink: nlink, Rdev: rdev,
		Blksize: 4096, Atim: bootTime, Mtim: bootTime, Ctim: bootTime,
	}
}

// Dir is an immutable directory of named inodes.
type Dir struct {
	attr    unix.Stat_t
	names   []string
	entries map[string]vfs.Inode
}

// NewDir returns a directory holding entries.
func NewDir(mode uint32, entries map[string]vfs.Inode) *Dir {
	d := &Dir{attr: Attr(NewIno(), unix.S_IFDIR|mode, 0), entries: entries}
	for name := range entries {
		d.names = append(d.names, name)
	}
	sort.Strings(d.names)
	return d
}

// Stat implements vfs.Inode.Stat.
func (d *Dir) Stat() (unix.Stat_t, error) { return d.attr, nil }

// Lookup implements vfs.Inode.Lookup.
func (d *Dir) Lookup(name string) (vfs.Inode, error) {
	if in, ok := d.entries[name]; ok {
		return in, nil
	}
	return nil, unix.ENOENT
}

// Readlink implements vfs.Inode.Readlink.
func (d *Dir) Readlink() (string, error) { return "", unix.EINVAL }

// Open implements vfs.Inode.Open.
func (d *Dir) Open(flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EISDIR
	}
	return &dirFile{d}, nil
}

type dirFile struct{ d *Dir }

func (*dirFile) ReadAt([]byte, int64) (int, error)  { return 0, unix.EISDIR }
func (*dirFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EBADF }
func (f *dirFile) Stat() (unix.Stat_t, error)       { return f.d.attr, nil }
func (*dirFile) Close() error                       { return nil }

// Readdir implements vfs.DirReader.Readdir: cookies are entry indexes, with
// "." and ".." first.
func (f *dirFile) Readdir(off uint64, _ int) ([]vfs.Dirent, error) {
	var out []vfs.Dirent
	for i := off; i < uint64(len(f.d.names))+2; i++ {
		switch i {
		case 0:
			out = append(out, vfs.Dirent{Ino: f.d.attr.Ino, Off: 1, Type: unix.DT_DIR, Name: "."})
		case 1:
			out = append(out, vfs.Dirent{Ino: f.d.attr.Ino, Off: 2, Type: unix.DT_DIR, Name: ".."})
		default:
			name := f.d.names[i-2]
			st, _ := f.d.entries[name].Stat()
			out = append(out, vfs.Dirent{Ino: st.Ino, Off: i + 1, Type: DirentType(st.Mode), Name: name})
		}
	}
	return out, nil
}

// DirentType converts a mode to a DT_* value.
func DirentType(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFREG:
		return unix.DT_REG
	case unix.S_IFLNK:
		return unix.DT_LNK
	case unix.S_IFCHR:
		return unix.DT_CHR
	case unix.S_IFBLK:
		return unix.DT_BLK
	case unix.S_IFIFO:
		return unix.DT_FIFO
	case unix.S_IFSOCK:
		return unix.DT_SOCK
	}
	return unix.DT_UNKNOWN
}

// Symlink is a fixed symbolic link.
type Symlink struct {
	attr   unix.Stat_t
	target string
}

// NewSymlink returns a symlink to target.
func NewSymlink(target string) *Symlink {
	a := Attr(NewIno(), unix.S_IFLNK|0o777, 0)
	a.Size = int64(len(target))
	return &Symlink{attr: a, target: target}
}

func (s *Symlink) Stat() (unix.Stat_t, error)       { return s.attr, nil }
func (s *Symlink) Lookup(string) (vfs.Inode, error) { return nil, unix.ENOTDIR }
func (s *Symlink) Readlink() (string, error)        { return s.target, nil }
func (s *Symlink) Open(int) (vfs.FileImpl, error)   { return nil, unix.ELOOP }
