package gofer

// # The tree socket
//
// A pod's gofer starts before the pod's containers exist, so the daemon adds
// each container's root file system and volumes to it at run time, through
// the tree socket: a listening AF_UNIX SOCK_SEQPACKET socket the daemon
// created and bound (ListenTreeSocket) and passed to the gofer with
// --tree-socket N. The daemon keeps the socket's path in its state and
// connects to it again after a restart of its own.
//
// One request per connection. The client sends one packet: a JSON object
// of at most maxTreeRequest bytes, with descriptors attached as SCM_RIGHTS,
// and the gofer answers with one packet holding a JSON object and closes the
// connection:
//
//	{"op":"add","name":NAME,"readOnly":BOOL}  + exactly one descriptor
//	{"op":"remove","name":NAME}               + no descriptor
//	reply: {} on success, {"error":"why"} on failure
//
// NAME is 1 to maxTreeNameLen characters of [A-Za-z0-9_.-]. Unknown fields,
// trailing data, an unknown op, a missing or extra descriptor, a truncated
// packet or a request that does not arrive within treeRequestTimeout are
// errors; every descriptor that came with a failed request is closed.
//
// add serves the directory the descriptor refers to as the tree NAME, which
// the sentry then attaches to (Client.Attach); adding a name that is served
// already is an error. The descriptor is an O_PATH or O_RDONLY|O_DIRECTORY
// descriptor of a directory; anything else is refused. The gofer reopens it
// as the tree's root with openat2(fd, ".", RESOLVE_BENEATH|...) and from
// then on serves it exactly like a tree given at start: the same walks,
// type checks and read-only enforcement (server.go, handlers*.go). What
// confineMounts does for static trees with mount flags, the client does for
// added ones: AddTree sends a detached clone of the directory's mount tree
// (open_tree OPEN_TREE_CLONE|AT_RECURSIVE) marked nodev and nosuid, and
// read-only for a read-only tree, all recursively, so a device node swapped
// into the tree cannot be opened at all. The gofer checks that the mount it
// was given is nodev and nosuid and refuses it otherwise (statfs reports
// the top mount only). The received descriptor stays open as long as the
// tree's root (tree.mountFD): closing the open_tree file would dissolve the
// detached mount tree.
//
// remove forgets the tree: Root and Attach no longer find it, and adding
// the name again is possible. FIDs already inside it stay usable until the
// sentry closes them; the tree's descriptors, and with them the mount, are
// released with the last one.
//
// The sentry connection is served by one goroutine (server.serve). The
// tree socket has a goroutine of its own that accepts connections and
// serves them one at a time; it changes the tree table, server.trees, only
// under server.mu (addTree, removeTree), which is also what Root and Attach
// read it under (acquireTree). A client that sends garbage, too much, too
// many or no descriptors, or nothing at all gets an error reply or is cut
// off at the deadline; none of it touches the sentry connection. Only the
// daemon can connect: the socket file is mode 0600 and owned by root.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// maxTreeRequest is the largest request packet; a longer one is
	// truncated by the kernel (MSG_TRUNC) and refused.
	maxTreeRequest = 4096
	// maxTreeNameLen is the longest tree name the tree socket accepts.
	maxTreeNameLen = 128
	// maxTreeRequestFDs is how many descriptors the control buffer has room
	// for, so that a request carrying a few too many is refused with a
	// clear error and its descriptors closed; the kernel closes those that
	// do not fit (MSG_CTRUNC).
	maxTreeRequestFDs = 8
)

// treeRequestTimeout bounds how long one tree socket connection may take
// to send its request and receive the reply, so that a client that
// connects and stalls cannot keep the daemon's next request waiting for
// ever. A variable for tests.
var treeRequestTimeout = 10 * time.Second

