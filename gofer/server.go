package gofer

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Locking: server.mu and node.dirMu are never held together.
//
// Requests on one connection are handled one at a time by the goroutine in
// serve, but the FID table and node reference counts are locked anyway so
// that handlers can move to several goroutines (a slow Getdents on a network
// file system should not hold up Stats) without a redesign. Handlers already
// hold a reference on every node they use, so a concurrent Close cannot pull
// a descriptor out from under them.

// node is one file the server holds an O_PATH descriptor for. Several FIDs
// may share a node (every Root FID shares the root node); Walk makes a new
// node per component.
type node struct {
	// fd is an O_PATH descriptor for the file; it never follows a symlink,
	// so for a symlink it refers to the link itself. Immutable; closed when
	// refs drops to zero.
	fd int
	// parent is the directory the node was walked from, nil for the root.
	// A node holds a reference on its parent so that Open can re-resolve
	// name under parent.fd. Immutable.
	parent *node
	// name is the component under parent. Immutable.
	name string
	// dev, ino and fileType (the S_IFMT bits) identify the file at walk
	// time; an inode's identity and type never change. Immutable.
	dev, ino uint64
	fileType uint32

	// refs counts the FIDs naming this node, its child nodes, and handlers
	// using it. Protected by server.mu.
	refs int

	// dirMu serializes Getdents on this node, which seeks dirFD.
	dirMu sync.Mutex
	// dirFD is a read-only descriptor for reading a directory's entries,
	// opened by the first Getdents; -1 until then. Protected by dirMu (and
	// closed without it once refs is zero, when nobody can use the node).
	// +checklocks:dirMu
	dirFD int
}

func (n *node) isDir() bool { return n.fileType == unix.S_IFDIR }

// server is the state of one connection.
type server struct {
	// root is the node of the served tree's root directory. The server holds
	// one reference on it for its lifetime. Immutable.
	root *node
	// maxFIDs is the FID limit, MaxFIDs outside tests. Immutable.
	maxFIDs int

	// mu protects fids, lastFID and the refs field of every node.
	mu sync.Mutex
	// fids maps the connection's live FIDs to their nodes. Each entry holds
	// one reference on its node.
	// +checklocks:mu
	fids map[FID]*node
	// lastFID is the most recently allocated FID; FIDs count up from 1 and
	// are never reused, so a stale FID can never name a newer file.
	// +checklocks:mu
	lastFID FID
}

// Serve serves one client connection on conn, a connected SOCK_SEQPACKET
// socket, exposing the directory tree at root read-only. It takes ownership
// of conn and closes it on return. Serve returns nil when the peer hangs up,
// and an error when root cannot be opened or the socket fails.
func Serve(conn int, root string) error {
	s, err := newServer(root)
	if err != nil {
		_ = unix.Close(conn)
		return err
	}
	defer s.shutdown()
	pc, err := newPacketConn(conn)
	if err != nil {
		return err
	}
	defer pc.close()
	return s.serve(pc)
}

// newServer opens root. The daemon chose the path, so it is trusted and
// resolved normally, symlinks included; everything below it is not.
func newServer(root string) (*server, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("gofer: open root %q: %w", root, err)
	}
	st, errno := fstat(fd)
	if errno != 0 {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: stat root %q: %w", root, errno)
	}
	rootNode := &node{
		fd:       fd,
		dev:      st.Dev,
		ino:      st.Ino,
		fileType: st.FileType(),
		refs:     1,
		dirFD:    -1,
	}
	return &server{
		root:    rootNode,
		maxFIDs: MaxFIDs,
		fids:    make(map[FID]*node),
	}, nil
}

// request is the per-request state a handler works with. One is reused for
// every request a serving goroutine handles, so its buffers are allocated
// once.
type request struct {
	// args decodes the request's arguments (the packet after its header).
	args decoder
	// reply is the reply packet; the header is already written, and the
	// handler appends results. Results are sent even when the handler
	// fails, so handlers append them only on success (Walk excepted).
	reply encoder
	// donatedFD is a descriptor to send with the reply, or -1. The serving
	// loop closes it after sending.
	donatedFD int

	// Scratch space for handlers.
	names     [][]byte     // Walk's decoded names
	walked    []walkedNode // Walk's results
	closeFIDs []FID        // Close's decoded FIDs
	direntBuf []byte       // Getdents' getdents64 buffer
	linkBuf   []byte       // Readlink's buffer
}

// walkedNode is one component Walk resolved.
type walkedNode struct {
	node *node
	stat Stat
	fid  FID // zero until installed
}

