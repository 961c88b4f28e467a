//go:build linux && amd64

package main

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// rng is splitmix64: small, fast, and the same everywhere.
type rng struct{ s uint64 }

func (r *rng) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) n(k int) int { return int(r.u64() % uint64(k)) }

// one reports true with probability 1/k.
func (r *rng) one(k int) bool { return r.n(k) == 0 }

func (r *rng) pick(xs []uint64) uint64 { return xs[r.n(len(xs))] }

// callRNG is the random stream of call i of seed: a function of both
// alone, whatever batch the call runs in.
func callRNG(seed, i uint64) *rng {
	r := &rng{s: seed}
	r.s = r.u64() ^ i*0xd1b54a32d192ed03
	r.u64()
	return r
}

// call is one system call to make.
type call struct {
	nr   uint64
	name string
	args [6]uint64
}

func (c call) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(", c.name)
	for i, a := range c.args {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%#x", a)
	}
	b.WriteByte(')')
	return b.String()
}

// kind says what an argument means, so that its value is usually one
// the kernel gets past its first checks with, and sometimes an edge.
type kind uint8

const (
	kNone kind = iota
	kAny
	kInt
	kFD
	kDirFD
	kBufIn  // a pointer to random bytes the kernel reads
	kBufOut // a pointer the kernel writes to
	kLen
	kOff
	kPath
	kMode
	kOFlags
	kAtFlags
	kPid
	kTid
	kSig
	kAddr // an address in the scratch region (memory calls)
	kMLen
	kProt
	kMapFlags
	kTimespec // a pointer to a timeout
	kTimeval
	kTimeoutMs
	kIov
	kCount // the element count of the array before it
	kSigset
	kSigsetSize
	kSockaddr
	kSocklen
	kSocklenPtr
	kDomain
	kSockType
	kProto
	kMsghdr
	kMmsghdr
	kMsgFlags
	kLevel
	kOptname
	kFlags // a few low bits
	kCmd   // a small command number
	kIoctl
	kFcntlCmd
	kFcntlArg
	kUID
	kClock
	kCloneFlags
	kFutexOp
	kFutexPtr
	kPollfds
	kFdset
	kNfds
	kEpollEvent
	kItimerspec
	kSigevent
	kRlimitRes
	kRlimit
	kXattr
	kMqName
	kStruct // a pointer to a structure of random words, some of them valid
	kStructLen
	kCapHdr
	kIPC
	kTimerID
	kSigaction
	kStack
	kFstype
	kMountFlags
)

// Values at the edges.
var (
	interestingInts = []uint64{0, 1, 2, 3, 4, 7, 8, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511, 1023, 1024,
		4095, 4096, 4097, 1<<15 - 1, 1 << 16, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1<<63 - 1, 1 << 63,
		^uint64(0), ^uint64(0) - 1, ^uint64(4095), uint64(0xffffffff80000000)}
	interestingLens = []uint64{0, 1, 2, 3, 4, 7, 8, 12, 15, 16, 24, 28, 32, 64, 100, 128, 255, 256, 512,
		1024, 4095, 4096, 4097, 8192, 65536, arenaIn - 1, arenaIn, arenaIn + 1, 1<<31 - 1, 1 << 31,
		1 << 32, 1<<32 + 1, 1 << 62, 1<<63 - 1, ^uint64(0), ^uint64(4095)}
	interestingOffs = []uint64{0, 1, 7, 4095, 4096, 8192, 1 << 20, 1<<31 - 1, 1 << 31, 1 << 32, 1 << 40,
		1 << 62, 1<<63 - 1, ^uint64(0), ^uint64(4095)}
	// badPointers fault: nothing there, not user space, not canonical.
	badPointers = []uint64{0, 1, 0xfff, 0x10000, 0x7ffffffff000, 0x7fffffffffff, 1 << 47,
		0xffff800000000000, 0xffffffffff600000, 0xffffffffffffff00, ^uint64(4095)}
	harmlessSignals = []uint64{0, uint64(unix.SIGURG), uint64(unix.SIGCHLD), uint64(unix.SIGWINCH),
		uint64(unix.SIGCONT), uint64(unix.SIGALRM), uint64(unix.SIGUSR1), uint64(unix.SIGUSR2),
		uint64(unix.SIGIO), uint64(unix.SIGPWR), uint64(unix.SIGHUP), uint64(unix.SIGTERM), 34, 35, 40, 64}
)

