package vfs

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Writing and executing a regular file exclude each other, as Linux's
// i_writecount makes them: a file some process runs cannot be opened for
// writing or truncated (ETXTBSY), and a file open for writing cannot be
// executed (ETXTBSY). The counts are kept per file (device and inode
// number), not per dentry, so that every name and every mount of a file
// shares them: a file system may give each name its own Inode object.

// fileKey names a file across dentries and mounts.
type fileKey struct {
	dev, ino uint64
}

// accessCounts are one file's open writers and running executables.
type accessCounts struct {
	writers, execs int
}

// writeAccess holds the counts of files that have any.
var writeAccess struct {
	// mu protects files.
	mu    sync.Mutex
	files map[fileKey]*accessCounts
}

// regularKey returns the key of d's file if it is a regular file.
func regularKey(d *Dentry) (fileKey, bool) {
	if d == nil || d.inode == nil {
		return fileKey{}, false
	}
	st, err := permStat(d.inode)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileKey{}, false
	}
	return fileKey{dev: st.Dev, ino: st.Ino}, true
}

// changeAccess applies fn to k's counts, creating and dropping the entry
// as needed; fn reports an error to leave the counts unchanged.
func changeAccess(k fileKey, fn func(c *accessCounts) error) error {
	writeAccess.mu.Lock()
	defer writeAccess.mu.Unlock()
	c := writeAccess.files[k]
	if c == nil {
		c = &accessCounts{}
	}
	if err := fn(c); err != nil {
		return err
	}
	if c.writers == 0 && c.execs == 0 {
		delete(writeAccess.files, k)
		return nil
	}
	if writeAccess.files == nil {
		writeAccess.files = make(map[fileKey]*accessCounts)
	}
	writeAccess.files[k] = c
	return nil
}

// CheckWriteAccess reports ETXTBSY if d's file is a program some process
// runs: open(2) with write access or O_TRUNC, truncate(2) and similar
// calls check before changing anything.
func CheckWriteAccess(d *Dentry) error {
	k, ok := regularKey(d)
	if !ok {
		return nil
	}
	writeAccess.mu.Lock()
	defer writeAccess.mu.Unlock()
	if c := writeAccess.files[k]; c != nil && c.execs > 0 {
		return unix.ETXTBSY
	}
	return nil
}

// holdWriteAccess counts a writable description of a regular file until
// it is released; NewFile calls it.
func (f *File) holdWriteAccess() {
	k, ok := regularKey(f.dentry)
	if !ok {
		return
	}
	_ = changeAccess(k, func(c *accessCounts) error {
		c.writers++
		return nil
	})
	f.OnRelease(writeAccessKey{}, func() {
		_ = changeAccess(k, func(c *accessCounts) error {
			c.writers--
			return nil
		})
	})
}

// writeAccessKey and denyWriteKey name the release hooks of the counts.
type (
	writeAccessKey struct{}
	denyWriteKey   struct{}
)

// DenyWriteAccess marks f's file as a program a process runs, until f is
// released (execve calls it on the program it loads; the mappings of the
// program keep f): opening it for writing fails with ETXTBSY from then
// on. It fails with ETXTBSY if the file is open for writing.
func (f *File) DenyWriteAccess() error {
	k, ok := regularKey(f.dentry)
	if !ok {
		return nil
	}
	err := changeAccess(k, func(c *accessCounts) error {
		if c.writers > 0 {
			return unix.ETXTBSY
		}
		c.execs++
		return nil
	})
	if err != nil {
		return err
	}
	f.OnRelease(denyWriteKey{}, func() {
		_ = changeAccess(k, func(c *accessCounts) error {
			c.execs--
			return nil
		})
	})
	return nil
}
