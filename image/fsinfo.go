package image

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// FsInfo reports the disk use of the image file system (Root: blobs
// and snapshots) and of the container file system (Root/containers:
// writable layers).
//
// Image use comes from the store's own accounting, without a walk: blob
// sizes from one directory listing, snapshot sizes and entry counts as
// recorded when they were unpacked (file data bytes, not blocks).
// Container use is a du-like walk of containers/, costing one lstat per
// file the containers wrote.
func (s *Store) FsInfo(ctx context.Context) (images, containers []FsUsage, err error) {
	now := time.Now()
	blobs, err := s.blobs.list()
	if err != nil {
		return nil, nil, err
	}
	var used, inodes uint64
	for _, size := range blobs {
		used += uint64(size)
		inodes++
	}
	recs, err := s.meta.snapshots()
	if err != nil {
		return nil, nil, err
	}
	ents, err := os.ReadDir(filepath.Join(s.root, "snapshots"))
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if !anchoredHex.MatchString(e.Name()) {
			continue
		}
		inodes++
		if r, ok := recs["sha256:"+e.Name()]; ok {
			used += uint64(r.Size)
			inodes += uint64(r.Entries)
			continue
		}
		size, n := duDir(filepath.Join(s.root, "snapshots", e.Name()))
		used += uint64(size)
		inodes += uint64(n)
	}
	if fi, err := os.Stat(filepath.Join(s.root, "meta.db")); err == nil {
		used += uint64(fi.Size())
		inodes++
	}
	images = []FsUsage{{Mountpoint: s.root, UsedBytes: used, InodesUsed: inodes, Timestamp: now}}

	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	cdir := filepath.Join(s.root, "containers")
	csize, cn := duDir(cdir)
	containers = []FsUsage{{Mountpoint: cdir, UsedBytes: uint64(csize), InodesUsed: uint64(cn), Timestamp: now}}
	return images, containers, nil
}
