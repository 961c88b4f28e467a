package strace

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// argKind says how one syscall argument is formatted. Kinds named aPost...
// are output arguments: a pointer at entry (and after a failed call),
// decoded from memory after a successful call.
type argKind uint8

const (
	aHex            argKind = iota // 0x1f (0 for zero)
	aInt                           // signed 32-bit (C int, pid_t, uid_t)
	aLong                          // signed 64-bit (off_t, long)
	aUint                          // unsigned 64-bit (size_t)
	aFD                            // file descriptor
	aDirFD                         // file descriptor or AT_FDCWD
	aPtr                           // NULL or 0x...
	aPath                          // NUL-terminated string, up to pathMax bytes
	aInBuf                         // buffer whose length is the next argument
	aOutBuf                        // buffer filled by the call, length = return value
	aOutPath                       // string filled by the call (readlink, getcwd), length = return value
	aIovec                         // iovec array, count is the next argument
	aPostIovec                     // iovec array filled by the call, count is the next argument
	aStrArray                      // NULL-terminated array of strings (argv, envp)
	aOpenFlags                     // O_RDONLY|O_CLOEXEC
	aFDFlags                       // O_CLOEXEC|O_NONBLOCK without access mode (pipe2, dup3)
	aOpenMode                      // mode, omitted unless the previous argument has O_CREAT or O_TMPFILE
	aMode                          // octal mode
	aProt                          // PROT_READ|PROT_WRITE
	aMmapFlags                     // MAP_PRIVATE|MAP_ANONYMOUS
	aMremapFlags                   // MREMAP_MAYMOVE
	aMsyncFlags                    // MS_SYNC
	aAdvice                        // MADV_DONTNEED
	aSignal                        // SIGINT
	aSigHow                        // SIG_BLOCK
	aSigSet                        // [INT TERM]
	aPostSigSet                    // output sigset
	aSigAction                     // {sa_handler=..., ...}
	aPostSigAction                 // output sigaction
	aWhence                        // SEEK_SET
	aClockID                       // CLOCK_MONOTONIC
	aFcntlCmd                      // F_GETFD
	aFcntlArg                      // third fcntl argument, decoded by command
	aIoctlReq                      // TCGETS
	aArchPrctlCode                 // ARCH_SET_FS
	aArchPrctlArg                  // second arch_prctl argument, decoded by code
	aPrctlOption                   // PR_SET_NAME
	aAccessMode                    // R_OK|W_OK
	aAtFlags                       // AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH
	aAccessAtFlags                 // AT_EACCESS|AT_SYMLINK_NOFOLLOW (faccessat2)
	aStatxFlags                    // AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW
	aStatxMask                     // STATX_BASIC_STATS
	aRenameFlags                   // RENAME_NOREPLACE
	aTimespec                      // {tv_sec=1, tv_nsec=0}
	aPostTimespec                  // output timespec
	aTimeval                       // {tv_sec=1, tv_usec=0}
	aPostTimeval                   // output timeval
	aRlimitRes                     // RLIMIT_STACK
	aRlimit                        // {rlim_cur=..., rlim_max=...}
	aPostRlimit                    // output rlimit
	aPostFDPair                    // [3, 4] (pipe, pipe2, socketpair)
	aPostStat                      // {st_mode=S_IFREG|0644, st_size=..., ...}
	aPostStatx                     // {stx_mask=..., stx_mode=..., stx_size=..., ...}
	aPostUtsname                   // {sysname="Linux", nodename="...", ...}
	aPostDirents                   // 0x... /* 5 entries */
	aCloneFlags                    // CLONE_VM|...|SIGCHLD
	aUnshareFlags                  // CLONE_NEWNS|...
	aFutexOp                       // FUTEX_WAIT_PRIVATE
	aFutexTimeout                  // timespec for waits, a number for requeues
	aSockDomain                    // AF_INET
	aSockType                      // SOCK_STREAM|SOCK_CLOEXEC
	aSockAddr                      // {sa_family=AF_INET, ...}, length is the next argument
	aWaitOptions                   // WNOHANG|__WALL
	aPostWaitStatus                // [{WIFEXITED(s) && WEXITSTATUS(s) == 0}]
	aEpollOp                       // EPOLL_CTL_ADD
	aFlockOp                       // LOCK_EX|LOCK_NB
	aGrndFlags                     // GRND_NONBLOCK
	aMfdFlags                      // MFD_CLOEXEC
	aOmit                          // not printed (the high half of a split offset)
)