// flagsOf returns a random union of bits, each with probability 1/4, and
// now and then anything.
func flagsOf(r *rng, bits ...uint64) uint64 {
	switch r.n(20) {
	case 0:
		return r.u64() & 0xffffffff
	case 1:
		return r.u64()
	}
	var v uint64
	for _, b := range bits {
		if r.one(4) {
			v |= b
		}
	}
	return v
}

func (c *child) anyInt(r *rng) uint64 {
	switch r.n(4) {
	case 0:
		return uint64(r.n(65))
	case 1:
		return r.u64()
	case 2:
		return r.u64() & 0xffffffff
	}
	return r.pick(interestingInts)
}

// alloc returns the address of n fresh bytes of the input half of the
// arena, and the bytes.
func (c *child) alloc(n int) (uint64, []byte) {
	c.arenaOff = (c.arenaOff + 7) &^ 7
	if c.arenaOff+n > arenaIn {
		c.arenaOff = 0
	}
	b := c.arena[c.arenaOff : c.arenaOff+n]
	addr := c.arenaBase + uint64(c.arenaOff)
	c.arenaOff += n
	return addr, b
}

func (c *child) randomBytes(r *rng, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.u64())
	}
}

func (c *child) badPointer(r *rng) uint64 {
	switch r.n(4) {
	case 0:
		return c.arenaBase + arenaSize - uint64(r.n(16)) // runs into the guard page
	case 1:
		return c.roPage + uint64(r.n(4096))
	case 2:
		return r.u64() & (1<<47 - 1)
	}
	return r.pick(badPointers)
}

func (c *child) fd(r *rng) uint64 {
	if len(c.fds) > 0 && r.n(10) < 8 {
		return uint64(int64(c.fds[r.n(len(c.fds))]))
	}
	switch r.n(4) {
	case 0:
		return r.pick([]uint64{^uint64(0), uint64(0xffffffffffffff9c) /* AT_FDCWD */, 0, 1, 2, 1<<31 - 1, 1 << 31, 1 << 32})
	default:
		return uint64(r.n(128))
	}
}

func (c *child) pidArg(r *rng) uint64 {
	pids := []uint64{0, uint64(c.pid), uint64(c.tid), uint64(-int64(c.pid)), 99999, ^uint64(99998),
		1<<31 - 1, uint64(0xffffffff80000000), 1 << 32}
	if c.ownPIDNS {
		// Here -1 and 1 reach this child and its own children only.
		pids = append(pids, ^uint64(0), 1)
	}
	return r.pick(pids)
}

func (c *child) signal(r *rng) uint64 {
	if r.n(10) < 7 {
		return r.pick(harmlessSignals)
	}
	if r.one(10) {
		return c.anyInt(r)
	}
	return uint64(r.n(70))
}

func (c *child) path(r *rng) uint64 {
	switch r.n(20) {
	case 0:
		return c.badPointer(r)
	case 1:
		// Longer than PATH_MAX.
		addr, b := c.alloc(5001)
		for i := range b {
			b[i] = "a/"[i%2]
		}
		b[5000] = 0
		return addr
	case 2:
		// A component longer than NAME_MAX.
		addr, b := c.alloc(301)
		for i := range b {
			b[i] = 'n'
		}
		b[300] = 0
		return addr
	case 3:
		// No terminating NUL before the guard page.
		return c.arenaBase + arenaSize - uint64(1+r.n(8))
	}
	return c.str(c.paths[r.n(len(c.paths))])
}

// str puts a NUL-terminated string in the arena.
func (c *child) str(s string) uint64 {
	addr, b := c.alloc(len(s) + 1)
	copy(b, s)
	b[len(s)] = 0
	return addr
}

// scratchAddr is an address for a memory-management call: in the
// scratch region (often page-aligned) or one that fails.
func (c *child) scratchAddr(r *rng) uint64 {
	switch r.n(10) {
	case 0:
		return 0
	case 1:
		return r.pick([]uint64{1 << 47, 0xffff800000000000, 0xffffffffff600000, ^uint64(4095), 0x1000})
	case 2:
		return c.scratch + uint64(r.n(scratchSize))
	}
	return c.scratch + uint64(r.n(scratchSize/4096))*4096
}

