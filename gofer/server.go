package gofer

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cocoonrt/cocoon/internal/memtrim"

	"golang.org/x/sys/unix"
)

// Locking: server.mu and node.dirMu are never held together.
//
// Requests on one connection are handled one at a time by the goroutine in
// serve; a session's connections (connect.go) are served by one goroutine
// each, all sharing the server, so the FID table and node reference counts
// are locked. Handlers already
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
	// tree is the served tree the file belongs to. Immutable.
	tree *tree
	// dev, ino and fileType (the S_IFMT bits) identify the file at walk
	// time; an inode's identity and type never change. Immutable.
	dev, ino uint64
	fileType uint32

	// parent is the directory the node was reached from, nil for a tree's
	// root, and name the component under it. A node holds a reference on
	// its parent so that Open can re-resolve name under parent.fd. Rename
	// through this connection moves them along with the file (see
	// server.named). Protected by server.mu.
	parent *node
	name   string

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

// Tree is one host directory tree a server exposes. Clients attach to it by
// Name (Client.Attach); the tree named "" (or, without one, the first tree)
// is the one Client.Root attaches to.
type Tree struct {
	// Name identifies the tree on the wire; at most MaxNameLen bytes, and
	// unique among the trees of one server.
	Name string
	// Path is the host directory to serve. The daemon chose it, so it is
	// trusted and resolved normally, symlinks included; nothing below it is.
	Path string
	// ReadOnly makes every modifying operation on the tree fail with EROFS.
	ReadOnly bool
}

// tree is a served Tree. Immutable.
type tree struct {
	name     string
	readOnly bool
	// root is the node of the tree's root directory. The server holds one
	// reference on it while the tree is in server.trees.
	root *node
	// mountFD is the descriptor an added tree arrived as (see
	// treesocket.go), -1 for a tree given at start. It is kept open until
	// root is closed: when it is the file open_tree(2) returned for a
	// detached mount, closing it dissolves that mount tree, which would
	// disconnect the submounts of a tree still in use.
	mountFD int
}

// nameKey is a directory entry: a directory's identity and a name in it.
type nameKey struct {
	dev, ino uint64
	name     string
}

// server is the state of one connection.
type server struct {
	// maxFIDs is the FID limit, MaxFIDs outside tests. Immutable.
	maxFIDs int

	// mu protects trees, fids, lastFID, named, held, and the refs, parent
	// and name fields of every node.
	mu sync.Mutex
	// trees are the served trees, in the order given and then added (the
	// tree socket adds and removes trees while requests are served). A
	// tree's presence here is what the server's reference on its root
	// stands for; it is taken out under mu before that reference is
	// dropped, so that whoever finds a tree here under mu can still take a
	// reference on its root (acquireTree).
	// +checklocks:mu
	trees []*tree
	// fids maps the connection's live FIDs to their nodes. Each entry holds
	// one reference on its node.
	// +checklocks:mu
	fids map[FID]*node
	// lastFID is the most recently allocated FID; FIDs count up from 1 and
	// are never reused, so a stale FID can never name a newer file.
	// +checklocks:mu
	lastFID FID
	// named indexes the live non-root nodes by the directory entry they
	// were reached through (their parent's identity and their name), so
	// that Rename can move every node of a renamed file to its new name and
	// Open keeps finding it. Unlink and an overwriting Rename drop the
	// entries of the name they remove. Renames made by other connections or
	// host processes are not tracked: Open then fails with ENOENT or ESTALE
	// and the client walks again.
	// +checklocks:mu
	named map[nameKey][]*node
	// held are the read-write descriptors CreateHeld keeps for its new
	// files until FinishHeld writes their data through them (or the node
	// goes). Only those files are ever held open for writing here.
	// +checklocks:mu
	held map[*node]int

	// extra are the connections Connect added (connect.go).
	extra extraConns
}

// Serve serves one client connection on conn, a connected SOCK_SEQPACKET
// socket, exposing the directory tree at root read-only as the tree named
// "". It takes ownership of conn and closes it on return. Serve returns nil
// when the peer hangs up, and an error when root cannot be opened or the
// socket fails.
func Serve(conn int, root string) error {
	return ServeTrees(conn, []Tree{{Name: "", Path: root, ReadOnly: true}})
}

