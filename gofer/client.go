package gofer

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrClientShutdown is returned by calls made after, or interrupted by,
// Client.Shutdown.
var ErrClientShutdown = errors.New("gofer: client shut down")

// Client is the sentry's end of a gofer connection. It is safe for concurrent
// use by several goroutines.
//
// Errors: a failure the server reports is returned as a bare unix.Errno, so
// callers compare with == or errors.Is and hand it to the application. Any
// other error means the connection is broken (the gofer died, or sent
// something malformed); every later call returns the same error.
type Client struct {
	conn *packetConn // immutable

	// shutdown is set by Shutdown, so that calls fail fast afterwards.
	shutdown atomic.Bool

	// mu serializes whole exchanges: one request is in flight at a time, and
	// a caller holds mu from sending its request until it has decoded the
	// reply. This is simple and keeps replies trivially matched to requests;
	// the tag in every header leaves room to pipeline requests later without
	// changing the wire format.
	mu sync.Mutex
	// lastTag is the tag of the last request sent. Protected by mu.
	lastTag uint32
	// out and in are the request and reply packet buffers. Protected by mu.
	out encoder
	in  []byte
	// oob receives the control data of a reply. Protected by mu.
	oob []byte
	// broken is the error that made the connection unusable, or nil.
	// Protected by mu.
	broken error
}

// NewClient returns a client on fd, a connected SOCK_SEQPACKET socket whose
// other end is served by Serve. It takes ownership of fd, also on error.
func NewClient(fd int) (*Client, error) {
	conn, err := newPacketConn(fd)
	if err != nil {
		return nil, err
	}
	return &Client{
		conn: conn,
		out:  encoder{buf: make([]byte, 0, maxMessageSize)},
		in:   make([]byte, maxMessageSize),
		// Room for exactly one descriptor: if a (broken) server sent more,
		// the kernel closes the excess rather than installing it.
		oob: make([]byte, unix.CmsgSpace(4)),
	}, nil
}

// Shutdown closes the connection. Calls in flight and later calls fail with
// ErrClientShutdown; the server sees the hang-up and releases every FID.
func (c *Client) Shutdown() error {
	if c.shutdown.Swap(true) {
		return nil
	}
	return c.conn.close()
}

// reply is a decoded reply header plus its undecoded results.
type reply struct {
	results decoder
	errno   unix.Errno
	// fd is the descriptor that came with the reply, or -1.
	fd int
}

// begin starts a request of the given op in c.out and returns the encoder to
// append its arguments to.
//
// Preconditions: c.mu is held.
func (c *Client) begin(o op) *encoder {
	c.lastTag++
	c.out.buf = c.out.buf[:0]
	c.out.requestHeader(c.lastTag, o)
	return &c.out
}

// roundTrip sends the request in c.out and waits for its reply. The reply's
// results point into c.in, so they must be decoded before c.mu is released.
// A received descriptor is returned only when wantFD is set and the reply
// succeeded; any other is closed.
//
// Preconditions: c.mu is held; begin was called.
func (c *Client) roundTrip(o op, wantFD bool) (reply, error) {
	if c.broken != nil {
		return reply{}, c.broken
	}
	if c.shutdown.Load() {
		return reply{}, ErrClientShutdown
	}
	if err := c.conn.send(c.out.buf, -1); err != nil {
		return reply{}, c.fail(fmt.Errorf("gofer: send %v request: %v", o, err))
	}
	n, oobn, truncated, err := c.conn.recv(c.in, c.oob)
	if err != nil {
		return reply{}, c.fail(fmt.Errorf("gofer: receive %v reply: %v", o, err))
	}
	fd, fdErr := takeFD(c.oob[:oobn])
	if n == 0 {
		closeFD(fd)
		return reply{}, c.fail(fmt.Errorf("gofer: connection closed by gofer during %v", o))
	}
	if fdErr != nil || truncated {
		closeFD(fd)
		return reply{}, c.fail(fmt.Errorf("gofer: malformed %v reply (truncated or bad control data)", o))
	}
	d := decoder{buf: c.in[:n]}
	tag := d.u32()
	replyOp := op(d.u16())
	_ = d.u16() // reserved
	errno := unix.Errno(d.u32())
	if d.failed || tag != c.lastTag || replyOp != o {
		closeFD(fd)
		return reply{}, c.fail(fmt.Errorf("gofer: %v reply does not match its request (tag %d op %v, want tag %d)",
			o, tag, replyOp, c.lastTag))
	}
	if fd >= 0 && (!wantFD || errno != 0) {
		closeFD(fd)
		fd = -1
	}
	return reply{results: d, errno: errno, fd: fd}, nil
}

// fail records err as the reason the connection is unusable and returns
// the error to report: ErrClientShutdown when Shutdown caused the failure.
//
// Preconditions: c.mu is held.
func (c *Client) fail(err error) error {
	if c.shutdown.Load() {
		err = ErrClientShutdown
	}
	c.broken = err
	return err
}

