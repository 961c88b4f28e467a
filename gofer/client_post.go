package gofer

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Posted requests.
//
// A posted request is sent without waiting for its reply: the caller goes
// on while the gofer makes the change, and the reply is read by the next
// exchange of the session, which follows it on the same connection, or
// by Await. The sentry posts the attribute changes it deferred to a
// file's last close (an archive extractor's futimens, fchown and fchmod
// of every file it writes), which then cost no round trip of their own,
// and the creation and contents of the new files of the container's root
// (CreateHeld and FinishHeld).
//
// Order: the gofer serves a connection's requests one after the other, so
// while a posted reply is unread every exchange of the session runs on
// the posted request's connection (Client.postedConn). Whatever the
// sandbox asks the gofer afterwards is answered with the change made.
// Only what bypasses the gofer (I/O through a donated descriptor) has to
// Await the change first.
//
// Batching: a posted request is not sent at once but kept in its
// connection's buffer until flushAt of them are waiting, an exchange or
// Await needs the connection, or the flusher, a goroutine that runs while
// requests are posted, finds them there (it looks every flushDelay), and
// then they all go in one sendmmsg. Each send that finds the gofer asleep
// wakes it, and on a virtual machine a wake-up of another CPU costs tens
// of microseconds to both sides: an extractor posting two requests a file
// otherwise paid for two wake-ups a file. (A timer armed for each batch
// cost a wake-up of its own, the runtime's poller's.) Order is unchanged
// (the buffer goes before anything else on the connection), and so is
// what Await and the exchanges see.

// maxPosted bounds the unread replies of a connection: each one sits in
// the socket's buffer, and a gofer that cannot send a reply stops reading
// requests, so a client that only posted would eventually block on a send
// that nothing drains.
const maxPosted = 32

// flushAt is how many posted requests wait in a connection's buffer before
// they are sent. flushDelay is how often the flusher looks for requests
// left waiting, and flusherIdleRounds how many times in a row it finds
// none posted before it ends.
const (
	flushAt           = 16
	flushDelay        = time.Millisecond
	flusherIdleRounds = 8
)

// Posted is a request sent with a Post method. Its result is set once its
// reply is read.
type Posted struct {
	op  op
	tag uint32
	// failed, when not nil, is called with the error once the request
	// failed.
	failed func(error)
	// st and err are the result, valid once done is set.
	st   Stat
	err  error
	done atomic.Bool
}

// PostSetAttr sends SetAttr without waiting for its reply. A session that
// is broken already, or breaks while sending, returns a Posted that is
// done with the error.
func (c *Client) PostSetAttr(f FID, a SetAttrArgs) *Posted {
	return c.post(&Posted{op: opSetAttr}, func(x *clientConn) { x.beginSetAttr(f, a) })
}

// post queues the request begin writes in a connection's buffer as p,
// sent without waiting for its reply (see Batching above).
func (c *Client) post(p *Posted, begin func(x *clientConn)) *Posted {
	x := c.get()
	defer c.put(x)
	if len(x.posted) >= maxPosted {
		if err := x.drainPosted(); err != nil {
			p.finish(Stat{}, err)
			return p
		}
	}
	begin(x)
	p.tag = x.lastTag
	if err := x.queuePosted(p); err != nil {
		p.finish(Stat{}, err)
	}
	return p
}

// queuePosted adds the request in x.out to x's unsent ones as p, and sends
// them all if there are flushAt of them.
func (x *clientConn) queuePosted(p *Posted) error {
	c := x.cl
	c.poolMu.Lock()
	broken := c.broken
	c.poolMu.Unlock()
	if broken != nil {
		return broken
	}
	if c.shutdown.Load() {
		return ErrClientShutdown
	}
	x.unsent = append(x.unsent, x.out.buf...)
	x.unsentLens = append(x.unsentLens, len(x.out.buf))
	c.unsent.Add(1)
	x.posted = append(x.posted, p)
	c.poolMu.Lock()
	c.postedConn = x
	start := !c.flushing
	c.flushing = true
	c.poolMu.Unlock()
	if start {
		go c.flusher()
	}
	if len(x.unsentLens) >= flushAt {
		return x.flushUnsent()
	}
	return nil
}