// inScratch reports whether addr is in the scratch region.
func (c *child) inScratch(addr uint64) bool {
	return addr >= c.scratch && addr < c.scratch+scratchSize
}

func (c *child) timespec(r *rng, unit int64) uint64 {
	switch r.n(12) {
	case 0:
		return 0
	case 1:
		return c.badPointer(r)
	}
	addr, b := c.alloc(16)
	sec, frac := int64(0), int64(r.n(2_000_000_000/int(unit)))/1000
	switch r.n(8) {
	case 0:
		sec = 1 << 40
	case 1:
		frac = 1_000_000_000 / unit // one past the largest
	case 2:
		sec = -1
	case 3:
		frac = -1
	case 4:
		sec, frac = 0, 0
	}
	binary.LittleEndian.PutUint64(b, uint64(sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(frac))
	return addr
}

func (c *child) iov(r *rng) uint64 {
	if r.one(15) {
		c.lastN = uint64(r.n(4))
		return c.badPointer(r)
	}
	n := 1 + r.n(8)
	addr, b := c.alloc(16 * n)
	for i := 0; i < n; i++ {
		base := c.arenaBase + arenaIn + uint64(r.n(arenaIn))
		length := uint64(r.n(8192))
		switch r.n(12) {
		case 0:
			base = c.badPointer(r)
		case 1:
			length = r.pick(interestingLens)
		case 2:
			base = c.arenaBase + arenaIn
			length = arenaIn
		}
		binary.LittleEndian.PutUint64(b[16*i:], base)
		binary.LittleEndian.PutUint64(b[16*i+8:], length)
	}
	c.lastN = uint64(n)
	return addr
}

func (c *child) sigset(r *rng) uint64 {
	switch r.n(12) {
	case 0:
		return 0
	case 1:
		return c.badPointer(r)
	}
	addr, b := c.alloc(8)
	// SIGALRM stays deliverable: it is what interrupts blocking calls.
	binary.LittleEndian.PutUint64(b, r.u64()&^(1<<(unix.SIGALRM-1)))
	return addr
}

func (c *child) sockaddr(r *rng) uint64 {
	if r.one(12) {
		c.lastSockLen = uint64(r.n(128))
		return c.badPointer(r)
	}
	addr, b := c.alloc(128)
	c.randomBytes(r, b)
	port := []uint16{0, 80, 1234, 4242, 65535}[r.n(5)]
	switch r.n(6) {
	case 0: // AF_INET loopback
		binary.LittleEndian.PutUint16(b, unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], port)
		copy(b[4:], []byte{127, 0, 0, byte(1 + r.n(2))})
		c.lastSockLen = 16
	case 1: // AF_INET6 loopback
		binary.LittleEndian.PutUint16(b, unix.AF_INET6)
		binary.BigEndian.PutUint16(b[2:], port)
		copy(b[4:], make([]byte, 20))
		b[23] = 1
		c.lastSockLen = 28
	case 2: // AF_UNIX path or abstract name
		binary.LittleEndian.PutUint16(b, unix.AF_UNIX)
		name := []string{"sock", "\x00sysfuzz", "/nonexistent/sock", "d/sock", ""}[r.n(5)]
		copy(b[2:], name+"\x00")
		c.lastSockLen = uint64(2 + len(name) + 1)
	case 3: // AF_NETLINK
		binary.LittleEndian.PutUint16(b, unix.AF_NETLINK)
		binary.LittleEndian.PutUint32(b[4:], uint32(r.n(3)))
		binary.LittleEndian.PutUint32(b[8:], uint32(r.u64()))
		c.lastSockLen = 12
	case 4:
		binary.LittleEndian.PutUint16(b, unix.AF_UNSPEC)
		c.lastSockLen = 16
	default:
		binary.LittleEndian.PutUint16(b, uint16(r.n(46)))
		c.lastSockLen = uint64(r.n(129))
	}
	return addr
}

