package gofer

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrClientShutdown is returned by calls made after, or interrupted by,
// Client.Shutdown.
var ErrClientShutdown = errors.New("gofer: client shut down")

// MaxClientConns is the most connections a Client opens to its gofer
// (the one it was made with included): calls of several threads run on
// different connections at once, up to this many.
const MaxClientConns = 8

// Client is the sentry's end of a gofer session. It is safe for concurrent
// use by several goroutines.
//
// A session starts as one connection. One exchange (request and reply)
// runs on a connection at a time; when callers have to wait for one, the
// client asks the gofer for another (Connect) up to MaxClientConns, so
// that threads of the sandbox do not queue behind each other's requests.
// FIDs belong to the session: any of its connections may use any of them.
//
// Errors: a failure the server reports is returned as a bare unix.Errno, so
// callers compare with == or errors.Is and hand it to the application. Any
// other error means the session is broken (the gofer died, or sent
// something malformed); every later call returns the same error.
type Client struct {
	// shutdown is set by Shutdown, so that calls fail fast afterwards.
	shutdown atomic.Bool

	// poolMu protects conns, free, waiters, growing, broken and
	// postedConn.
	poolMu sync.Mutex
	// idle is signalled when a connection goes back to free or the
	// session breaks.
	idle *sync.Cond
	// conns is every connection of the session, for Shutdown.
	conns []*clientConn
	// free holds the connections no exchange is using.
	free []*clientConn
	// waiters counts callers waiting for a free connection.
	waiters int
	// growing is set while a caller asks the gofer for a connection.
	growing bool
	// connectRefused is set once the gofer refused Connect (an older
	// gofer, or its limit): the session stays at the connections it has.
	connectRefused bool
	// broken is the error that made the session unusable, or nil.
	broken error
	// postedConn is the connection holding posted requests whose
	// replies are not read yet, nil when there is none: every exchange
	// runs on it until they are read (client_post.go).
	postedConn *clientConn

	// lastClientFID counts the FIDs NewFID chose.
	lastClientFID atomic.Uint64

	// flushing says the goroutine that sends posted requests left
	// waiting in a buffer runs (client_post.go). Protected by poolMu.
	flushing bool
	// unsent counts the posted requests waiting in buffers.
	unsent atomic.Int32
}

// clientConn is one connection of a session, with the buffers of the
// exchange running on it. Everything in it belongs to the caller that
// took it from Client.free.
type clientConn struct {
	cl   *Client     // immutable
	conn *packetConn // immutable
	// lastTag is the tag of the last request sent.
	lastTag uint32
	// out and in are the request and reply packet buffers.
	out encoder
	in  []byte
	// oob receives the control data of a reply.
	oob []byte
	// posted are the requests posted on this connection whose replies
	// are not read yet, oldest first (client_post.go); the last ones
	// may not be sent yet: unsent holds those packets, one after the
	// other, and unsentLens their lengths.
	posted     []*Posted
	unsent     []byte
	unsentLens []int
}

// NewClient returns a client on fd, a connected SOCK_SEQPACKET socket whose
// other end is served by Serve. It takes ownership of fd, also on error.
func NewClient(fd int) (*Client, error) {
	conn, err := newPacketConn(fd)
	if err != nil {
		return nil, err
	}
	c := &Client{}
	c.idle = sync.NewCond(&c.poolMu)
	x := c.newConn(conn)
	c.conns = []*clientConn{x}
	c.free = []*clientConn{x}
	return c, nil
}

func (c *Client) newConn(conn *packetConn) *clientConn {
	return &clientConn{
		cl:   c,
		conn: conn,
		out:  encoder{buf: make([]byte, 0, maxMessageSize)},
		in:   make([]byte, maxMessageSize),
		// Room for exactly one descriptor: if a (broken) server sent more,
		// the kernel closes the excess rather than installing it.
		oob: make([]byte, unix.CmsgSpace(4)),
	}
}

