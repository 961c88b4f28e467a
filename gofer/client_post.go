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
// of every file it writes), which then cost no round trip of their own.
//
// Order: the gofer serves a connection's requests one after the other, so
// while a posted reply is unread every exchange of the session runs on
// the posted request's connection (Client.postedConn). Whatever the
// sandbox asks the gofer afterwards is answered with the change made.
// Only what bypasses the gofer (I/O through a donated descriptor) has to
// Await the change first.

// maxPosted bounds the unread replies of a connection: each one sits in
// the socket's buffer, and a gofer that cannot send a reply stops reading
// requests, so a client that only posted would eventually block on a send
// that nothing drains.
const maxPosted = 16

// Posted is a request sent with a Post method. Its result is set once its
// reply is read.
type Posted struct {
	op  op
	tag uint32
	// st and err are the result, valid once done is set.
	st   Stat
	err  error
	done atomic.Bool
}

// PostSetAttr sends SetAttr without waiting for its reply. A session that
// is broken already, or breaks while sending, returns a Posted that is
// done with the error.
func (c *Client) PostSetAttr(f FID, a SetAttrArgs) *Posted {
	x := c.get()
	defer c.put(x)
	p := &Posted{op: opSetAttr}
	if len(x.posted) >= maxPosted {
		if err := x.drainPosted(); err != nil {
			p.finish(Stat{}, err)
			return p
		}
	}
	x.beginSetAttr(f, a)
	p.tag = x.lastTag
	if err := x.sendPosted(p); err != nil {
		p.finish(Stat{}, err)
		return p
	}
	return p
}

// sendPosted sends the request in x.out and records p as awaiting its
// reply on x.
func (x *clientConn) sendPosted(p *Posted) error {
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
	if err := x.conn.send(x.out.buf, -1); err != nil {
		return x.fail(fmt.Errorf("gofer: send posted %v request: %v", p.op, err))
	}
	x.posted = append(x.posted, p)
	c.poolMu.Lock()
	c.postedConn = x
	c.poolMu.Unlock()
	return nil
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
}

// drainPosted reads the replies of x's posted requests. A reply the gofer
// refused completes its request with the errno; a broken session
// completes every one with the session's error, which it returns.
func (x *clientConn) drainPosted() error {
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