func (c *child) msghdr(r *rng, at []byte) {
	if !r.one(4) {
		binary.LittleEndian.PutUint64(at[0:], c.sockaddr(r))
		binary.LittleEndian.PutUint32(at[8:], uint32(c.lastSockLen))
	}
	binary.LittleEndian.PutUint64(at[16:], c.iov(r))
	binary.LittleEndian.PutUint64(at[24:], c.lastN)
	if r.one(2) {
		// Control data: descriptors (SCM_RIGHTS), credentials, or junk.
		caddr, cb := c.alloc(64)
		c.randomBytes(r, cb)
		clen := uint64(16 + 4*(1+r.n(4)))
		binary.LittleEndian.PutUint64(cb, clen)
		binary.LittleEndian.PutUint32(cb[8:], unix.SOL_SOCKET)
		switch r.n(3) {
		case 0:
			binary.LittleEndian.PutUint32(cb[12:], unix.SCM_RIGHTS)
			for i := 16; i < int(clen); i += 4 {
				binary.LittleEndian.PutUint32(cb[i:], uint32(c.fd(r)))
			}
		case 1:
			binary.LittleEndian.PutUint32(cb[12:], unix.SCM_CREDENTIALS)
			binary.LittleEndian.PutUint64(cb, 28)
			binary.LittleEndian.PutUint32(cb[16:], uint32(c.pid))
			binary.LittleEndian.PutUint32(cb[20:], 0)
			binary.LittleEndian.PutUint32(cb[24:], 0)
			clen = 32
		}
		if r.one(8) {
			clen = r.pick(interestingLens)
		}
		binary.LittleEndian.PutUint64(at[32:], caddr)
		binary.LittleEndian.PutUint64(at[40:], clen)
	}
	binary.LittleEndian.PutUint32(at[48:], uint32(r.u64()))
}

// structure builds a block of random words in which some words are
// valid pointers, descriptors or small numbers, for the many calls that
// take a structure this generator does not model.
func (c *child) structure(r *rng) uint64 {
	if r.one(12) {
		return c.badPointer(r)
	}
	addr, b := c.alloc(512)
	for i := 0; i+8 <= len(b); i += 8 {
		var v uint64
		switch r.n(6) {
		case 0:
			v = c.arenaBase + arenaIn + uint64(r.n(arenaIn))
		case 1:
			v = c.fd(r)
		case 2:
			v = uint64(r.n(16))
		case 3:
			v = 0
		case 4:
			v = r.pick(interestingInts)
		default:
			v = r.u64()
		}
		binary.LittleEndian.PutUint64(b[i:], v)
	}
	return addr
}

func (c *child) bufIn(r *rng) uint64 {
	if r.one(8) {
		return c.badPointer(r)
	}
	addr, b := c.alloc(256)
	c.randomBytes(r, b)
	return addr
}

func (c *child) bufOut(r *rng) uint64 {
	if r.one(8) {
		return c.badPointer(r)
	}
	return c.arenaBase + arenaIn + uint64(r.n(arenaIn/8))*8
}

func (c *child) rlimit(r *rng) uint64 {
	if r.one(8) {
		return c.badPointer(r)
	}
	addr, b := c.alloc(16)
	vals := []uint64{0, 1, 64, 1024, 1 << 20, 1 << 30, ^uint64(0), r.u64()}
	cur, max := vals[r.n(len(vals))], vals[r.n(len(vals))]
	binary.LittleEndian.PutUint64(b, cur)
	binary.LittleEndian.PutUint64(b[8:], max)
	return addr
}