// get takes a free connection for one caller's exchange, waiting for one
// if all are busy.
func (c *Client) get() *clientConn {
	c.poolMu.Lock()
	defer c.poolMu.Unlock()
	for {
		if p := c.postedConn; p != nil {
			// Later requests queue behind the posted ones, so the
			// gofer makes them in the order they were sent. Waiting
			// for the busy one does not grow the session: its
			// exchange reads the posted replies and frees it.
			if i := slices.Index(c.free, p); i >= 0 {
				c.free = slices.Delete(c.free, i, i+1)
				return p
			}
			c.idle.Wait()
			continue
		}
		if n := len(c.free); n > 0 {
			x := c.free[n-1]
			c.free = c.free[:n-1]
			return x
		}
		c.waiters++
		c.idle.Wait()
		c.waiters--
	}
}

// put gives x back after an exchange. If callers waited for a connection
// meanwhile, the session grows by one first, through x: asking while
// holding x costs this caller one more exchange, once per connection the
// session ever opens, and needs no connection that is not there.
func (c *Client) put(x *clientConn) {
	c.poolMu.Lock()
	grow := c.waiters > 0 && !c.growing && !c.connectRefused && c.broken == nil &&
		len(c.conns) < MaxClientConns && !c.shutdown.Load()
	if grow {
		c.growing = true
	}
	c.poolMu.Unlock()
	var added *clientConn
	if grow {
		fd, err := x.connect()
		if err == nil {
			added = c.newConn(newPacketConnChecked(fd))
		}
		c.poolMu.Lock()
		c.growing = false
		switch {
		case added != nil && c.shutdown.Load():
			// Shutdown did not see it: close it here.
			_ = added.conn.close()
			added = nil
		case added != nil:
			c.conns = append(c.conns, added)
			c.free = append(c.free, added)
		case err == unix.EMFILE || err == unix.EINVAL || err == unix.ENOSYS:
			c.connectRefused = true
		}
		c.poolMu.Unlock()
	}
	c.poolMu.Lock()
	if len(x.posted) == 0 && c.postedConn == x {
		c.postedConn = nil
	}
	c.free = append(c.free, x)
	c.poolMu.Unlock()
	c.idle.Broadcast()
}

// connect asks the gofer for a new connection of the session and returns
// its descriptor.
func (x *clientConn) connect() (int, error) {
	x.begin(opConnect)
	rep, err := x.roundTrip(opConnect, true)
	if err != nil {
		return -1, err
	}
	if rep.errno != 0 {
		return -1, rep.errno
	}
	fd, err := x.takeReplyFD(opConnect, &rep)
	if err != nil {
		return -1, err
	}
	// Received close-on-exec; exchanges block in recvmsg (conn.go).
	if err := unix.SetNonblock(fd, false); err != nil {
		closeFD(fd)
		return -1, err
	}
	return fd, nil
}

// Conns returns how many connections the session has open.
func (c *Client) Conns() int {
	c.poolMu.Lock()
	defer c.poolMu.Unlock()
	return len(c.conns)
}

