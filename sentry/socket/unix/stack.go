// Package unix implements AF_UNIX sockets (unix(7)) inside the sandbox:
// stream, datagram and sequenced-packet sockets, socketpair, names in the
// sandbox's file systems and in the abstract namespace, SCM_RIGHTS and
// SCM_CREDENTIALS, with Linux's (net/unix/af_unix.c) errors and
// readiness rules.
//
// Operations never block: where Linux would wait they return EAGAIN and
// the caller (sentry/syscalls) waits on the socket's queue, interruptibly
// and with the socket's timeouts, as it does for pipes.
package unix

import (
	"fmt"
	"sync"
	"sync/atomic"

	linux "golang.org/x/sys/unix"
)

// Linux's defaults and limits.
const (
	// defaultBuf is net.core.wmem_default and rmem_default.
	defaultBuf = 212992
	// maxBuf is net.core.wmem_max and rmem_max.
	maxBuf = 212992
	// minSndBuf and minRcvBuf are SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF on
	// amd64.
	minSndBuf = 4608
	minRcvBuf = 2304
	// MaxDgramQlen is net.unix.max_dgram_qlen's default: a datagram
	// socket's receive queue is full beyond it (unless it is connected
	// back).
	MaxDgramQlen = 10
	// SoMaxConn is net.core.somaxconn's default, the cap on listen's
	// backlog.
	SoMaxConn = 4096
)

// InodeKey identifies the file system inode a socket is bound to, so that
// a connect through any name of the inode (a rename, a hard link) finds
// the socket, as Linux finds it through the inode.
type InodeKey struct{ Dev, Ino uint64 }

// Stack holds the unix sockets of one sandbox kernel and their names.
type Stack struct {
	// mu protects the state of every socket of the stack (the fields of
	// Socket documented as such) and the tables below. One lock for
	// all: most operations touch two sockets (sender and receiver,
	// listener and connector), and a lock order between per-socket locks
	// would buy nothing at the rates sockets are used in a sandbox.
	mu sync.Mutex
	// abstract maps abstract names to the socket bound to them.
	abstract map[abstractKey]*Socket
	// bound maps the inodes of path names to the socket bound to them.
	bound map[InodeKey]*Socket
	// autobind is the next autobind name to try.
	autobind uint32

	// sysctls returns the sysctls of a network namespace (Socket.ns);
	// nil: their defaults. Atomic, not under mu, because it reads the
	// namespace's sysctls, which have their own lock.
	sysctls atomic.Pointer[func(ns any) Sysctls]
}

// Sysctls are the sysctls of a network namespace that its unix sockets
// obey.
type Sysctls struct {
	// SomaxConn is net.core.somaxconn, which caps listen's backlog
	// (__sys_listen reads sock_net's).
	SomaxConn int
	// MaxDgramQlen is net.unix.max_dgram_qlen, which a new socket keeps
	// as its datagram receive queue's limit (sk_max_ack_backlog, a u32:
	// -1 is none).
	MaxDgramQlen uint32
}

// SetSysctls sets how the stack finds the sysctls of a socket's network
// namespace.
func (st *Stack) SetSysctls(fn func(ns any) Sysctls) { st.sysctls.Store(&fn) }

// sysctlsOf returns the sysctls of network namespace ns.
func (st *Stack) sysctlsOf(ns any) Sysctls {
	if fn := st.sysctls.Load(); fn != nil {
		return (*fn)(ns)
	}
	return Sysctls{SomaxConn: SoMaxConn, MaxDgramQlen: MaxDgramQlen}
}

// abstractKey is an abstract name (without the leading NUL) in a network
// namespace, for a socket type: Linux keeps one abstract namespace per
// network namespace and socket type (unix_find_abstract looks for
// sock_net's sockets of the type, under the name), so the same name can
// be bound in each, and a socket finds only those of its own namespace
// and type.
type abstractKey struct {
	// ns is the network namespace the name is bound in (Socket.ns).
	ns   any
	typ  int
	name string
}

// NewStack returns an empty stack.
func NewStack() *Stack {
	return &Stack{abstract: make(map[abstractKey]*Socket), bound: make(map[InodeKey]*Socket)}
}

// LookupAbstract returns the socket of type typ bound to an abstract name
// in network namespace ns (those of the socket looking: Socket.Namespace
// and Socket.Type), or ECONNREFUSED.
func (st *Stack) LookupAbstract(ns any, typ int, name string) (*Socket, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.abstract[abstractKey{ns, typ, name}]; ok {
		return s, nil
	}
	return nil, linux.ECONNREFUSED
}

// LookupInode returns the socket bound to a socket inode, or ECONNREFUSED
// (a node made by mknod, or one whose socket was closed).
func (st *Stack) LookupInode(key InodeKey) (*Socket, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.bound[key]; ok {
		return s, nil
	}
	return nil, linux.ECONNREFUSED
}

// BindAbstract binds s to an abstract name of its network namespace and
// type: EINVAL if s has a name, EADDRINUSE if the name is taken there.
func (s *Socket) BindAbstract(name string) error {
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.addr != nil {
		return linux.EINVAL
	}
	key := abstractKey{s.ns, s.typ, name}
	if _, ok := st.abstract[key]; ok {
		return linux.EADDRINUSE
	}
	st.abstract[key] = s
	s.addr = &Addr{Abstract: true, Name: name}
	return nil
}

// BindInode binds s to the socket inode the caller created at path (the
// caller made the node; it removes it again when this fails with EINVAL
// because s has a name already).
func (s *Socket) BindInode(path string, key InodeKey) error {
	st := s.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.addr != nil {
		return linux.EINVAL
	}
	st.bound[key] = s
	s.addr = &Addr{Name: path}
	s.boundKey = &key
	return nil
}

// Bound reports whether s has a name.
func (s *Socket) Bound() bool {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	return s.addr != nil
}

// Autobind gives s a name in the abstract namespace: five hex digits, as
// Linux's unix_autobind does. A socket with a name keeps it.
func (s *Socket) Autobind() error {
	s.stack.mu.Lock()
	defer s.stack.mu.Unlock()
	return s.autobindLocked()
}

func (s *Socket) autobindLocked() error {
	if s.addr != nil {
		return nil
	}
	st := s.stack
	for i := 0; i < 0x100000; i++ {
		name := fmt.Sprintf("%05x", st.autobind&0xfffff)
		st.autobind++
		if key := (abstractKey{s.ns, s.typ, name}); st.abstract[key] == nil {
			st.abstract[key] = s
			s.addr = &Addr{Abstract: true, Name: name}
			return nil
		}
	}
	return linux.ENOSPC
}