// malformed reports a reply whose results did not decode.
//
// Preconditions: c.mu is held.
func (c *Client) malformed(o op) error {
	return c.fail(fmt.Errorf("gofer: malformed %v reply", o))
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
	c.mu.Lock()
	defer c.mu.Unlock()
	c.begin(opRoot)
	return c.fidStatReply(opRoot)
}

// Attach attaches to the served tree called name and returns a FID for its
// root. An unknown name fails with ENOENT.
func (c *Client) Attach(name string) (FID, Stat, error) {
	if len(name) > MaxNameLen {
		return 0, Stat{}, unix.ENAMETOOLONG
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.begin(opAttach).str(name)
	return c.fidStatReply(opAttach)
}

// fidStatReply sends the request in c.out and decodes a reply of a FID and
// a Stat.
//
// Preconditions: c.mu is held; begin was called.
func (c *Client) fidStatReply(o op) (FID, Stat, error) {
	rep, err := c.roundTrip(o, false)
	if err != nil {
		return 0, Stat{}, err
	}
	if rep.errno != 0 {
		return 0, Stat{}, rep.errno
	}
	fid := FID(rep.results.u64())
	st := rep.results.stat()
	if !rep.results.ok() {
		return 0, Stat{}, c.malformed(o)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.begin(opWalk)
	e.u64(uint64(dir))
	e.u16(uint16(len(names)))
	for _, name := range names {
		e.str(name)
	}
	rep, err := c.roundTrip(opWalk, false)
	if err != nil {
		return nil, nil, err
	}
	if rep.errno != 0 && rep.results.remaining() == 0 {
		// Failed before walking anything (bad FID, malformed request).
		return nil, nil, rep.errno
	}
	count := int(rep.results.u16())
	if rep.results.failed || count > len(names) || count*(8+statWireSize) != rep.results.remaining() {
		return nil, nil, c.malformed(opWalk)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	c.begin(opStat).u64(uint64(f))
	rep, err := c.roundTrip(opStat, false)
	if err != nil {
		return Stat{}, err
	}
	if rep.errno != 0 {
		return Stat{}, rep.errno
	}
	st := rep.results.stat()
	if !rep.results.ok() {
		return Stat{}, c.malformed(opStat)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.begin(opOpen)
	e.u64(uint64(f))
	e.u32(uint32(flags))
	rep, err := c.roundTrip(opOpen, true)
	if err != nil {
		return -1, err
	}
	if rep.errno != 0 {
		return -1, rep.errno
	}
	if !rep.results.ok() || rep.fd < 0 {
		closeFD(rep.fd)
		return -1, c.malformed(opOpen)
	}
	return rep.fd, nil
}

// Getdents returns entries of the directory dir starting at off (0 for the
// start, else the Off of the last entry received), fitting in maxBytes. It
// returns an empty slice at the end of the directory.
func (c *Client) Getdents(dir FID, off uint64, maxBytes int) ([]Dirent, error) {
	if maxBytes <= 0 || maxBytes > MaxGetdentsBytes {
		return nil, unix.EINVAL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.begin(opGetdents)
	e.u64(uint64(dir))
	e.u64(off)
	e.u32(uint32(maxBytes))
	rep, err := c.roundTrip(opGetdents, false)
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
		return nil, c.malformed(opGetdents)
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
		return nil, c.malformed(opGetdents)
	}
	return dirents, nil
}

// Readlink returns the target of the symlink f.
func (c *Client) Readlink(f FID) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.begin(opReadlink).u64(uint64(f))
	rep, err := c.roundTrip(opReadlink, false)
	if err != nil {
		return "", err
	}
	if rep.errno != 0 {
		return "", rep.errno
	}
	target := string(rep.results.strBytes())
	if !rep.results.ok() {
		return "", c.malformed(opReadlink)
	}
	return target, nil
}

// StatFS returns the statistics of the file system holding f's file.
func (c *Client) StatFS(f FID) (StatFS, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.begin(opStatFS).u64(uint64(f))
	rep, err := c.roundTrip(opStatFS, false)
	if err != nil {
		return StatFS{}, err
	}
	if rep.errno != 0 {
		return StatFS{}, rep.errno
	}
	st := rep.results.statFS()
	if !rep.results.ok() {
		return StatFS{}, c.malformed(opStatFS)
	}
	return st, nil
}

// Close releases fids. Every known FID is released even when some are
// unknown, which makes it return EBADF.
func (c *Client) Close(fids ...FID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var firstErr error
	for len(fids) > 0 {
		batch := fids[:min(len(fids), maxCloseFIDs)]
		fids = fids[len(batch):]
		e := c.begin(opClose)
		e.u32(uint32(len(batch)))
		for _, f := range batch {
			e.u64(uint64(f))
		}
		rep, err := c.roundTrip(opClose, false)
		if err != nil {
			return err
		}
		if rep.errno != 0 && firstErr == nil {
			firstErr = rep.errno
		}
	}
	return firstErr
}