// arg returns a value for an argument of kind k.
func (c *child) arg(k kind, r *rng) uint64 {
	// Now and then any argument is anything at all.
	if k != kNone && r.one(40) {
		return c.anyInt(r)
	}
	switch k {
	case kNone:
		return 0
	case kAny:
		switch r.n(5) {
		case 0:
			return c.fd(r)
		case 1:
			return c.bufIn(r)
		case 2:
			return c.bufOut(r)
		case 3:
			return r.pick(interestingLens)
		}
		return c.anyInt(r)
	case kInt:
		return c.anyInt(r)
	case kFD:
		return c.fd(r)
	case kDirFD:
		switch {
		case r.n(10) < 4:
			return uint64(0xffffffffffffff9c) // AT_FDCWD
		case r.n(10) < 6 && len(c.dirFDs) > 0:
			return uint64(c.dirFDs[r.n(len(c.dirFDs))])
		}
		return c.fd(r)
	case kBufIn:
		return c.bufIn(r)
	case kBufOut:
		return c.bufOut(r)
	case kLen:
		if r.one(3) {
			return uint64(r.n(4096))
		}
		return r.pick(interestingLens)
	case kOff:
		if r.one(3) {
			return uint64(r.n(16384))
		}
		return r.pick(interestingOffs)
	case kPath:
		return c.path(r)
	case kMode:
		return r.pick([]uint64{0, 0o644, 0o755, 0o777, 0o7777, unix.S_IFIFO | 0o644, unix.S_IFREG | 0o600,
			unix.S_IFSOCK | 0o777, unix.S_IFCHR | 0o666, unix.S_IFBLK | 0o600, unix.S_IFDIR | 0o755, r.u64() & 0xffffffff})
	case kOFlags:
		return uint64(r.n(4)) | flagsOf(r, unix.O_CREAT, unix.O_EXCL, unix.O_NOCTTY, unix.O_TRUNC, unix.O_APPEND,
			unix.O_NONBLOCK, unix.O_DSYNC, unix.O_DIRECT, unix.O_DIRECTORY, unix.O_NOFOLLOW, unix.O_NOATIME,
			unix.O_CLOEXEC, unix.O_PATH, unix.O_TMPFILE, unix.O_SYNC, unix.O_ASYNC)
	case kAtFlags:
		return flagsOf(r, unix.AT_SYMLINK_NOFOLLOW, unix.AT_REMOVEDIR, unix.AT_SYMLINK_FOLLOW,
			unix.AT_NO_AUTOMOUNT, unix.AT_EMPTY_PATH, unix.AT_STATX_FORCE_SYNC, unix.AT_STATX_DONT_SYNC, unix.AT_RECURSIVE)
	case kPid:
		return c.pidArg(r)
	case kTid:
		return r.pick([]uint64{uint64(c.tid), uint64(c.pid), 0, 99999, 1<<31 - 1})
	case kSig:
		return c.signal(r)
	case kAddr:
		return c.scratchAddr(r)
	case kMLen:
		switch r.n(6) {
		case 0:
			return r.pick(interestingLens)
		case 1:
			return uint64(r.n(scratchSize))
		}
		return uint64(1+r.n(64)) * 4096
	case kProt:
		return flagsOf(r, unix.PROT_READ, unix.PROT_WRITE, unix.PROT_EXEC, 0x8 /* PROT_SEM */, unix.PROT_GROWSDOWN, unix.PROT_GROWSUP)
	case kMapFlags:
		return uint64(1+r.n(3)) | flagsOf(r, unix.MAP_ANONYMOUS, unix.MAP_ANONYMOUS, unix.MAP_FIXED,
			unix.MAP_FIXED_NOREPLACE, unix.MAP_GROWSDOWN, unix.MAP_DENYWRITE, unix.MAP_EXECUTABLE, unix.MAP_LOCKED,
			unix.MAP_NORESERVE, unix.MAP_POPULATE, unix.MAP_NONBLOCK, unix.MAP_STACK, unix.MAP_HUGETLB, unix.MAP_SYNC, unix.MAP_32BIT)
	case kTimespec:
		return c.timespec(r, 1)
	case kTimeval:
		return c.timespec(r, 1000)
	case kTimeoutMs:
		return r.pick([]uint64{0, 1, 2, ^uint64(0), ^uint64(1), 1 << 31, uint64(r.n(3))})
	case kIov:
		return c.iov(r)
	case kCount:
		if r.n(10) < 7 {
			return c.lastN
		}
		return r.pick([]uint64{0, 1, 2, 1024, 1025, 1 << 20, ^uint64(0), 1 << 31})
	case kSigset:
		return c.sigset(r)
	case kSigsetSize:
		if r.n(10) < 8 {
			return 8
		}
		return r.pick([]uint64{0, 4, 16, 128, ^uint64(0)})
	case kSockaddr:
		return c.sockaddr(r)
	case kSocklen:
		if r.n(10) < 7 {
			return c.lastSockLen
		}
		return r.pick([]uint64{0, 1, 2, 16, 28, 110, 128, 1 << 31, ^uint64(0)})
	case kSocklenPtr:
		if r.one(8) {
			return c.badPointer(r)
		}
		addr, b := c.alloc(4)
		binary.LittleEndian.PutUint32(b, uint32(r.pick([]uint64{128, 0, 4, 16, 1 << 31, ^uint64(0)})))
		return addr
	case kDomain:
		return r.pick([]uint64{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_PACKET,
			unix.AF_UNSPEC, unix.AF_ALG, unix.AF_VSOCK, unix.AF_KEY, uint64(r.n(46))})
	case kSockType:
		t := r.pick([]uint64{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_RAW, unix.SOCK_SEQPACKET, unix.SOCK_RDM, uint64(r.n(12))})
		if r.n(10) < 7 {
			t |= unix.SOCK_NONBLOCK
		}
		if r.one(2) {
			t |= unix.SOCK_CLOEXEC
		}
		return t
	case kProto:
		return r.pick([]uint64{0, unix.IPPROTO_TCP, unix.IPPROTO_UDP, unix.IPPROTO_ICMP, unix.IPPROTO_ICMPV6,
			unix.IPPROTO_RAW, unix.NETLINK_KOBJECT_UEVENT, 0x300 /* htons(ETH_P_ALL) */, uint64(r.n(256))})
	case kMsghdr:
		if r.one(12) {
			return c.badPointer(r)
		}
		addr, b := c.alloc(56)
		c.msghdr(r, b)
		return addr
	case kMmsghdr:
		n := 1 + r.n(4)
		addr, b := c.alloc(64 * n)
		for i := 0; i < n; i++ {
			c.msghdr(r, b[64*i:])
		}
		c.lastN = uint64(n)
		return addr
	case kMsgFlags:
		return flagsOf(r, unix.MSG_OOB, unix.MSG_PEEK, unix.MSG_DONTROUTE, unix.MSG_TRUNC, unix.MSG_DONTWAIT,
			unix.MSG_DONTWAIT, unix.MSG_EOR, unix.MSG_WAITALL, unix.MSG_NOSIGNAL, unix.MSG_MORE,
			unix.MSG_CMSG_CLOEXEC, unix.MSG_ERRQUEUE, unix.MSG_ZEROCOPY)
	case kLevel:
		return r.pick([]uint64{unix.SOL_SOCKET, unix.IPPROTO_IP, unix.IPPROTO_IPV6, unix.IPPROTO_TCP,
			unix.IPPROTO_UDP, unix.SOL_NETLINK, unix.SOL_PACKET, unix.SOL_RAW, unix.IPPROTO_ICMPV6, uint64(r.n(300))})
	case kOptname:
		return uint64(r.n(80))
	case kFlags:
		return flagsOf(r, 1, 2, 4, 8, 16, 32, 64, 128, 0x800, 0x80000)
	case kCmd:
		return uint64(r.n(48))
	case kIoctl:
		return r.pick(ioctls)
	case kFcntlCmd:
		return r.pick(fcntlCmds)
	case kFcntlArg:
		switch r.n(3) {
		case 0:
			return c.structure(r)
		case 1:
			return c.pidArg(r)
		}
		return c.anyInt(r)
	case kUID:
		return r.pick([]uint64{0, 1, 65534, 1000, 0xffffffff, uint64(r.n(100000))})
	case kClock:
		// Negative IDs are the CPU clocks of processes and threads.
		return r.pick([]uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, uint64(0xfffffffffffffffe),
			uint64(0xfffffffffffffffa), ^uint64(0), 1 << 31, uint64(r.n(16))})
	case kCloneFlags:
		return flagsOf(r, unix.CLONE_FILES, unix.CLONE_FS, unix.CLONE_NEWNS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWUTS,
			unix.CLONE_NEWIPC, unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWTIME,
			unix.CLONE_SYSVSEM, unix.CLONE_PTRACE, unix.CLONE_UNTRACED, unix.CLONE_IO)
	case kFutexOp:
		op := uint64(r.n(14))
		if r.one(2) {
			op |= 128 // FUTEX_PRIVATE_FLAG
		}
		if r.one(5) {
			op |= 256 // FUTEX_CLOCK_REALTIME
		}
		return op
	case kFutexPtr:
		if r.one(8) {
			return c.badPointer(r)
		}
		addr, b := c.alloc(8)
		binary.LittleEndian.PutUint32(b, uint32(r.pick([]uint64{0, 1, 2, uint64(c.tid), 0x80000000 | uint64(c.tid), r.u64()})))
		return addr
	case kPollfds:
		n := 1 + r.n(8)
		addr, b := c.alloc(8 * n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(b[8*i:], uint32(c.fd(r)))
			binary.LittleEndian.PutUint16(b[8*i+4:], uint16(flagsOf(r, 1, 2, 4, 8, 16, 32, 0x2000, 0x400)))
		}
		c.lastN = uint64(n)
		return addr
	case kFdset:
		switch r.n(6) {
		case 0:
			return 0
		case 1:
			return c.badPointer(r)
		}
		addr, b := c.alloc(128)
		for i := range b {
			b[i] = 0
		}
		for j := 0; j < 4; j++ {
			fd := c.fd(r) % 1024
			b[fd/8] |= 1 << (fd % 8)
		}
		return addr
	case kNfds:
		return r.pick([]uint64{128, 64, 0, 1, 1024, 1025, ^uint64(0), 1 << 31})
	case kEpollEvent:
		if r.one(8) {
			return c.badPointer(r)
		}
		addr, b := c.alloc(12)
		binary.LittleEndian.PutUint32(b, uint32(flagsOf(r, unix.EPOLLIN, unix.EPOLLOUT, unix.EPOLLPRI, unix.EPOLLERR,
			unix.EPOLLHUP, unix.EPOLLRDHUP, unix.EPOLLEXCLUSIVE, unix.EPOLLWAKEUP, unix.EPOLLONESHOT, unix.EPOLLET)))
		binary.LittleEndian.PutUint64(b[4:], r.u64())
		return addr
	case kItimerspec:
		if r.one(8) {
			return c.badPointer(r)
		}
		addr, b := c.alloc(32)
		for i := 0; i < 2; i++ {
			sec, nsec := int64(0), int64(r.n(3_000_000))
			switch r.n(8) {
			case 0:
				sec = 1 << 40
			case 1:
				nsec = 1_000_000_000
			case 2:
				sec = -1
			case 3:
				nsec = 0
			}
			binary.LittleEndian.PutUint64(b[16*i:], uint64(sec))
			binary.LittleEndian.PutUint64(b[16*i+8:], uint64(nsec))
		}
		return addr
	case kSigevent:
		switch r.n(8) {
		case 0:
			return 0
		case 1:
			return c.badPointer(r)
		}
		addr, b := c.alloc(64)
		c.randomBytes(r, b)
		binary.LittleEndian.PutUint32(b[8:], uint32(c.signal(r)))
		notify := r.pick([]uint64{0, 1, 2, 4, uint64(r.n(8))})
		binary.LittleEndian.PutUint32(b[12:], uint32(notify))
		binary.LittleEndian.PutUint32(b[16:], uint32(r.pick([]uint64{uint64(c.tid), uint64(c.pid), 0, 99999})))
		return addr
	case kRlimitRes:
		return uint64(r.n(17))
	case kRlimit:
		return c.rlimit(r)
	case kXattr:
		return c.str([]string{"user.sysfuzz", "trusted.x", "security.capability", "system.posix_acl_access",
			"user.", "", "bogus", strings.Repeat("x", 300)}[r.n(8)])
	case kMqName:
		return c.str([]string{"/sysfuzz", "sysfuzz", "/", "/a/b", "", strings.Repeat("m", 300)}[r.n(6)])
	case kStruct:
		return c.structure(r)
	case kStructLen:
		return r.pick([]uint64{0, 8, 16, 24, 32, 48, 64, 72, 88, 104, 112, 120, 128, 256, 512, 4096, ^uint64(0), uint64(r.n(512))})
	case kCapHdr:
		addr, b := c.alloc(8)
		binary.LittleEndian.PutUint32(b, uint32(r.pick([]uint64{0x19980330, 0x20071026, 0x20080522, r.u64()})))
		binary.LittleEndian.PutUint32(b[4:], uint32(r.pick([]uint64{0, uint64(c.pid), 99999})))
		return addr
	case kIPC:
		if len(c.ipcIDs) > 0 && r.one(2) {
			return c.ipcIDs[r.n(len(c.ipcIDs))]
		}
		return r.pick([]uint64{0, 1, ^uint64(0), 1 << 31, uint64(r.n(64))})
	case kTimerID:
		return uint64(r.n(8))
	case kSigaction:
		if r.one(3) {
			return 0
		}
		addr, b := c.alloc(32)
		h := r.pick([]uint64{0 /* SIG_DFL */, 1 /* SIG_IGN */, c.badPointer(r)})
		binary.LittleEndian.PutUint64(b, h)
		binary.LittleEndian.PutUint64(b[8:], flagsOf(r, 1, 2, 4, saOnStack, 0x10000000, 0x40000000, 0x80000000, saRestorer))
		binary.LittleEndian.PutUint64(b[16:], c.badPointer(r))
		binary.LittleEndian.PutUint64(b[24:], r.u64())
		return addr
	case kStack:
		if r.n(10) < 8 {
			return 0
		}
		addr, b := c.alloc(24)
		binary.LittleEndian.PutUint64(b, c.arenaBase+arenaIn)
		binary.LittleEndian.PutUint32(b[8:], uint32(r.pick([]uint64{0, 2 /* SS_DISABLE */, 1, 0x80000000})))
		binary.LittleEndian.PutUint64(b[16:], r.pick([]uint64{arenaIn / 2, 0, 1024, 1 << 40}))
		return addr
	case kFstype:
		return c.str([]string{"tmpfs", "proc", "sysfs", "devpts", "overlay", "mqueue", "cgroup2", "bogus", ""}[r.n(9)])
	case kMountFlags:
		return flagsOf(r, unix.MS_RDONLY, unix.MS_NOSUID, unix.MS_NODEV, unix.MS_NOEXEC, unix.MS_REMOUNT,
			unix.MS_BIND, unix.MS_MOVE, unix.MS_REC, unix.MS_PRIVATE, unix.MS_SHARED, unix.MS_SLAVE, unix.MS_UNBINDABLE)
	}
	panic(fmt.Sprintf("unknown argument kind %d", k))
}

