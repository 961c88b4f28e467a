package kernel

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/pipe"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// fifoKey identifies a FIFO inode across its names and lookups.
type fifoKey struct{ dev, ino uint64 }

// fifoTable holds the pipe of every named FIFO that is open or being
// opened, by inode (a file's names, and the Inode objects lookups return
// for it, all meet in one pipe). An entry goes with the FIFO's last user,
// as Linux frees an inode's pipe with its last opener: a pod that makes
// and removes FIFOs keeps none of them, and a later FIFO that gets a
// removed one's inode number gets a pipe of its own.
type fifoTable struct {
	// mu protects fifos. Lock order: mu, then a FIFO's own.
	mu    sync.Mutex
	fifos map[fifoKey]*pipe.FIFO
}

// OpenFIFO opens the FIFO inode of d, as fifo(7) says (a reader waits
// for a writer, and a writer for a reader, through block).
func (k *Kernel) OpenFIFO(d *vfs.Dentry, flags int, block func(<-chan struct{}) error) (vfs.FileImpl, error) {
	inode := d.Inode()
	st, err := inode.Stat()
	if err != nil {
		return nil, err
	}
	return k.fifos.hold(fifoKey{st.Dev, st.Ino}, inode.Stat).Open(flags, block)
}

// hold returns the FIFO of key, made on first use, with a user taken for
// the open to come: the entry cannot go before that open ends.
func (t *fifoTable) hold(key fifoKey, stat func() (unix.Stat_t, error)) *pipe.FIFO {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.fifos[key]
	if !ok {
		if t.fifos == nil {
			t.fifos = make(map[fifoKey]*pipe.FIFO)
		}
		f = pipe.NewFIFO(stat, func() { t.dropIdle(key, f) })
		t.fifos[key] = f
	}
	f.Hold()
	return f
}

// dropIdle forgets f, the FIFO of key, unless a new user came since it
// went idle.
func (t *fifoTable) dropIdle(key fifoKey, f *pipe.FIFO) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fifos[key] == f && f.Idle() {
		delete(t.fifos, key)
	}
}
