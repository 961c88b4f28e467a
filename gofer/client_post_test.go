package gofer

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A posted SetAttr is made before every request sent after it, from any
// goroutine and whichever connection it would have taken, and its result
// is read by the next exchange.
func TestPostedSetAttrIsMadeBeforeLaterRequests(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	path := filepath.Join(root, "file.txt")
	// Give the session several connections first.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := c.Stat(rootFID); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for mode := uint32(0o600); mode < 0o640; mode++ {
		p := c.PostSetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: mode})
		var got [4]Stat
		var errs [4]error
		for g := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[g], errs[g] = c.Stat(fileFID)
			}()
		}
		wg.Wait()
		for g := range got {
			if errs[g] != nil || got[g].Mode != unix.S_IFREG|mode {
				t.Fatalf("Stat after posting mode %#o: %#o, %v", mode, got[g].Mode, errs[g])
			}
		}
		if !p.Done() {
			t.Fatalf("posted SetAttr of mode %#o not read by the exchanges after it", mode)
		}
		if st, err := c.Await(p); err != nil || st.Mode != unix.S_IFREG|mode {
			t.Fatalf("Await: mode %#o, %v; want %#o", st.Mode, err, unix.S_IFREG|mode)
		}
	}
	if st := lstat(t, path); st.Mode != unix.S_IFREG|0o637 {
		t.Errorf("host mode %#o, want %#o", st.Mode, unix.S_IFREG|0o637)
	}
}

// Posting without any other exchange reads replies as it goes, so the
// socket's buffer never fills; Await reads the rest; a refused request
// reports its errno and leaves the session working.
func TestPostedRepliesAreReadAsTheyPileUp(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	var posted []*Posted
	for i := range 20 * maxPosted {
		posted = append(posted, c.PostSetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o600 | uint32(i%8)}))
	}
	if !posted[0].Done() {
		t.Errorf("the first of %d posted requests was never read", len(posted))
	}
	last := posted[len(posted)-1]
	if st, err := c.Await(last); err != nil || st.Mode != unix.S_IFREG|0o607 {
		t.Fatalf("Await of the last: %#o, %v", st.Mode, err)
	}
	for i, p := range posted {
		if !p.Done() {
			t.Fatalf("posted request %d not read after Await of the last", i)
		}
	}
	bad := c.PostSetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_SIZE, Size: 1 << 63})
	if _, err := c.Await(bad); err != unix.EINVAL {
		t.Errorf("Await of a refused SetAttr: %v, want EINVAL", err)
	}
	if _, err := c.Stat(fileFID); err != nil {
		t.Errorf("Stat after a refused posted request: %v", err)
	}
}

// A session that broke completes posted requests with its error.
func TestPostedRequestOfBrokenSession(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	p := c.PostSetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o600})
	if !p.Done() {
		t.Fatal("a request posted on a closed session is not done")
	}
	if _, err := c.Await(p); err != ErrClientShutdown {
		t.Errorf("Await on a closed session: %v, want ErrClientShutdown", err)
	}
}

// Shutdown waits for posted replies only so long: a gofer that never
// answers does not hold the session's end up.
func TestShutdownDoesNotWaitForeverForPostedReplies(t *testing.T) {
	old := settleTimeout
	settleTimeout = 100 * time.Millisecond
	t.Cleanup(func() { settleTimeout = old })
	server, client := socketPair(t)
	defer unix.Close(server)
	c, err := NewClient(client)
	if err != nil {
		t.Fatal(err)
	}
	p := c.PostSetAttr(1, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o600})
	done := make(chan struct{})
	go func() {
		c.Shutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown still waits for a reply that never comes")
	}
	if _, err := c.Await(p); err == nil {
		t.Error("a posted request the gofer never answered succeeded")
	}
}

// A posted request reaches the gofer without any later exchange: the
// flusher sends what waits in a buffer, and ends once nothing does.
func TestPostedRequestIsSentWithoutAnotherExchange(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	c.PostSetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o611})
	path := filepath.Join(root, "file.txt")
	deadline := time.Now().Add(10 * time.Second)
	for lstat(t, path).Mode != unix.S_IFREG|0o611 {
		if time.Now().After(deadline) {
			t.Fatalf("posted SetAttr not made after 10s without another exchange: mode %#o", lstat(t, path).Mode)
		}
		time.Sleep(time.Millisecond)
	}
	for {
		c.poolMu.Lock()
		running := c.flushing
		c.poolMu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flusher still runs with nothing to send")
		}
		time.Sleep(time.Millisecond)
	}
}