// omitted reports whether argument i of kind k is left out of the line.
func omitted(k argKind, args *[6]uint64, i int) bool {
	switch k {
	case aOmit:
		return true
	case aOpenMode:
		return i > 0 && args[i-1]&(unix.O_CREAT|unix.O_TMPFILE&^unix.O_DIRECTORY) == 0
	case aFcntlArg:
		switch args[1] {
		case unix.F_GETFD, unix.F_GETFL, unix.F_GETOWN, unix.F_GETSIG,
			unix.F_GETLEASE, unix.F_GETPIPE_SZ, unix.F_GET_SEALS:
			return true
		}
	}
	return false
}

// arg prints argument i, of kind k.
func (p *printer) arg(k argKind, i int, args *[6]uint64, ph phase, ret uint64) {
	v := args[i]
	next := uint64(0)
	if i+1 < 6 {
		next = args[i+1]
	}
	post := ph == atExitOK // output arguments are meaningful
	switch k {
	case aInt:
		p.dec(int64(int32(v)))
	case aLong:
		p.dec(int64(v))
	case aUint:
		p.udec(v)
	case aFD:
		p.dec(int64(int32(v)))
	case aDirFD:
		if int32(v) == unix.AT_FDCWD {
			p.s("AT_FDCWD")
		} else {
			p.dec(int64(int32(v)))
		}
	case aPtr:
		p.ptr(v)
	case aPath:
		p.str(v, pathMax)
	case aInBuf:
		p.buf(v, next)
	case aOutBuf:
		if post {
			p.buf(v, ret)
		} else {
			p.ptr(v)
		}
	case aOutPath:
		if post {
			p.pathBuf(v, ret)
		} else {
			p.ptr(v)
		}
	case aIovec:
		p.iovec(v, next, ^uint64(0))
	case aPostIovec:
		if post {
			p.iovec(v, next, ret)
		} else {
			p.ptr(v)
		}
	case aStrArray:
		p.strArray(v)
	case aOpenFlags:
		p.openFlags(v)
	case aFDFlags:
		p.flags(v, fdOpenFlags)
	case aOpenMode, aMode:
		p.mode(v)
	case aProt:
		if v == 0 {
			p.s("PROT_NONE")
		} else {
			p.flags(v, protFlags)
		}
	case aMmapFlags:
		p.mmapFlags(v)
	case aMremapFlags:
		p.flags(v, mremapFlags)
	case aMsyncFlags:
		p.flags(v, msyncFlags)
	case aAdvice:
		p.enum(v, madvNames)
	case aSignal:
		p.signal(v)
	case aSigHow:
		p.enum(v, sigHowNames)
	case aSigSet:
		p.sigSetAt(v)
	case aPostSigSet:
		if post {
			p.sigSetAt(v)
		} else {
			p.ptr(v)
		}
	case aSigAction:
		p.sigAction(v)
	case aPostSigAction:
		if post {
			p.sigAction(v)
		} else {
			p.ptr(v)
		}
	case aWhence:
		p.enum(v, whenceNames)
	case aClockID:
		p.clockID(v)
	case aFcntlCmd:
		p.enum(v, fcntlNames)
	case aFcntlArg:
		p.fcntlArg(args[1], v)
	case aIoctlReq:
		p.enum(v, ioctlNames)
	case aArchPrctlCode:
		p.enum(v, archPrctlNames)
	case aArchPrctlArg:
		switch args[0] {
		case 0x1003, 0x1004: // ARCH_GET_FS, ARCH_GET_GS
			if post {
				if x, ok := p.readU64(v); ok {
					p.b = append(p.b, '[')
					p.ptrHex(x)
					p.b = append(p.b, ']')
					return
				}
			}
			p.ptr(v)
		default:
			p.ptrHex(v)
		}
	case aPrctlOption:
		p.enum(v, prctlNames)
	case aAccessMode:
		if v == 0 {
			p.s("F_OK")
		} else {
			p.flags(v, accessFlags)
		}
	case aAtFlags:
		p.flags(v, atFlags)
	case aAccessAtFlags:
		p.flags(v, accessAtFlags)
	case aStatxFlags:
		if v&(unix.AT_STATX_FORCE_SYNC|unix.AT_STATX_DONT_SYNC) == 0 {
			p.s("AT_STATX_SYNC_AS_STAT")
			if v == 0 {
				return
			}
			p.b = append(p.b, '|')
		}
		p.flags(v, atFlags)
	case aStatxMask:
		p.flags(v, statxMask)
	case aRenameFlags:
		p.flags(v, renameFlags)
	case aTimespec:
		p.timespec(v, "tv_nsec")
	case aPostTimespec:
		if post {
			p.timespec(v, "tv_nsec")
		} else {
			p.ptr(v)
		}
	case aTimeval:
		p.timespec(v, "tv_usec")
	case aPostTimeval:
		if post {
			p.timespec(v, "tv_usec")
		} else {
			p.ptr(v)
		}
	case aRlimitRes:
		p.enum(v, rlimitNames)
	case aRlimit:
		p.rlimit(v)
	case aPostRlimit:
		if post {
			p.rlimit(v)
		} else {
			p.ptr(v)
		}
	case aPostFDPair:
		if post {
			p.fdPair(v)
		} else {
			p.ptr(v)
		}
	case aPostStat:
		if post {
			p.stat(v)
		} else {
			p.ptr(v)
		}
	case aPostStatx:
		if post {
			p.statx(v)
		} else {
			p.ptr(v)
		}
	case aPostUtsname:
		if post {
			p.utsname(v)
		} else {
			p.ptr(v)
		}
	case aPostDirents:
		p.ptr(v)
		if post {
			p.dirents(v, ret)
		}
	case aCloneFlags:
		p.cloneFlags(v, true)
	case aUnshareFlags:
		p.cloneFlags(v, false)
	case aFutexOp:
		p.futexOp(v)
	case aFutexTimeout:
		switch args[1] &^ (futexPrivate | futexClockRealtime) {
		case 0, 6, 9, 11, 13: // WAIT, LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2
			p.timespec(v, "tv_nsec")
		default:
			p.udec(v)
		}
	case aSockDomain:
		p.enum(v, afNames)
	case aSockType:
		p.sockType(v)
	case aSockAddr:
		p.sockaddr(v, next)
	case aWaitOptions:
		p.flags(v, waitFlags)
	case aPostWaitStatus:
		if post && ret != 0 {
			p.waitStatus(v)
		} else {
			p.ptr(v)
		}
	case aEpollOp:
		p.enum(v, epollOpNames)
	case aFlockOp:
		p.flags(v, flockFlags)
	case aGrndFlags:
		p.flags(v, grndFlags)
	case aMfdFlags:
		p.flags(v, mfdFlags)
	default: // aHex
		p.hex(v)
	}
}