// ServeTrees is Serve for several trees, each read-only or read-write. It
// fails without serving when trees is empty, a name is too long or
// repeated, or a path cannot be opened.
func ServeTrees(conn int, trees []Tree) error {
	return serveTrees(conn, -1, trees, nil)
}

// serveTrees is ServeTrees that also serves the tree socket treeSock, a
// listening SOCK_SEQPACKET socket, when it is not negative; trees may then
// be empty. It takes ownership of both descriptors. logw receives the tree
// socket's log lines.
func serveTrees(conn, treeSock int, trees []Tree, logw io.Writer) error {
	var s *server
	var err error
	if treeSock >= 0 {
		s, err = newServerOf(trees)
	} else {
		s, err = newServerTrees(trees)
	}
	if err != nil {
		_ = unix.Close(conn)
		if treeSock >= 0 {
			_ = unix.Close(treeSock)
		}
		return err
	}
	defer s.shutdown()
	var ts *treeSocket
	if treeSock >= 0 {
		if ts, err = newTreeSocket(treeSock, s, logw); err != nil {
			_ = unix.Close(conn)
			return err
		}
		// Stopped before s.shutdown, so that no tree is added after it.
		defer ts.stop()
	}
	pc, err := newPacketConn(conn)
	if err != nil {
		return err
	}
	defer pc.close()
	ts.start()
	return s.serve(pc)
}

// newServer serves root read-only as the tree named "".
func newServer(root string) (*server, error) {
	return newServerTrees([]Tree{{Name: "", Path: root, ReadOnly: true}})
}

// newServerTrees opens every tree's root; trees must not be empty.
func newServerTrees(trees []Tree) (*server, error) {
	if len(trees) == 0 {
		return nil, fmt.Errorf("gofer: no tree to serve")
	}
	return newServerOf(trees)
}

// newServerOf opens every tree's root. trees may be empty when the tree
// socket will add some.
func newServerOf(trees []Tree) (*server, error) {
	s := &server{
		maxFIDs: MaxFIDs,
		fids:    make(map[FID]*node),
		named:   make(map[nameKey][]*node),
		held:    make(map[*node]int),
	}
	seen := make(map[string]bool, len(trees))
	for _, t := range trees {
		err := func() error {
			if len(t.Name) > MaxNameLen {
				return fmt.Errorf("gofer: tree name %q longer than %d bytes", t.Name, MaxNameLen)
			}
			if seen[t.Name] {
				return fmt.Errorf("gofer: tree name %q given twice", t.Name)
			}
			seen[t.Name] = true
			tr, err := openTree(t)
			if err != nil {
				return err
			}
			s.mu.Lock()
			s.trees = append(s.trees, tr)
			s.mu.Unlock()
			return nil
		}()
		if err != nil {
			s.shutdown()
			return nil, err
		}
	}
	return s, nil
}

// openTree opens t's root directory.
func openTree(t Tree) (*tree, error) {
	fd, err := unix.Open(t.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("gofer: open root %q: %w", t.Path, err)
	}
	st, errno := fstat(fd)
	if errno != 0 {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: stat root %q: %w", t.Path, errno)
	}
	return newTree(t.Name, t.ReadOnly, fd, -1, &st), nil
}

// newTree makes a tree whose root is fd, an O_PATH descriptor for the
// directory st describes, which the tree takes ownership of, as does it of
// mountFD (or -1). The root node holds the server's reference.
func newTree(name string, readOnly bool, fd, mountFD int, st *Stat) *tree {
	tr := &tree{name: name, readOnly: readOnly, mountFD: mountFD}
	tr.root = &node{
		fd:       fd,
		tree:     tr,
		dev:      st.Dev,
		ino:      st.Ino,
		fileType: st.FileType(),
		refs:     1,
		dirFD:    -1,
	}
	return tr
}