var ioctls = []uint64{
	0x541b /* FIONREAD */, 0x5421 /* FIONBIO */, 0x5451 /* FIOCLEX */, 0x5450 /* FIONCLEX */, 0x5452 /* FIOASYNC */, unix.TCGETS, unix.TCSETS,
	unix.TCSETSW, unix.TIOCGWINSZ, unix.TIOCSWINSZ, unix.TIOCGPTN, unix.TIOCSPTLCK, unix.TIOCGPGRP,
	unix.TIOCSPGRP, unix.TIOCSCTTY, unix.TIOCNOTTY, unix.TIOCSTI, unix.TIOCGSID, unix.TIOCOUTQ,
	unix.TIOCGPTPEER, unix.TCFLSH, unix.TCXONC, unix.TIOCEXCL, unix.TIOCNXCL, unix.TIOCSETD, unix.TIOCGETD,
	unix.SIOCGIFCONF, unix.SIOCGIFFLAGS, unix.SIOCSIFFLAGS, unix.SIOCGIFADDR, unix.SIOCGIFINDEX,
	unix.SIOCGIFNAME, unix.SIOCGIFMTU, unix.SIOCSIFMTU, unix.SIOCGIFHWADDR, unix.SIOCGIFNETMASK,
	unix.SIOCATMARK, unix.SIOCINQ, unix.SIOCOUTQ, unix.FS_IOC_GETFLAGS, unix.FS_IOC_SETFLAGS,
	unix.FICLONE, unix.BLKGETSIZE64, 0xc018aa3f /* UFFDIO_API */, 0xc020aa00 /* UFFDIO_REGISTER */, unix.TUNSETIFF,
	unix.NS_GET_USERNS, unix.NS_GET_PARENT, unix.PIDFD_GET_INFO, 0, 0xffffffff, 0x5401, 0x89ff,
}

var fcntlCmds = []uint64{
	unix.F_DUPFD, unix.F_GETFD, unix.F_SETFD, unix.F_GETFL, unix.F_SETFL, unix.F_GETLK, unix.F_SETLK,
	unix.F_SETLKW, unix.F_SETOWN, unix.F_GETOWN, unix.F_SETSIG, unix.F_GETSIG, unix.F_SETOWN_EX,
	unix.F_GETOWN_EX, unix.F_SETLEASE, unix.F_GETLEASE, unix.F_NOTIFY, unix.F_DUPFD_CLOEXEC,
	unix.F_SETPIPE_SZ, unix.F_GETPIPE_SZ, unix.F_ADD_SEALS, unix.F_GET_SEALS, unix.F_OFD_GETLK,
	unix.F_OFD_SETLK, unix.F_OFD_SETLKW, 1032, 1033, 1034, 1035, 1036, 4242,
}
