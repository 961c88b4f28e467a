package main

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Addresses the application does not own: the host kernel's, the
// vsyscall page, non-canonical ones, and (on systrap) the stub's code and
// the thread regions the sentry shares with the stub.
var foreignAddrs = []struct {
	name string
	addr uintptr
}{
	{"kernel direct map", 0xffff888000000000},
	{"kernel text", 0xffffffff81000000},
	{"vsyscall", 0xffffffffff600000},
	{"non-canonical low", 0x0000800000000000},
	{"non-canonical high", 0x8000000000000000},
	{"top of the address space", 0xfffffffffffff000},
	{"systrap stub code", stubStart},
	{"systrap stub data", stubStart + 0x1000},
	{"systrap thread region", stubStart + 0x100000},
	{"end of the host's user range", 0x7ffffffff000},
}

// rawIovec is struct iovec with a base that need not be a Go pointer.
type rawIovec struct{ base, len uintptr }

// The systrap stub's layout (sentry/platform/systrap/stub.go).
const (
	stubStart       = 0x7f0000000000
	stubSyscallAddr = stubStart + 64 + 2*56
)

// argCases pass pointers and lengths the sentry must refuse: kernel
// addresses, wrapped ranges, huge lengths, ranges ending in a guard page,
// and address-space changes over the stub.
func argCases() {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fd := f.Fd()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		panic(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	unix.Syscall(unix.SYS_FCNTL, uintptr(p[1]), unix.F_SETPIPE_SZ, 1<<20)

	k := newCase("foreign-pointers-in", "the sentry writing into memory the application does not own (kernel, vsyscall, non-canonical, the stub) for read/pread/readv/getcwd/uname/fstat/getdents64")
	drain := make([]byte, 1<<16)
	for _, a := range foreignAddrs {
		iov := rawIovec{a.addr, 4096}
		dirfd, _ := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		calls := []struct {
			name string
			nr   uintptr
			args [3]uintptr
		}{
			{"read", unix.SYS_READ, [3]uintptr{fd, a.addr, 4096}},
			{"pread64", unix.SYS_PREAD64, [3]uintptr{fd, a.addr, 4096}},
			{"readv", unix.SYS_READV, [3]uintptr{fd, uintptr(unsafe.Pointer(&iov)), 1}},
			{"getcwd", unix.SYS_GETCWD, [3]uintptr{a.addr, 4096, 0}},
			{"uname", unix.SYS_UNAME, [3]uintptr{a.addr, 0, 0}},
			{"fstat", unix.SYS_FSTAT, [3]uintptr{fd, a.addr, 0}},
			{"getdents64", unix.SYS_GETDENTS64, [3]uintptr{uintptr(dirfd), a.addr, 4096}},
			{"clock_gettime", unix.SYS_CLOCK_GETTIME, [3]uintptr{0, a.addr, 0}},
			{"pipe2", unix.SYS_PIPE2, [3]uintptr{a.addr, 0, 0}},
		}
		var out []string
		for _, c := range calls {
			r, _, e := unix.Syscall(c.nr, c.args[0], c.args[1], c.args[2])
			runtime.KeepAlive(&iov)
			if e == 0 {
				k.escape("%s into %s (%#x) returned %d", c.name, a.name, a.addr, r)
			}
			out = append(out, c.name+" "+rawErr(e))
		}
		unix.Close(dirfd)
		k.note("%s %#x: %v", a.name, a.addr, out)
	}
	k.done()

	k = newCase("foreign-pointers-out", "the sentry reading memory the application does not own (kernel, vsyscall, non-canonical, the stub) for write/pwrite/writev/sendto/open/sethostname")
	for _, a := range foreignAddrs {
		iov := rawIovec{a.addr, 4096}
		var out []string
		for _, c := range []struct {
			name string
			nr   uintptr
			args [3]uintptr
		}{
			{"write", unix.SYS_WRITE, [3]uintptr{uintptr(p[1]), a.addr, 4096}},
			{"writev", unix.SYS_WRITEV, [3]uintptr{uintptr(p[1]), uintptr(unsafe.Pointer(&iov)), 1}},
			{"open", unix.SYS_OPEN, [3]uintptr{a.addr, 0, 0}},
			{"sethostname", unix.SYS_SETHOSTNAME, [3]uintptr{a.addr, 16, 0}},
		} {
			r, _, e := unix.Syscall(c.nr, c.args[0], c.args[1], c.args[2])
			runtime.KeepAlive(&iov)
			if e == 0 && r > 0 && c.name != "open" {
				n, _ := unix.Read(p[0], drain)
				k.escape("%s from %s (%#x) took %d bytes: %x", c.name, a.name, a.addr, r, drain[:min(n, 32)])
			} else if e == 0 && c.name == "open" {
				k.escape("open of a path at %s (%#x) succeeded", a.name, a.addr)
				unix.Close(int(r))
			}
			out = append(out, c.name+" "+rawErr(e))
		}
		k.note("%s %#x: %v", a.name, a.addr, out)
	}
	unix.Read(p[0], drain)
	k.done()

	wrapped(fd, p)
	guardPage(fd, p)
	stubMappings()
	procSelfMem()
	ioctls()
}

// wrapped passes ranges whose end wraps around the address space or
// whose lengths overflow when summed.
func wrapped(fd uintptr, p [2]int) {
	k := newCase("wrapped-ranges", "copies whose start+length wraps to low memory, iovec sums that overflow, lengths of 2^62..2^64-1, all into or from one page followed by an unmapped one")
	b, err := guardedPage()
	if err != nil {
		k.note("mmap: %s", errno(err))
		k.done()
		return
	}
	defer unix.Syscall(unix.SYS_MUNMAP, b, 4096, 0)
	tries := []struct {
		name string
		nr   uintptr
		args [3]uintptr
	}{
		{"read top+8K", unix.SYS_READ, [3]uintptr{fd, 0xfffffffffffff000, 0x2000}},
		{"write top+8K", unix.SYS_WRITE, [3]uintptr{uintptr(p[1]), 0xfffffffffffff000, 0x2000}},
		{"read buf wrapping", unix.SYS_READ, [3]uintptr{fd, b, ^uintptr(0) - b + 0x1001}},
		{"write buf wrapping", unix.SYS_WRITE, [3]uintptr{uintptr(p[1]), b, ^uintptr(0) - b + 0x1001}},
		{"read 2^62", unix.SYS_READ, [3]uintptr{fd, b, 1 << 62}},
		{"read 2^64-1", unix.SYS_READ, [3]uintptr{fd, b, ^uintptr(0)}},
		{"write 2^63", unix.SYS_WRITE, [3]uintptr{uintptr(p[1]), b, 1 << 63}},
		{"getcwd 2^63", unix.SYS_GETCWD, [3]uintptr{b, 1 << 63, 0}},
		{"getdents64 2^63", unix.SYS_GETDENTS64, [3]uintptr{fd, b, 1 << 63}},
	}
	for _, t := range tries {
		r, _, e := unix.Syscall(t.nr, t.args[0], t.args[1], t.args[2])
		if e == 0 && r > 4096 {
			k.escape("%s moved %d bytes through a 4096-byte buffer", t.name, r)
		}
		k.note("%s: %d %s", t.name, int64(r), rawErr(e))
		unix.Seek(int(fd), 0, 0)
	}
	drain := make([]byte, 1<<16)
	for unix.Read(p[0], drain); ; {
		if n, _ := unix.Read(p[0], drain); n <= 0 {
			break
		}
	}
	// iovecs: one of 2^63 (negative as ssize_t), two summing past 2^64,
	// one pointing at the top of memory.
	for _, iovs := range [][]rawIovec{
		{{b, 1 << 63}},
		{{b, 1<<63 - 1}, {b, 1<<63 - 1}, {b, 4}},
		{{b, 16}, {0xfffffffffffff000, 0x2000}},
	} {
		r, _, e := unix.Syscall(unix.SYS_READV, fd, uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
		if e == 0 && r > 4096 {
			k.escape("readv moved %d bytes into a 4096-byte buffer", r)
		}
		r2, _, e2 := unix.Syscall(unix.SYS_WRITEV, uintptr(p[1]), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
		if e2 == 0 && r2 > 4096 {
			k.escape("writev took %d bytes from a 4096-byte buffer", r2)
		}
		k.note("readv %d iovecs: %d %s; writev: %d %s", len(iovs), int64(r), rawErr(e), int64(r2), rawErr(e2))
		unix.Seek(int(fd), 0, 0)
		unix.Read(p[0], drain)
	}
	// A huge iovec count.
	_, _, e := unix.Syscall(unix.SYS_READV, fd, b, 1<<31)
	k.note("readv with 2^31 iovecs: %s", rawErr(e))
	k.done()
}

// guardedPage maps a page whose next page is unmapped: copies longer
// than a page into or from it must stop at the hole, whatever length
// they ask for.
func guardedPage() (uintptr, error) {
	r, _, e := unix.Syscall6(unix.SYS_MMAP, 0, 2*4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
	if e != 0 {
		return 0, e
	}
	unix.Syscall(unix.SYS_MUNMAP, r+4096, 4096, 0)
	return r, nil
}

// guardPage copies from and into a page followed by an unmapped one: the
// sentry must stop at the hole and must not map it.
func guardPage(fd uintptr, p [2]int) {
	k := newCase("guard-page", "bytes beyond a mapping (the sentry's own memory) through copies that run into an unmapped page")
	mem, err := unix.Mmap(-1, 0, 2*4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		k.note("mmap: %s", errno(err))
		k.done()
		return
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	hole := base + 4096
	if _, _, e := unix.Syscall(unix.SYS_MUNMAP, hole, 4096, 0); e != 0 {
		k.note("munmap: %s", rawErr(e))
	}
	for i := range 4096 {
		mem[i] = 'g'
	}
	r, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(p[1]), base, 8192)
	if e == 0 && r > 4096 {
		k.escape("write took %d bytes from a 4096-byte mapping", r)
	}
	k.note("write 8192 from a 4096-byte mapping: %d %s", int64(r), rawErr(e))
	drain := make([]byte, 1<<16)
	unix.Read(p[0], drain)
	unix.Seek(int(fd), 0, 0)
	r, _, e = unix.Syscall(unix.SYS_READ, fd, base+4090, 8192)
	if e == 0 && r > 6 {
		k.escape("read put %d bytes where 6 were mapped", r)
	}
	k.note("read 8192 into the last 6 mapped bytes: %d %s", int64(r), rawErr(e))
	vec := make([]byte, 1)
	_, _, e = unix.Syscall(unix.SYS_MINCORE, hole, 4096, uintptr(unsafe.Pointer(&vec[0])))
	if e == 0 {
		k.escape("the unmapped page is mapped after the copies")
	}
	k.note("mincore of the hole: %s", rawErr(e))
	if _, ok := peek(hole); ok {
		k.escape("the unmapped page is readable")
	}
	unix.Syscall(unix.SYS_MUNMAP, base, 4096, 0)
	k.done()
}

// stubMappings asks the sentry to map, unmap, protect and move memory
// over the systrap stub (above the application's range) and over kernel
// addresses.
func stubMappings() {
	k := newCase("stub-and-kernel-mappings", "mappings over the systrap stub's code and thread regions, and at kernel addresses (mmap MAP_FIXED, mremap, munmap, mprotect, madvise)")
	for _, a := range []struct {
		name      string
		addr, len uintptr
		// stub marks the systrap stub's range, which is the
		// application's own on the other platforms.
		stub bool
	}{
		{"stub code", stubStart, 0x1000, true},
		{"stub thread regions", stubStart + 0x100000, 0x10000, true},
		{"range ending in the stub", stubStart - 0x10000, 0x20000, true},
		{"kernel", 0xffff888000000000, 0x1000, false},
		{"non-canonical", 0x0000800000000000, 0x1000, false},
		{"wrapping", 0xfffffffffffff000, 0x2000, false},
	} {
		if a.stub && cfg.Platform != "systrap" {
			k.note("%s %#x: platform %s has no stub there", a.name, a.addr, cfg.Platform)
			continue
		}
		r, _, e := unix.Syscall6(unix.SYS_MMAP, a.addr, a.len, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, ^uintptr(0), 0)
		if e == 0 {
			k.escape("mmap MAP_FIXED at %s (%#x) returned %#x", a.name, a.addr, r)
			unix.Syscall(unix.SYS_MUNMAP, r, a.len, 0)
		}
		var out []string
		out = append(out, "mmap "+rawErr(e))
		m, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err == nil {
			// Moved and grown to cover the whole range.
			r, _, e := unix.Syscall6(unix.SYS_MREMAP, uintptr(unsafe.Pointer(&m[0])), 4096, a.len, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, a.addr, 0)
			if e == 0 {
				k.escape("mremap to %s (%#x) returned %#x", a.name, a.addr, r)
			} else {
				unix.Munmap(m)
			}
			out = append(out, "mremap "+rawErr(e))
		}
		_, _, e = unix.Syscall(unix.SYS_MPROTECT, a.addr, a.len, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC)
		out = append(out, "mprotect "+rawErr(e))
		if e == 0 && a.addr >= stubStart && a.addr < 0x800000000000 {
			// The call "worked": the stub's page must still not be the
			// application's to write.
			if b, ok := peek(a.addr); ok && poke(a.addr, b) {
				k.escape("after mprotect, the application wrote into %s at %#x", a.name, a.addr)
			}
		}
		_, _, e = unix.Syscall(unix.SYS_MADVISE, a.addr, a.len, unix.MADV_DONTNEED)
		out = append(out, "madvise "+rawErr(e))
		_, _, e = unix.Syscall(unix.SYS_MUNMAP, a.addr, a.len, 0)
		out = append(out, "munmap "+rawErr(e))
		k.note("%s %#x: %v", a.name, a.addr, out)
	}
	// Growing the heap into the stub.
	cur, _, _ := unix.Syscall(unix.SYS_BRK, 0, 0, 0)
	r, _, _ := unix.Syscall(unix.SYS_BRK, stubStart+0x2000, 0, 0)
	if r == stubStart+0x2000 {
		k.escape("brk grew the heap over the stub")
	}
	k.note("brk to the stub's end: %#x (was %#x)", r, cur)
	if cfg.Platform == "systrap" {
		if b, ok := peek(stubSyscallAddr); ok {
			k.note("the stub's syscall instruction still reads %#x", b)
		}
	}
	k.done()
}

// procSelfMem reads and writes /proc/self/mem at addresses the
// application does not own.
func procSelfMem() {
	k := newCase("proc-self-mem", "kernel memory and the systrap stub through /proc/self/mem and /proc/1/mem (pread, pwrite)")
	for _, file := range []string{"/proc/self/mem", "/proc/1/mem"} {
		f, err := os.OpenFile(file, os.O_RDWR, 0)
		if err != nil {
			k.note("open %s: %s", file, errno(err))
			continue
		}
		buf := make([]byte, 64)
		for _, a := range foreignAddrs {
			n, err := unix.Pread(int(f.Fd()), buf, int64(a.addr))
			if n > 0 {
				k.escape("%s: pread at %s (%#x) returned %d bytes: %x", file, a.name, a.addr, n, buf[:min(n, 16)])
			}
			// Writing a byte of int3 at the stub's code would change
			// the host process the application runs in.
			w, werr := unix.Pwrite(int(f.Fd()), []byte{0xcc}, int64(a.addr))
			if w > 0 {
				k.escape("%s: pwrite at %s (%#x) wrote", file, a.name, a.addr)
			}
			k.note("%s %s: pread %s, pwrite %s", file, a.name, errno(err), errno(werr))
		}
		f.Close()
	}
	k.done()
}

// ioctls sends requests with foreign pointers and unknown numbers to the
// descriptors a container has, including TIOCSTI (pushing input into a
// terminal the host might share).
func ioctls() {
	k := newCase("ioctl-garbage", "host streams and devices through ioctl: TIOCSTI on the standard streams, unknown requests with kernel pointers")
	c := byte('x')
	for _, fd := range []int{0, 1, 2} {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSTI, uintptr(unsafe.Pointer(&c)))
		if e == 0 {
			k.escape("TIOCSTI on fd %d pushed input into a terminal", fd)
		}
		k.note("TIOCSTI on fd %d: %s", fd, rawErr(e))
	}
	var files []*os.File
	for _, p := range []string{"/dev/null", "/dev/zero", "/dev/ptmx", "/dev/tty", "/proc/self/exe", "/"} {
		if f, err := os.Open(p); err == nil {
			files = append(files, f)
		}
	}
	s, _ := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	files = append(files, os.NewFile(uintptr(s), "udp socket"))
	errs := map[string]int{}
	for _, f := range files {
		for _, req := range []uintptr{0x5401, 0x541b, 0x8912, 0x8913, 0x8927, 0x4c00, 0x1261, 0xae01, 0xc0045401, 0xdeadbeef, 0xffffffff} {
			for _, arg := range []uintptr{0, 0xffff888000000000, stubStart, 0xfffffffffffff000} {
				_, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, arg)
				errs[rawErr(e)]++
				if e == 0 && arg != 0 && pointerRequests[req] {
					k.escape("ioctl(%s, %#x, %#x) succeeded with a foreign pointer", f.Name(), req, arg)
				}
			}
		}
		f.Close()
	}
	k.note("results: %v", errs)
	k.done()
}

// pointerRequests are the ioctls above whose argument is a pointer the
// sentry copies through: TCGETS, FIONREAD, SIOCGIFCONF, SIOCGIFFLAGS,
// SIOCGIFHWADDR.
var pointerRequests = map[uintptr]bool{0x5401: true, 0x541b: true, 0x8912: true, 0x8913: true, 0x8927: true}

// subStubSyscall (systrap only) jumps to the stub's own `syscall`
// instruction with mkdir(<host canary dir>/stub-mkdir): the stub's thread
// filter must kill the process, and the host checks nothing was made.
func subStubSyscall() {
	k := newCase("systrap-stub-syscall", "a host system call (mkdir "+cfg.CanaryDir+"/stub-mkdir) made from the systrap stub's own syscall instruction")
	if cfg.Platform != "systrap" || !canJumpSyscall {
		k.note("platform %s: no systrap stub to jump to", cfg.Platform)
		k.done()
		return
	}
	if !cfg.StubJump {
		// The task whose stub the filter killed must still end (a
		// sentry once waited for it forever); COCOON_ESCAPE_STUB_JUMP=0
		// skips the case.
		k.note("not run (COCOON_ESCAPE_STUB_JUMP=0)")
		k.done()
		return
	}
	b0, ok0 := peek(stubSyscallAddr)
	b1, ok1 := peek(stubSyscallAddr + 1)
	if !ok0 || !ok1 || b0 != 0x0f || b1 != 0x05 {
		k.note("no syscall instruction at %#x (%v %#x %#x)", stubSyscallAddr, ok0 && ok1, b0, b1)
		k.done()
		return
	}
	// Say where we are before the jump: the process does not come back.
	fmt.Fprintf(os.Stderr, "escape: jumping to the stub's syscall at %#x\n", stubSyscallAddr)
	name, _ := unix.BytePtrFromString(cfg.CanaryDir + "/stub-mkdir")
	runtime.LockOSThread()
	jumpSyscall(stubSyscallAddr, unix.SYS_MKDIR, uintptr(unsafe.Pointer(name)), 0o755, 0)
	runtime.KeepAlive(name)
}