// flushUnsent sends x's unsent posted requests. A failure breaks the
// session and completes every posted request of x with its error.
func (x *clientConn) flushUnsent() error {
	if len(x.unsentLens) == 0 {
		return nil
	}
	err := x.conn.sendBatch(x.unsent, x.unsentLens)
	x.cl.unsent.Add(-int32(len(x.unsentLens)))
	x.unsent, x.unsentLens = x.unsent[:0], x.unsentLens[:0]
	if err != nil {
		err = x.fail(fmt.Errorf("gofer: send posted requests: %v", err))
		x.failPosted(err)
		return err
	}
	return nil
}

// flusher sends the posted requests left waiting in a buffer, looking
// every flushDelay, until it found none waiting flusherIdleRounds times in
// a row.
func (c *Client) flusher() {
	for idle := 0; ; {
		time.Sleep(flushDelay)
		c.poolMu.Lock()
		x := c.postedConn
		if x == nil || c.unsent.Load() == 0 || c.shutdown.Load() || c.broken != nil {
			idle++
			if idle >= flusherIdleRounds || c.shutdown.Load() || c.broken != nil {
				c.flushing = false
				c.poolMu.Unlock()
				return
			}
			c.poolMu.Unlock()
			continue
		}
		idle = 0
		// Taken only when free: a busy connection's exchange sends
		// them itself.
		i := slices.Index(c.free, x)
		if i < 0 {
			c.poolMu.Unlock()
			continue
		}
		c.free = slices.Delete(c.free, i, i+1)
		c.poolMu.Unlock()
		_ = x.flushUnsent()
		c.put(x)
	}
}

// Done reports whether p's reply was read.
func (p *Posted) Done() bool { return p.done.Load() }

// Await returns p's result, reading its reply first if no exchange has.
func (c *Client) Await(p *Posted) (Stat, error) {
	if !p.done.Load() {
		// Unread, p is on the posted connection, which get returns.
		x := c.get()
		if !p.done.Load() {
			_ = x.drainPosted()
		}
		c.put(x)
	}
	return p.st, p.err
}

func (p *Posted) finish(st Stat, err error) {
	p.st, p.err = st, err
	p.done.Store(true)
	if err != nil && p.failed != nil {
		p.failed(err)
	}
}

// drainPosted reads the replies of x's posted requests. A reply the gofer
// refused completes its request with the errno; a broken session
// completes every one with the session's error, which it returns.
func (x *clientConn) drainPosted() error {
	if err := x.flushUnsent(); err != nil {
		return err
	}
	for len(x.posted) > 0 {
		p := x.posted[0]
		rep, err := x.receive(p.op, p.tag, false)
		if err != nil {
			x.failPosted(err)
			return err
		}
		x.posted = x.posted[1:]
		switch {
		case rep.errno != 0:
			p.finish(Stat{}, rep.errno)
		default:
			st := rep.results.stat()
			if !rep.results.ok() {
				err := x.malformed(p.op)
				p.finish(Stat{}, err)
				x.failPosted(err)
				return err
			}
			p.finish(st, nil)
		}
	}
	x.posted = x.posted[:0]
	return nil
}

// failPosted completes every request still awaiting its reply on x with
// err, the session's.
func (x *clientConn) failPosted(err error) {
	for _, q := range x.posted {
		q.finish(Stat{}, err)
	}
	x.posted = x.posted[:0]
}

// settleTimeout bounds how long Shutdown waits for posted replies: a
// gofer stuck on a host file system must not hold the sandbox's exit up.
// A variable for tests.
var settleTimeout = 10 * time.Second

// settlePosted reads the posted replies before the session closes, so
// that the gofer has made every posted change when Shutdown returns,
// unless it takes longer than settleTimeout. The posted connection is
// left alone while an exchange runs on it.
func (c *Client) settlePosted() {
	c.poolMu.Lock()
	x := c.postedConn
	i := slices.Index(c.free, x)
	if x == nil || i < 0 {
		c.poolMu.Unlock()
		return
	}
	c.free = slices.Delete(c.free, i, i+1)
	c.poolMu.Unlock()
	// Closing the connection wakes the read.
	give := time.AfterFunc(settleTimeout, func() { _ = x.conn.close() })
	_ = x.drainPosted()
	give.Stop()
	c.put(x)
}

// Settle sends every posted request and reads every reply, so that the
// gofer has made all that was posted before it returns. It fails only if
// the session is broken; the posted requests' own errors are theirs.
func (c *Client) Settle() error {
	x := c.get()
	defer c.put(x)
	return x.drainPosted()
}