// serve handles requests until the peer hangs up.
func (s *server) serve(pc *packetConn) error {
	in := make([]byte, maxMessageSize)
	r := &request{
		reply:     encoder{buf: make([]byte, 0, maxMessageSize)},
		direntBuf: make([]byte, maxDirentBytes),
		linkBuf:   make([]byte, maxLinkTarget+1),
	}
	for {
		// No control buffer: descriptors a client attaches are closed by
		// the kernel instead of landing in our descriptor table.
		n, _, truncated, err := pc.recv(in, nil)
		if err != nil {
			if isHangup(err) {
				return nil
			}
			return fmt.Errorf("gofer: receive request: %w", err)
		}
		if n == 0 {
			return nil
		}
		s.handle(r, in[:n], truncated)
		err = pc.send(r.reply.buf, r.donatedFD)
		if r.donatedFD >= 0 {
			_ = unix.Close(r.donatedFD)
			r.donatedFD = -1
		}
		if err != nil {
			if isHangup(err) {
				return nil
			}
			return fmt.Errorf("gofer: send reply: %w", err)
		}
	}
}

// handle decodes one request packet, runs its handler and leaves the reply
// in r.reply and r.donatedFD.
func (s *server) handle(r *request, pkt []byte, truncated bool) {
	r.reply.buf = r.reply.buf[:0]
	r.donatedFD = -1

	hdr := decoder{buf: pkt}
	tag := hdr.u32()
	o := op(hdr.u16())
	reserved := hdr.u16()
	if hdr.failed {
		// Too short to echo anything meaningful.
		tag, o = 0, opInvalid
	}
	r.reply.responseHeader(tag, o, 0)

	var errno unix.Errno
	switch {
	case hdr.failed, truncated, reserved != 0, o == opInvalid, o >= numOps:
		errno = unix.EINVAL
	default:
		r.args = hdr
		errno = handlers[o](s, r)
	}
	if errno != 0 {
		if r.donatedFD >= 0 {
			_ = unix.Close(r.donatedFD)
			r.donatedFD = -1
		}
		r.reply.patchU32(responseErrnoOffset, uint32(errno))
	}
}

// acquire returns the node named by fid with a reference the caller must
// drop with release.
func (s *server) acquire(fid FID) (*node, unix.Errno) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.fids[fid]
	if !ok {
		return nil, unix.EBADF
	}
	n.refs++
	return n, 0
}

// release drops one reference on n, closing it and dropping its reference
// on its parent (and so on up) when it was the last.
func (s *server) release(n *node) {
	var dead []*node
	s.mu.Lock()
	for n != nil {
		n.refs--
		if n.refs > 0 {
			break
		}
		dead = append(dead, n)
		n = n.parent
	}
	s.mu.Unlock()
	// Unreferenced nodes are unreachable, so their descriptors can be closed
	// without the lock.
	for _, d := range dead {
		_ = unix.Close(d.fd)
		if d.dirFD >= 0 {
			_ = unix.Close(d.dirFD)
		}
	}
}

// newFID allocates a FID for n, taking a new reference on it.
func (s *server) newFID(n *node) (FID, unix.Errno) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fids) >= s.maxFIDs {
		return 0, unix.EMFILE
	}
	s.lastFID++
	s.fids[s.lastFID] = n
	n.refs++
	return s.lastFID, 0
}

// installFIDs gives each walked node a FID, in order, transferring the
// caller's reference on the node to the FID. It stops when the FID limit is
// reached and returns how many nodes got one; the caller still owns its
// references on the rest.
func (s *server) installFIDs(walked []walkedNode) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range walked {
		if len(s.fids) >= s.maxFIDs {
			return i
		}
		s.lastFID++
		s.fids[s.lastFID] = walked[i].node
		walked[i].fid = s.lastFID
	}
	return len(walked)
}

// removeFID forgets fid and returns its node, whose reference the caller
// now owns.
func (s *server) removeFID(fid FID) (*node, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.fids[fid]
	if ok {
		delete(s.fids, fid)
	}
	return n, ok
}

// shutdown releases every FID and the root, closing all descriptors.
func (s *server) shutdown() {
	s.mu.Lock()
	nodes := make([]*node, 0, len(s.fids))
	for fid, n := range s.fids {
		nodes = append(nodes, n)
		delete(s.fids, fid)
	}
	s.mu.Unlock()
	for _, n := range nodes {
		s.release(n)
	}
	s.release(s.root)
}

// newChild opens name under the directory parent and returns its node,
// holding one reference for the caller, and its Stat.
//
// Preconditions: the caller holds a reference on parent; name passed
// checkName; parent is a directory.
func (s *server) newChild(parent *node, name []byte) (*node, Stat, unix.Errno) {
	fd, errno := openBeneath(parent.fd, string(name), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if errno != 0 {
		return nil, Stat{}, errno
	}
	st, errno := fstat(fd)
	if errno != 0 {
		_ = unix.Close(fd)
		return nil, Stat{}, errno
	}
	child := &node{
		fd:       fd,
		parent:   parent,
		name:     string(name),
		dev:      st.Dev,
		ino:      st.Ino,
		fileType: st.FileType(),
		refs:     1,
		dirFD:    -1,
	}
	s.mu.Lock()
	parent.refs++
	s.mu.Unlock()
	return child, st, 0
}