// flag is one named bit pattern of a flag set.
type flag struct {
	v    uint64
	name string
}

// flags prints v as NAME|NAME|0x..., testing the patterns in order (a
// multi-bit pattern must come before its parts); zero prints "0".
func (p *printer) flags(v uint64, set []flag) {
	if v == 0 {
		p.b = append(p.b, '0')
		return
	}
	first := true
	for _, f := range set {
		if f.v != 0 && v&f.v == f.v {
			if !first {
				p.b = append(p.b, '|')
			}
			first = false
			p.s(f.name)
			v &^= f.v
		}
	}
	if v != 0 {
		if !first {
			p.b = append(p.b, '|')
		}
		p.ptrHex(v)
	}
}

// enum prints the name of v, or v in hex.
func (p *printer) enum(v uint64, names map[uint64]string) {
	if n, ok := names[v]; ok {
		p.s(n)
		return
	}
	p.hex(v)
}

func (p *printer) openFlags(v uint64) {
	switch v & unix.O_ACCMODE {
	case unix.O_RDONLY:
		p.s("O_RDONLY")
	case unix.O_WRONLY:
		p.s("O_WRONLY")
	case unix.O_RDWR:
		p.s("O_RDWR")
	default:
		p.s("O_ACCMODE")
	}
	v &^= unix.O_ACCMODE
	if v != 0 {
		p.b = append(p.b, '|')
		p.flags(v, openFlags)
	}
}

func (p *printer) mode(v uint64) {
	if t := v & unix.S_IFMT; t != 0 {
		if n, ok := fileTypes[t]; ok {
			p.s(n)
			p.b = append(p.b, '|')
			v &^= unix.S_IFMT
		}
	}
	// Like C's %#03o: 0644, 022, 000.
	var d [24]byte
	o := d[:0]
	if v != 0 {
		o = append(o, '0')
	}
	o = appendOctal(o, v)
	for i := len(o); i < 3; i++ {
		p.b = append(p.b, '0')
	}
	p.b = append(p.b, o...)
}

