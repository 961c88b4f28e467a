package kernel

import (
	"sync"

	"github.com/cocoonrt/cocoon/sentry/fs/pipe"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// fifoKey identifies a FIFO inode across its names and lookups.
type fifoKey struct{ dev, ino uint64 }

// fifoTable holds the pipe of every named FIFO that was opened. Entries
// are small and live as long as the sandbox (a removed FIFO's entry is
// not reclaimed; inode numbers of a file system are not reused while the
// sandbox holds its gofer FIDs).
type fifoTable struct {
	// mu protects fifos.
	mu    sync.Mutex
	fifos map[fifoKey]*pipe.FIFO
}

// FIFO returns the pipe of the FIFO inode of d, creating it on first use.
func (k *Kernel) FIFO(d *vfs.Dentry) (*pipe.FIFO, error) {
	st, err := d.Inode().Stat()
	if err != nil {
		return nil, err
	}
	key := fifoKey{st.Dev, st.Ino}
	k.fifos.mu.Lock()
	defer k.fifos.mu.Unlock()
	if f, ok := k.fifos.fifos[key]; ok {
		return f, nil
	}
	if k.fifos.fifos == nil {
		k.fifos.fifos = make(map[fifoKey]*pipe.FIFO)
	}
	inode := d.Inode()
	f := pipe.NewFIFO(inode.Stat)
	k.fifos.fifos[key] = f
	return f, nil
}