// acquireTree returns the root of the tree named name, or with
// useDefault the tree Root attaches to (the tree named "", or without one
// the first tree), with a reference the caller must drop with release; nil
// when there is no such tree.
func (s *server) acquireTree(name []byte, useDefault bool) *node {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *tree
	for _, t := range s.trees {
		if t.name == string(name) {
			found = t
			break
		}
	}
	if found == nil && useDefault && len(s.trees) > 0 {
		found = s.trees[0]
	}
	if found == nil {
		return nil
	}
	// The server's reference keeps refs above zero while the tree is
	// listed, so the root is alive.
	found.root.refs++
	return found.root
}

// addTree serves t from now on, unless a tree of its name is already
// served; it returns whether it took t. On failure the caller still owns
// t.
func (s *server) addTree(t *tree) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.trees {
		if u.name == t.name {
			return false
		}
	}
	s.trees = append(s.trees, t)
	return true
}

// removeTree stops serving the tree named name, so that Root and Attach no
// longer find it, and reports whether there was one. FIDs inside the tree
// keep working until they are closed; its descriptors are closed with the
// last of them.
func (s *server) removeTree(name string) bool {
	var gone *tree
	s.mu.Lock()
	for i, t := range s.trees {
		if t.name == name {
			gone = t
			s.trees = append(s.trees[:i:i], s.trees[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if gone == nil {
		return false
	}
	s.release(gone.root)
	return true
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
	// newConn is a connection Connect added, which the serving loop
	// starts serving after the reply (connect.go); nil otherwise.
	newConn *packetConn

	// Scratch space for handlers.
	names     [][]byte     // Walk's decoded names
	walked    []walkedNode // Walk's results
	closeFIDs []FID        // Close's decoded FIDs
	direntBuf []byte       // Getdents' getdents64 buffer
	linkBuf   []byte       // Readlink's buffer
	xattrBuf  []byte       // Getxattr's and Listxattr's buffer
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
		xattrBuf:  make([]byte, max(MaxXattrValueLen, MaxXattrListLen)),
	}
	// Start-up garbage and each burst of requests (a container starting)
	// is handed back to the host once the sentry goes quiet.
	trim := memtrim.New(time.Second)
	for {
		trim.Touch()
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
		if r.newConn != nil {
			go s.serveExtra(r.newConn)
			r.newConn = nil
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
		if n.parent != nil {
			s.unindexLocked(n)
		}
		if fd, ok := s.held[n]; ok {
			delete(s.held, n)
			_ = unix.Close(fd)
		}
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
		if d == d.tree.root && d.tree.mountFD >= 0 {
			// Every node of the tree held a reference on the root (a
			// tmpfile's node excepted, whose own descriptor stays
			// usable), so the mount is no longer walked.
			_ = unix.Close(d.tree.mountFD)
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

// installFID gives n the FID the client chose, fid (ClientFIDBit set), and
// keeps held, a read-write descriptor of n's file, for FinishHeld; both
// take over the caller's reference on n and its descriptor. It fails,
// leaving both with the caller, when fid is not a client FID (EINVAL) or
// in use (EEXIST), or the connection holds all the FIDs it may (EMFILE).
func (s *server) installFID(fid FID, n *node, held int) unix.Errno {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch _, used := s.fids[fid]; {
	case fid&ClientFIDBit == 0:
		return unix.EINVAL
	case used:
		return unix.EEXIST
	case len(s.fids) >= s.maxFIDs:
		return unix.EMFILE
	}
	s.fids[fid] = n
	s.held[n] = held
	return 0
}

// takeHeld returns the descriptor CreateHeld keeps for n, which the
// caller now owns, or false if there is none.
func (s *server) takeHeld(n *node) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fd, ok := s.held[n]
	delete(s.held, n)
	return fd, ok
}

// fidsFull reports whether the connection holds as many FIDs as it may, so
// that an operation which would create a file and then fail to hand out its
// FID fails before creating anything.
func (s *server) fidsFull() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fids) >= s.maxFIDs
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
	s.closeExtra()
	s.mu.Lock()
	nodes := make([]*node, 0, len(s.fids))
	for fid, n := range s.fids {
		nodes = append(nodes, n)
		delete(s.fids, fid)
	}
	trees := s.trees
	s.trees = nil
	s.mu.Unlock()
	for _, n := range nodes {
		s.release(n)
	}
	for _, t := range trees {
		s.release(t.root)
	}
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
	return s.adopt(parent, string(name), fd, &st), st, 0
}

// adopt makes a node for fd, an O_PATH descriptor for the file st describes,
// reached as name under parent. The node takes ownership of fd and holds
// one reference for the caller.
//
// Preconditions: the caller holds a reference on parent.
func (s *server) adopt(parent *node, name string, fd int, st *Stat) *node {
	child := &node{
		fd:       fd,
		tree:     parent.tree,
		parent:   parent,
		name:     name,
		dev:      st.Dev,
		ino:      st.Ino,
		fileType: st.FileType(),
		refs:     1,
		dirFD:    -1,
	}
	s.mu.Lock()
	parent.refs++
	key := nameKey{parent.dev, parent.ino, name}
	s.named[key] = append(s.named[key], child)
	s.mu.Unlock()
	return child
}

// unindexLocked removes n from s.named, if it is there.
//
// Preconditions: s.mu is held; n.parent is not nil.
func (s *server) unindexLocked(n *node) {
	key := nameKey{n.parent.dev, n.parent.ino, n.name}
	nodes := s.named[key]
	for i, m := range nodes {
		if m == n {
			nodes = append(nodes[:i], nodes[i+1:]...)
			break
		}
	}
	if len(nodes) == 0 {
		delete(s.named, key)
	} else {
		s.named[key] = nodes
	}
}

// parentOf returns n's parent, with a reference the caller must drop with
// release, and n's name under it. The parent is nil for a tree's root.
func (s *server) parentOf(n *node) (*node, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.parent != nil {
		n.parent.refs++
	}
	return n.parent, n.name
}

// removed forgets the nodes reached through name in dir, after the name was
// unlinked. They keep their parent and name, so that Open fails cleanly
// (ENOENT, or ESTALE for a new file of that name).
func (s *server) removed(dir *node, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.named, nameKey{dir.dev, dir.ino, name})
}

// isAncestorLocked reports whether a is n or one of n's parents.
//
// Preconditions: s.mu is held.
func isAncestorLocked(a, n *node) bool {
	for ; n != nil; n = n.parent {
		if n == a {
			return true
		}
	}
	return false
}

// renamed moves the nodes reached through oldName in oldDir to newName in
// newDir, after a successful rename. With exchange, the nodes of newName
// move the other way; otherwise they were overwritten and are forgotten as
// by removed.
//
// Preconditions: the caller holds references on oldDir and newDir.
func (s *server) renamed(oldDir *node, oldName string, newDir *node, newName string, exchange bool) {
	oldKey := nameKey{oldDir.dev, oldDir.ino, oldName}
	newKey := nameKey{newDir.dev, newDir.ino, newName}
	var dropped []*node
	// move reparents nodes under dir and returns those it moved. A node
	// that is an ancestor of dir in the node tree stays where it is,
	// unindexed: the host allowed the rename, so a host process moved
	// directories behind the server's back, and reparenting it would make a
	// reference cycle. Only regular files need their name to reopen.
	move := func(nodes []*node, dir *node, name string) []*node {
		moved := nodes[:0]
		for _, n := range nodes {
			if n.isDir() && isAncestorLocked(n, dir) {
				continue
			}
			dropped = append(dropped, n.parent)
			dir.refs++
			n.parent = dir
			n.name = name
			moved = append(moved, n)
		}
		return moved
	}
	s.mu.Lock()
	if oldKey != newKey {
		moving := s.named[oldKey]
		replaced := s.named[newKey]
		delete(s.named, oldKey)
		delete(s.named, newKey)
		if moving = move(moving, newDir, newName); len(moving) > 0 {
			s.named[newKey] = moving
		}
		if exchange {
			if replaced = move(replaced, oldDir, oldName); len(replaced) > 0 {
				s.named[oldKey] = replaced
			}
		}
	}
	s.mu.Unlock()
	// The old parents may have been the last users of other nodes for the
	// same directories.
	for _, p := range dropped {
		s.release(p)
	}
}