func appendOctal(b []byte, v uint64) []byte {
	var d [22]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v&7)
		v >>= 3
		if v == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

func (p *printer) mmapFlags(v uint64) {
	switch v & 3 {
	case unix.MAP_SHARED:
		p.s("MAP_SHARED")
	case unix.MAP_PRIVATE:
		p.s("MAP_PRIVATE")
	case unix.MAP_SHARED_VALIDATE:
		p.s("MAP_SHARED_VALIDATE")
	default:
		p.b = append(p.b, '0')
	}
	v &^= 3
	huge := uint64(0)
	if v&unix.MAP_HUGETLB != 0 {
		huge = v >> unix.MAP_HUGE_SHIFT & unix.MAP_HUGE_MASK
		v &^= huge << unix.MAP_HUGE_SHIFT
	}
	if v != 0 {
		p.b = append(p.b, '|')
		p.flags(v, mmapFlags)
	}
	if huge != 0 {
		p.b = append(p.b, '|')
		p.udec(huge)
		p.s("<<MAP_HUGE_SHIFT")
	}
}

func (p *printer) signal(v uint64) {
	s := int64(int32(v))
	switch {
	case s > 0 && s < int64(len(signalNames)):
		p.s("SIG")
		p.s(signalNames[s])
	case s == 32:
		p.s("SIGRTMIN")
	case s > 32 && s <= 64:
		p.s("SIGRT_")
		p.dec(s - 32)
	default:
		p.dec(s)
	}
}

// sigSet prints a 64-signal mask: [INT TERM], or ~[...] when most signals
// are in it.
func (p *printer) sigSet(m uint64) {
	n := 0
	for x := m; x != 0; x &= x - 1 {
		n++
	}
	if n > 32 {
		p.b = append(p.b, '~')
		m = ^m
	}
	p.b = append(p.b, '[')
	first := true
	for sig := 1; sig <= 64; sig++ {
		if m&(1<<(sig-1)) == 0 {
			continue
		}
		if !first {
			p.b = append(p.b, ' ')
		}
		first = false
		switch {
		case sig < len(signalNames):
			p.s(signalNames[sig])
		case sig == 32:
			p.s("RTMIN")
		default:
			p.s("RT_")
			p.dec(int64(sig - 32))
		}
	}
	p.b = append(p.b, ']')
}

func (p *printer) sigSetAt(addr uint64) {
	if addr == 0 {
		p.s("NULL")
		return
	}
	m, ok := p.readU64(addr)
	if !ok {
		p.ptr(addr)
		return
	}
	p.sigSet(m)
}

// sigAction prints a kernel struct sigaction (handler, flags, restorer, mask).
func (p *printer) sigAction(addr uint64) {
	var b [32]byte
	if addr == 0 || !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	handler, fl, restorer, mask := le64(b[0:]), le64(b[8:]), le64(b[16:]), le64(b[24:])
	p.s("{sa_handler=")
	switch handler {
	case 0:
		p.s("SIG_DFL")
	case 1:
		p.s("SIG_IGN")
	default:
		p.ptrHex(handler)
	}
	p.s(", sa_mask=")
	p.sigSet(mask)
	p.s(", sa_flags=")
	p.flags(fl, saFlags)
	if fl&saRestorer != 0 {
		p.s(", sa_restorer=")
		p.ptrHex(restorer)
	}
	p.b = append(p.b, '}')
}

func (p *printer) clockID(v uint64) {
	if n, ok := clockNames[v]; ok {
		p.s(n)
		return
	}
	p.dec(int64(int32(v)))
}

func (p *printer) fcntlArg(cmd, v uint64) {
	switch cmd {
	case unix.F_SETFD:
		p.flags(v, fdFlags)
	case unix.F_SETFL:
		p.openFlags(v)
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_SETOWN, unix.F_SETLEASE,
		unix.F_SETPIPE_SZ:
		p.dec(int64(int32(v)))
	case unix.F_SETSIG:
		p.signal(v)
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, unix.F_OFD_GETLK,
		unix.F_OFD_SETLK, unix.F_OFD_SETLKW, unix.F_GETOWN_EX, unix.F_SETOWN_EX:
		p.ptr(v)
	default:
		p.hex(v)
	}
}

// timespec prints a {tv_sec, tv_nsec} (or tv_usec) pair.
func (p *printer) timespec(addr uint64, sub string) {
	var b [16]byte
	if addr == 0 || !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	p.s("{tv_sec=")
	p.dec(int64(le64(b[0:])))
	p.s(", ")
	p.s(sub)
	p.b = append(p.b, '=')
	p.dec(int64(le64(b[8:])))
	p.b = append(p.b, '}')
}