// Shutdown closes the session. Calls in flight and later calls fail with
// ErrClientShutdown; the server sees the hang-up and releases every FID.
func (c *Client) Shutdown() error {
	if c.shutdown.Load() {
		return nil
	}
	c.settlePosted()
	if c.shutdown.Swap(true) {
		return nil
	}
	c.poolMu.Lock()
	conns := c.conns
	c.poolMu.Unlock()
	var first error
	// The first connection last: the gofer ends the session when it
	// goes, and the others are then closed by the gofer in any case.
	for i := len(conns) - 1; i >= 0; i-- {
		if err := conns[i].conn.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// reply is a decoded reply header plus its undecoded results.
type reply struct {
	results decoder
	errno   unix.Errno
	// fd is the descriptor that came with the reply, or -1.
	fd int
}

// begin starts a request of the given op in x.out and returns the encoder
// to append its arguments to.
func (x *clientConn) begin(o op) *encoder {
	x.lastTag++
	x.out.buf = x.out.buf[:0]
	x.out.requestHeader(x.lastTag, o)
	return &x.out
}

// roundTrip sends the request in x.out and waits for its reply. The reply's
// results point into x.in, so they must be decoded before x is put back.
// A received descriptor is returned only when wantFD is set and the reply
// succeeded; any other is closed.
//
// Preconditions: begin was called.
func (x *clientConn) roundTrip(o op, wantFD bool) (reply, error) {
	c := x.cl
	c.poolMu.Lock()
	broken := c.broken
	c.poolMu.Unlock()
	if broken != nil {
		return reply{}, broken
	}
	if c.shutdown.Load() {
		return reply{}, ErrClientShutdown
	}
	// Requests posted before this one go first.
	if err := x.flushUnsent(); err != nil {
		return reply{}, err
	}
	if err := x.conn.send(x.out.buf, -1); err != nil {
		return reply{}, x.fail(fmt.Errorf("gofer: send %v request: %v", o, err))
	}
	// The replies of requests posted before this one come first.
	if err := x.drainPosted(); err != nil {
		return reply{}, err
	}
	return x.receive(o, x.lastTag, wantFD)
}

// receive reads the reply of the request of op o and tag tag.
func (x *clientConn) receive(o op, tag uint32, wantFD bool) (reply, error) {
	n, oobn, truncated, err := x.conn.recv(x.in, x.oob)
	if err != nil {
		return reply{}, x.fail(fmt.Errorf("gofer: receive %v reply: %v", o, err))
	}
	fd, fdErr := takeFD(x.oob[:oobn])
	if n == 0 {
		closeFD(fd)
		return reply{}, x.fail(fmt.Errorf("gofer: connection closed by gofer during %v", o))
	}
	if fdErr != nil || truncated {
		closeFD(fd)
		return reply{}, x.fail(fmt.Errorf("gofer: malformed %v reply (truncated or bad control data)", o))
	}
	d := decoder{buf: x.in[:n]}
	replyTag := d.u32()
	replyOp := op(d.u16())
	_ = d.u16() // reserved
	errno := unix.Errno(d.u32())
	if d.failed || replyTag != tag || replyOp != o {
		closeFD(fd)
		return reply{}, x.fail(fmt.Errorf("gofer: %v reply does not match its request (tag %d op %v, want tag %d)",
			o, replyTag, replyOp, tag))
	}
	if fd >= 0 && (!wantFD || errno != 0) {
		closeFD(fd)
		fd = -1
	}
	return reply{results: d, errno: errno, fd: fd}, nil
}

// fail records err as the reason the session is unusable and returns
// the error to report: ErrClientShutdown when Shutdown caused the failure.
func (x *clientConn) fail(err error) error {
	c := x.cl
	if c.shutdown.Load() {
		err = ErrClientShutdown
	}
	c.poolMu.Lock()
	if c.broken == nil {
		c.broken = err
	}
	err = c.broken
	c.poolMu.Unlock()
	return err
}

// malformed reports a reply whose results did not decode.
func (x *clientConn) malformed(o op) error {
	return x.fail(fmt.Errorf("gofer: malformed %v reply", o))
}

// takeReplyFD returns the descriptor a successful reply of o carried, once
// its results are all decoded: a reply with results left over, results
// that did not decode, or no descriptor is malformed, and the descriptor
// it may still hold is closed rather than leaked.
//
// Preconditions: rep.errno is 0; the caller decoded every result.
func (x *clientConn) takeReplyFD(o op, rep *reply) (int, error) {
	if !rep.results.ok() || rep.fd < 0 {
		closeFD(rep.fd)
		rep.fd = -1
		return -1, x.malformed(o)
	}
	return rep.fd, nil
}

// takeFD returns the single SCM_RIGHTS descriptor in oob, or -1 when there
// is none. More than one descriptor is an error, and all of them are closed.
func takeFD(oob []byte) (int, error) {
	if len(oob) == 0 {
		return -1, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, err
	}
	var fds []int
	for i := range msgs {
		// Messages other than SCM_RIGHTS carry no descriptors to leak.
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	switch len(fds) {
	case 0:
		return -1, nil
	case 1:
		return fds[0], nil
	}
	for _, fd := range fds {
		closeFD(fd)
	}
	return -1, errors.New("more than one descriptor")
}

func closeFD(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}

// Root attaches to the server's default tree (the one named "", else the
// first) and returns a FID for its root.
func (c *Client) Root() (FID, Stat, error) {
	x := c.get()
	defer c.put(x)
	x.begin(opRoot)
	return x.fidStatReply(opRoot)
}

// Attach attaches to the served tree called name and returns a FID for its
// root. An unknown name fails with ENOENT.
func (c *Client) Attach(name string) (FID, Stat, error) {
	if len(name) > MaxNameLen {
		return 0, Stat{}, unix.ENAMETOOLONG
	}
	x := c.get()
	defer c.put(x)
	x.begin(opAttach).str(name)
	return x.fidStatReply(opAttach)
}

// fidStatReply sends the request in x.out and decodes a reply of a FID and
// a Stat.
//
// Preconditions: x is this caller's; begin was called.
func (x *clientConn) fidStatReply(o op) (FID, Stat, error) {
	rep, err := x.roundTrip(o, false)
	if err != nil {
		return 0, Stat{}, err
	}
	if rep.errno != 0 {
		return 0, Stat{}, rep.errno
	}
	fid := FID(rep.results.u64())
	st := rep.results.stat()
	if !rep.results.ok() {
		return 0, Stat{}, x.malformed(o)
	}
	return fid, st, nil
}

// Walk walks names from the directory dir, one component each, and returns
// a new FID and Stat per component walked. It never follows a symlink and
// stops after one, returning it with a nil error, so fewer results than names
// with a nil error means the last result is a symlink to resolve. On the
// first component that fails it returns the results before it and that
// component's errno. The caller owns every returned FID, also on error.
func (c *Client) Walk(dir FID, names []string) ([]FID, []Stat, error) {
	if len(names) > MaxWalkNames {
		return nil, nil, unix.EINVAL
	}
	for _, name := range names {
		if len(name) > MaxNameLen {
			// The server would refuse it the same way; failing here keeps
			// the request within its size bound.
			return nil, nil, unix.ENAMETOOLONG
		}
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opWalk)
	e.u64(uint64(dir))
	e.u16(uint16(len(names)))
	for _, name := range names {
		e.str(name)
	}
	rep, err := x.roundTrip(opWalk, false)
	if err != nil {
		return nil, nil, err
	}
	if rep.errno != 0 && rep.results.remaining() == 0 {
		// Failed before walking anything (bad FID, malformed request).
		return nil, nil, rep.errno
	}
	count := int(rep.results.u16())
	if rep.results.failed || count > len(names) || count*(8+statWireSize) != rep.results.remaining() {
		return nil, nil, x.malformed(opWalk)
	}
	fids := make([]FID, count)
	stats := make([]Stat, count)
	for i := range count {
		fids[i] = FID(rep.results.u64())
		stats[i] = rep.results.stat()
	}
	if rep.errno != 0 {
		return fids, stats, rep.errno
	}
	return fids, stats, nil
}

// Stat returns the metadata of f's file.
func (c *Client) Stat(f FID) (Stat, error) {
	x := c.get()
	defer c.put(x)
	x.begin(opStat).u64(uint64(f))
	rep, err := x.roundTrip(opStat, false)
	if err != nil {
		return Stat{}, err
	}
	if rep.errno != 0 {
		return Stat{}, rep.errno
	}
	st := rep.results.stat()
	if !rep.results.ok() {
		return Stat{}, x.malformed(opStat)
	}
	return st, nil
}

// Open opens f's file (a regular file or directory) and returns a host
// descriptor for it, close-on-exec, which the caller owns. flags is an access
// mode optionally with O_DIRECTORY, O_NOFOLLOW and O_NONBLOCK, and on a
// read-write tree O_APPEND and, with write access, O_TRUNC. Directories open
// O_RDONLY only.
func (c *Client) Open(f FID, flags int) (hostFD int, err error) {
	if flags < 0 || int64(flags) > math.MaxUint32 {
		return -1, unix.EINVAL
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opOpen)
	e.u64(uint64(f))
	e.u32(uint32(flags))
	rep, err := x.roundTrip(opOpen, true)
	if err != nil {
		return -1, err
	}
	if rep.errno != 0 {
		return -1, rep.errno
	}
	return x.takeReplyFD(opOpen, &rep)
}

// Getdents returns entries of the directory dir starting at off (0 for the
// start, else the Off of the last entry received), fitting in maxBytes. It
// returns an empty slice at the end of the directory.
func (c *Client) Getdents(dir FID, off uint64, maxBytes int) ([]Dirent, error) {
	if maxBytes <= 0 || maxBytes > MaxGetdentsBytes {
		return nil, unix.EINVAL
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opGetdents)
	e.u64(uint64(dir))
	e.u64(off)
	e.u32(uint32(maxBytes))
	rep, err := x.roundTrip(opGetdents, false)
	if err != nil {
		return nil, err
	}
	if rep.errno != 0 {
		return nil, rep.errno
	}
	count := int(rep.results.u32())
	// Each entry takes at least its fixed header; checking that first keeps
	// a bogus count from sizing the allocation.
	if rep.results.failed || count > rep.results.remaining()/direntHeaderSize {
		return nil, x.malformed(opGetdents)
	}
	dirents := make([]Dirent, count)
	for i := range dirents {
		d := &dirents[i]
		d.Ino = rep.results.u64()
		d.Off = rep.results.u64()
		d.Type = rep.results.u8()
		d.Name = string(rep.results.strBytes())
	}
	if !rep.results.ok() {
		return nil, x.malformed(opGetdents)
	}
	return dirents, nil
}

// Readlink returns the target of the symlink f.
func (c *Client) Readlink(f FID) (string, error) {
	x := c.get()
	defer c.put(x)
	x.begin(opReadlink).u64(uint64(f))
	rep, err := x.roundTrip(opReadlink, false)
	if err != nil {
		return "", err
	}
	if rep.errno != 0 {
		return "", rep.errno
	}
	target := string(rep.results.strBytes())
	if !rep.results.ok() {
		return "", x.malformed(opReadlink)
	}
	return target, nil
}

// StatFS returns the statistics of the file system holding f's file.
func (c *Client) StatFS(f FID) (StatFS, error) {
	x := c.get()
	defer c.put(x)
	x.begin(opStatFS).u64(uint64(f))
	rep, err := x.roundTrip(opStatFS, false)
	if err != nil {
		return StatFS{}, err
	}
	if rep.errno != 0 {
		return StatFS{}, rep.errno
	}
	st := rep.results.statFS()
	if !rep.results.ok() {
		return StatFS{}, x.malformed(opStatFS)
	}
	return st, nil
}

// Close releases fids. Every known FID is released even when some are
// unknown, which makes it return EBADF.
func (c *Client) Close(fids ...FID) error {
	x := c.get()
	defer c.put(x)
	var firstErr error
	for len(fids) > 0 {
		batch := fids[:min(len(fids), maxCloseFIDs)]
		fids = fids[len(batch):]
		e := x.begin(opClose)
		e.u32(uint32(len(batch)))
		for _, f := range batch {
			e.u64(uint64(f))
		}
		rep, err := x.roundTrip(opClose, false)
		if err != nil {
			return err
		}
		if rep.errno != 0 && firstErr == nil {
			firstErr = rep.errno
		}
	}
	return firstErr
}