// treeRequest is a tree socket request.
type treeRequest struct {
	Op       string `json:"op"`
	Name     string `json:"name"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// treeReply is a tree socket reply; Error is empty on success.
type treeReply struct {
	Error string `json:"error,omitempty"`
}

// checkTreeName validates a tree name from the tree socket.
func checkTreeName(name string) error {
	if len(name) == 0 || len(name) > maxTreeNameLen {
		return fmt.Errorf("tree name must be 1 to %d characters, got %d", maxTreeNameLen, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return fmt.Errorf("tree name %q: character %q is not one of [A-Za-z0-9_.-]", name, c)
		}
	}
	return nil
}

// treeSocket serves the tree socket for one server.
type treeSocket struct {
	ln   *os.File        // the listening socket; immutable
	raw  syscall.RawConn // ln's raw access; immutable
	s    *server         // immutable
	logw io.Writer       // immutable

	// stopping is set by stop before it closes ln, so that the accept
	// loop takes the error it then gets for the end.
	stopping atomic.Bool
	// started is whether start ran. Used only by the goroutine that
	// calls start and stop (the one serving the sentry connection).
	started bool
	// done is closed when the accept loop has returned.
	done chan struct{}

	// mu protects conn and stopped.
	mu sync.Mutex
	// conn is the connection being served, which stop closes to cut a
	// slow request short; nil between connections.
	// +checklocks:mu
	conn *os.File
	// stopped is set by stop; no connection is served after it.
	// +checklocks:mu
	stopped bool
}

// newTreeSocket takes ownership of fd, which must be a listening
// SOCK_SEQPACKET socket, and prepares to serve it for s. It checks the
// socket with getsockopt, so it must run before the seccomp filter is
// installed. On error fd is closed.
func newTreeSocket(fd int, s *server, logw io.Writer) (*treeSocket, error) {
	if logw == nil {
		logw = io.Discard
	}
	sockType, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: tree socket descriptor %d is not a socket: %w", fd, err)
	}
	listening, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil || sockType != unix.SOCK_SEQPACKET || listening != 1 {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: tree socket descriptor %d is not a listening SOCK_SEQPACKET socket", fd)
	}
	// Non-blocking, so that os.NewFile hands it to the runtime's poller
	// and close wakes a blocked accept.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: tree socket: %w", err)
	}
	unix.CloseOnExec(fd)
	ln := os.NewFile(uintptr(fd), "gofer-tree-socket")
	raw, err := ln.SyscallConn()
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("gofer: tree socket raw access: %w", err)
	}
	return &treeSocket{ln: ln, raw: raw, s: s, logw: logw, done: make(chan struct{})}, nil
}

// start begins serving in a goroutine of its own. A nil ts does nothing.
func (ts *treeSocket) start() {
	if ts == nil {
		return
	}
	ts.started = true
	go ts.loop()
}

// stop ends serving: it closes the listening socket and any connection
// being served and waits for the accept loop to return. A nil ts does
// nothing.
func (ts *treeSocket) stop() {
	if ts == nil {
		return
	}
	ts.mu.Lock()
	ts.stopped = true
	c := ts.conn
	ts.mu.Unlock()
	if c != nil {
		_ = c.Close() // the server's own deferred Close then does nothing
	}
	ts.stopping.Store(true)
	_ = ts.ln.Close()
	if ts.started {
		<-ts.done
	}
}

// loop accepts and serves connections until stop.
func (ts *treeSocket) loop() {
	defer close(ts.done)
	for {
		fd, err := ts.accept()
		if ts.stopping.Load() {
			if err == nil {
				_ = unix.Close(fd)
			}
			return
		}
		switch {
		case err == nil:
			ts.serveConn(fd)
		case errors.Is(err, unix.ECONNABORTED), errors.Is(err, unix.EPROTO):
			// The client went away before we took it.
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE),
			errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
			// Out of descriptors or memory: the connection stays
			// queued; try again later rather than spin.
			fmt.Fprintf(ts.logw, "cocoon gofer: tree socket: accept: %v (retrying)\n", err)
			time.Sleep(100 * time.Millisecond)
		default:
			// The listener itself is broken. Trees can no longer be
			// added, but the sentry keeps being served.
			fmt.Fprintf(ts.logw, "cocoon gofer: tree socket: accept: %v; no longer accepting trees\n", err)
			return
		}
	}
}

// accept waits for a connection and returns it, non-blocking and
// close-on-exec.
func (ts *treeSocket) accept() (int, error) {
	nfd, aerr := -1, error(nil)
	err := ts.raw.Read(func(fd uintptr) bool {
		for {
			nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if aerr != unix.EINTR {
				return aerr != unix.EAGAIN
			}
		}
	})
	if err != nil {
		return -1, err
	}
	return nfd, aerr
}

// serveConn serves the one request of the connection fd, which it takes
// ownership of, and closes it.
func (ts *treeSocket) serveConn(fd int) {
	c := os.NewFile(uintptr(fd), "gofer-tree-conn")
	// Before c is published: stop's Close must not be undone by a later
	// deadline.
	_ = c.SetDeadline(time.Now().Add(treeRequestTimeout))
	ts.mu.Lock()
	if ts.stopped {
		ts.mu.Unlock()
		_ = c.Close()
		return
	}
	ts.conn = c
	ts.mu.Unlock()
	defer func() {
		ts.mu.Lock()
		ts.conn = nil
		ts.mu.Unlock()
		_ = c.Close()
	}()
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	var rep treeReply
	if err := ts.handle(raw); err != nil {
		rep.Error = err.Error()
		fmt.Fprintf(ts.logw, "cocoon gofer: tree socket: %v\n", err)
	}
	out, err := json.Marshal(&rep)
	if err != nil {
		return // cannot happen: a struct of one string
	}
	// A fresh deadline: the reply to a request that timed out must still
	// go out. A SEQPACKET send blocks only while the client does not read.
	_ = c.SetWriteDeadline(time.Now().Add(treeRequestTimeout))
	var serr error
	err = raw.Write(func(fd uintptr) bool {
		for {
			// MSG_NOSIGNAL: a client that left is an error, not SIGPIPE.
			_, serr = unix.SendmsgN(int(fd), out, nil, nil, unix.MSG_NOSIGNAL)
			if serr != unix.EINTR {
				return serr != unix.EAGAIN
			}
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		fmt.Fprintf(ts.logw, "cocoon gofer: tree socket: sending the reply: %v\n", err)
	}
}

// handle receives and carries out one request; it returns why the request
// failed, or nil. Every descriptor received is either taken by a new tree
// or closed.
func (ts *treeSocket) handle(raw syscall.RawConn) error {
	buf := make([]byte, maxTreeRequest)
	oob := make([]byte, unix.CmsgSpace(maxTreeRequestFDs*4))
	var n, oobn, flags int
	var rerr error
	err := raw.Read(func(fd uintptr) bool {
		for {
			n, oobn, flags, rerr = recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN
			}
		}
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("no request within %v", treeRequestTimeout)
		}
		return fmt.Errorf("receiving the request: %w", err)
	}
	fds, cerr := parseRights(oob[:oobn])
	// Whatever is left in fds on return failed the request.
	defer func() {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
	}()
	switch {
	case cerr != nil:
		return cerr
	case flags&unix.MSG_CTRUNC != 0:
		return fmt.Errorf("more than %d descriptors, or other control data, with the request", maxTreeRequestFDs)
	case flags&unix.MSG_TRUNC != 0:
		return fmt.Errorf("request longer than %d bytes", maxTreeRequest)
	case n == 0:
		return errors.New("empty request")
	}
	var req treeRequest
	dec := json.NewDecoder(bytes.NewReader(buf[:n]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("bad request: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("bad request: data after the JSON object")
	}
	if err := checkTreeName(req.Name); err != nil {
		return err
	}
	switch req.Op {
	case "add":
		if len(fds) != 1 {
			return fmt.Errorf("add %q: want exactly one descriptor, got %d", req.Name, len(fds))
		}
		if err := ts.add(req.Name, req.ReadOnly, fds[0]); err != nil {
			return err
		}
		fds = nil // the tree owns it
		return nil
	case "remove":
		if len(fds) != 0 {
			return fmt.Errorf("remove %q: takes no descriptor, got %d", req.Name, len(fds))
		}
		if req.ReadOnly {
			return fmt.Errorf("remove %q: readOnly is for add", req.Name)
		}
		if !ts.s.removeTree(req.Name) {
			return fmt.Errorf("remove %q: no such tree", req.Name)
		}
		return nil
	default:
		return fmt.Errorf("unknown op %q (want add or remove)", req.Op)
	}
}

// parseRights returns the descriptors in the SCM_RIGHTS messages of the
// control data oob. Other messages are ignored; the socket asks for none.
func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		// The kernel wrote oob, so this does not happen; if it did,
		// descriptors in it would leak, which is better than guessing.
		return nil, fmt.Errorf("bad control data: %w", err)
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return fds, fmt.Errorf("bad control data: %w", err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// add serves the directory mountFD refers to as the tree name. On success
// the tree owns mountFD; on failure the caller still does.
func (ts *treeSocket) add(name string, readOnly bool, mountFD int) error {
	// "." under the descriptor is the directory itself, opened the way
	// every file of a tree is; O_DIRECTORY refuses anything else (openat
	// relative to a non-directory fails with ENOTDIR).
	fd, errno := openBeneath(mountFD, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if errno != 0 {
		if errno == unix.ENOTDIR {
			return fmt.Errorf("add %q: the descriptor is not a directory", name)
		}
		return fmt.Errorf("add %q: opening the directory: %w", name, errno)
	}
	st, errno := fstat(fd)
	if errno == 0 && st.FileType() != unix.S_IFDIR {
		errno = unix.ENOTDIR
	}
	if errno != 0 {
		_ = unix.Close(fd)
		return fmt.Errorf("add %q: %w", name, errno)
	}
	// The mount must be as confineMounts makes a static tree's: no device
	// node or set-ID bit in it has any effect.
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("add %q: statfs: %w", name, err)
	}
	if want := int64(unix.ST_NODEV | unix.ST_NOSUID); sfs.Flags&want != want {
		_ = unix.Close(fd)
		return fmt.Errorf("add %q: the directory's mount is not nodev,nosuid (send a clone made by AddTree)", name)
	}
	t := newTree(name, readOnly, fd, mountFD, &st)
	if !ts.s.addTree(t) {
		// Not the caller's to close: the root's descriptor only.
		t.mountFD = -1
		_ = unix.Close(fd)
		return fmt.Errorf("add %q: a tree of that name is served already", name)
	}
	return nil
}