func (p *printer) rlimit(addr uint64) {
	var b [16]byte
	if addr == 0 || !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	p.s("{rlim_cur=")
	p.rlim(le64(b[0:]))
	p.s(", rlim_max=")
	p.rlim(le64(b[8:]))
	p.b = append(p.b, '}')
}

func (p *printer) rlim(v uint64) {
	if v == ^uint64(0) {
		p.s("RLIM64_INFINITY")
		return
	}
	p.udec(v)
}

func (p *printer) fdPair(addr uint64) {
	var b [8]byte
	if addr == 0 || !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	p.b = append(p.b, '[')
	p.dec(int64(int32(le32(b[0:]))))
	p.s(", ")
	p.dec(int64(int32(le32(b[4:]))))
	p.b = append(p.b, ']')
}

// iovec prints the first element of an iovec array of cnt elements, with at
// most limit bytes of its data.
func (p *printer) iovec(addr, cnt, limit uint64) {
	if addr == 0 {
		p.s("NULL")
		return
	}
	if cnt == 0 {
		p.s("[]")
		return
	}
	var b [16]byte
	if !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	base, n := le64(b[0:]), le64(b[8:])
	p.s("[{iov_base=")
	show := n
	if limit < show {
		show = limit
	}
	p.buf(base, show)
	p.s(", iov_len=")
	p.udec(n)
	p.b = append(p.b, '}')
	if cnt > 1 {
		p.s(", ...")
	}
	p.b = append(p.b, ']')
}

// strArray prints the first argvMax strings of a NULL-terminated array.
func (p *printer) strArray(addr uint64) {
	if addr == 0 {
		p.s("NULL")
		return
	}
	start := len(p.b)
	p.b = append(p.b, '[')
	for i := uint64(0); ; i++ {
		s, ok := p.readU64(addr + 8*i)
		if !ok {
			if i == 0 {
				p.b = p.b[:start]
				p.ptr(addr)
				return
			}
			p.s(", ...")
			break
		}
		if s == 0 {
			break
		}
		if i > 0 {
			p.s(", ")
		}
		if i == argvMax {
			p.s("...")
			break
		}
		p.str(s, argvStrMax)
	}
	p.b = append(p.b, ']')
}

func (p *printer) stat(addr uint64) {
	var b [56]byte
	if addr == 0 || !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	mode := uint64(le32(b[24:]))
	p.s("{st_mode=")
	p.mode(mode)
	if t := mode & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK {
		p.s(", st_rdev=")
		p.makedev(le64(b[40:]))
	} else {
		p.s(", st_size=")
		p.dec(int64(le64(b[48:])))
	}
	p.s(", ...}")
}

func (p *printer) makedev(dev uint64) {
	p.s("makedev(")
	p.hex(uint64(unix.Major(dev)))
	p.s(", ")
	p.hex(uint64(unix.Minor(dev)))
	p.b = append(p.b, ')')
}

func (p *printer) statx(addr uint64) {
	var b [136]byte
	if addr == 0 || !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	mode := uint64(le16(b[28:]))
	p.s("{stx_mask=")
	p.flags(uint64(le32(b[0:])), statxMask)
	p.s(", stx_mode=")
	p.mode(mode)
	if t := mode & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK {
		p.s(", stx_rdev_major=")
		p.udec(uint64(le32(b[128:])))
		p.s(", stx_rdev_minor=")
		p.udec(uint64(le32(b[132:])))
	} else {
		p.s(", stx_size=")
		p.udec(le64(b[40:]))
	}
	p.s(", ...}")
}

func (p *printer) utsname(addr uint64) {
	var b [2 * 65]byte
	if addr == 0 || !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	p.s("{sysname=")
	p.quote(cstr(b[:65]))
	p.s(", nodename=")
	p.quote(cstr(b[65:]))
	p.s(", ...}")
}

