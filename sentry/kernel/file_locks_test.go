package kernel

import (
	"runtime"
	"testing"
	"time"
)

// TestLockTableForgetsUnusedLocks: an inode's lock state is shared while
// something uses it, and it and its entry go once nothing does.
func TestLockTableForgetsUnusedLocks(t *testing.T) {
	var lt lockTable
	func() {
		key := fifoKey{1, 2}
		l := lt.forInode(key)
		if lt.forInode(key) != l {
			t.Fatal("two lock states for one inode")
		}
		if lt.forInode(fifoKey{1, 3}) == l {
			t.Fatal("two inodes share a lock state")
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		lt.mu.Lock()
		n := len(lt.locks)
		lt.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left after their lock states went unused", n)
		}
		time.Sleep(time.Millisecond)
	}
}