// cstr returns b up to its first NUL.
func cstr(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// dirents appends ` /* N entries */` for a getdents/getdents64 buffer of n
// bytes (both dirent layouts keep d_reclen at offset 16).
func (p *printer) dirents(addr, n uint64) {
	if n > direntsMax {
		n = direntsMax
	}
	var chunk [4096]byte
	var base, have uint64 // chunk holds [base, base+have)
	count := 0
	for off := uint64(0); off+18 <= n; {
		if off < base || off+18 > base+have {
			m := n - off
			if m > uint64(len(chunk)) {
				m = uint64(len(chunk))
			}
			if !p.read(addr+off, chunk[:m]) {
				return
			}
			base, have = off, m
		}
		reclen := uint64(le16(chunk[off-base+16:]))
		if reclen == 0 {
			break
		}
		count++
		off += reclen
	}
	p.s(" /* ")
	p.dec(int64(count))
	if count == 1 {
		p.s(" entry */")
	} else {
		p.s(" entries */")
	}
}

func (p *printer) cloneFlags(v uint64, withSignal bool) {
	sig := uint64(0)
	if withSignal {
		sig = v & unix.CSIGNAL
		v &^= unix.CSIGNAL
	}
	if v == 0 && sig == 0 {
		p.b = append(p.b, '0')
		return
	}
	if v != 0 {
		p.flags(v, cloneFlags)
		if sig != 0 {
			p.b = append(p.b, '|')
		}
	}
	if sig != 0 {
		p.signal(sig)
	}
}

const (
	futexPrivate       = 128
	futexClockRealtime = 256
)

func (p *printer) futexOp(v uint64) {
	cmd := v &^ (futexPrivate | futexClockRealtime)
	if n, ok := futexNames[cmd]; ok {
		p.s(n)
		if v&futexPrivate != 0 {
			p.s("_PRIVATE")
		}
	} else {
		p.hex(cmd)
		if v&futexPrivate != 0 {
			p.s("|FUTEX_PRIVATE_FLAG")
		}
	}
	if v&futexClockRealtime != 0 {
		p.s("|FUTEX_CLOCK_REALTIME")
	}
}

func (p *printer) sockType(v uint64) {
	t := v & 0xf
	if n, ok := sockTypeNames[t]; ok {
		p.s(n)
	} else {
		p.hex(t)
	}
	if v &^= 0xf; v != 0 {
		p.b = append(p.b, '|')
		p.flags(v, sockFlags)
	}
}

func (p *printer) sockaddr(addr, n uint64) {
	var b [128]byte
	if n > uint64(len(b)) {
		n = uint64(len(b))
	}
	if addr == 0 || n < 2 || !p.read(addr, b[:n]) {
		p.ptr(addr)
		return
	}
	fam := uint64(le16(b[:]))
	p.s("{sa_family=")
	p.enum(fam, afNames)
	switch {
	case fam == unix.AF_UNIX:
		path := b[2:n]
		p.s(", sun_path=")
		if len(path) > 0 && path[0] == 0 {
			p.b = append(p.b, '@')
			p.quote(path[1:])
		} else {
			p.quote(cstr(path))
		}
	case fam == unix.AF_INET && n >= 8:
		p.s(", sin_port=htons(")
		p.udec(uint64(b[2])<<8 | uint64(b[3]))
		p.s("), sin_addr=inet_addr(\"")
		p.b = netip.AddrFrom4([4]byte(b[4:8])).AppendTo(p.b)
		p.s("\")")
	case fam == unix.AF_INET6 && n >= 24:
		p.s(", sin6_port=htons(")
		p.udec(uint64(b[2])<<8 | uint64(b[3]))
		p.s("), sin6_addr=\"")
		p.b = netip.AddrFrom16([16]byte(b[8:24])).AppendTo(p.b)
		p.b = append(p.b, '"')
	default:
		p.s(", ...")
	}
	p.b = append(p.b, '}')
}

func (p *printer) waitStatus(addr uint64) {
	var b [4]byte
	if addr == 0 || !p.read(addr, b[:]) {
		p.ptr(addr)
		return
	}
	s := le32(b[:])
	p.s("[{")
	switch {
	case s&0x7f == 0:
		p.s("WIFEXITED(s) && WEXITSTATUS(s) == ")
		p.dec(int64(s >> 8 & 0xff))
	case s&0xff == 0x7f:
		p.s("WIFSTOPPED(s) && WSTOPSIG(s) == ")
		p.signal(uint64(s >> 8 & 0xff))
	case s == 0xffff:
		p.s("WIFCONTINUED(s)")
	default:
		p.s("WIFSIGNALED(s) && WTERMSIG(s) == ")
		p.signal(uint64(s & 0x7f))
		if s&0x80 != 0 {
			p.s(" && WCOREDUMP(s)")
		}
	}
	p.s("}]")
}
