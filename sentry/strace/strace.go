// Package strace formats the system calls of a sandboxed task the way
// strace(1) and `runsc --strace` do: a syscall name, its decoded arguments
// and its result.
//
// The formatting is table driven (see linux64.go): every amd64 syscall has a
// name and up to six argument kinds. Arguments that point into the traced
// task's memory are read through a Memory; a read that fails prints the
// pointer in hex, so a hostile program cannot make the formatter fail.
package strace

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Memory reads the traced task's memory (the sentry's mm implements it).
type Memory interface {
	CopyIn(addr uint64, dst []byte) (int, error)
	CopyInString(addr uint64, maxLen int) (string, error)
}

// Display limits.
const (
	// pathMax is the longest path (or other NUL-terminated name) shown.
	pathMax = 1024
	// bufMax is how many bytes of a data buffer are shown.
	bufMax = 64
	// argvMax is how many elements of a string array (argv, envp) are shown.
	argvMax = 8
	// argvStrMax is the longest element of a string array shown.
	argvStrMax = 256
	// direntsMax bounds how many bytes of a getdents buffer are walked.
	direntsMax = 1 << 20
)

// Name returns the amd64 name of syscall nr ("read"), or "syscall_<nr>" for
// unknown numbers.
func Name(nr uint64) string {
	if nr < uint64(len(table)) && table[nr].name != "" {
		return table[nr].name
	}
	return "syscall_" + strconv.FormatUint(nr, 10)
}

// Number returns the number of the syscall called name; ok is false if the
// name is unknown.
func Number(name string) (nr uint64, ok bool) {
	nr, ok = numbers[name]
	return nr, ok
}

var numbers = func() map[string]uint64 {
	m := make(map[string]uint64, len(table))
	for nr := range table {
		if table[nr].name != "" {
			m[table[nr].name] = uint64(nr)
		}
	}
	return m
}()

// lookup returns the table entry for nr; unknown numbers get six hex
// arguments.
func lookup(nr uint64) sysInfo {
	if nr < uint64(len(table)) && table[nr].name != "" {
		return table[nr]
	}
	return sysInfo{name: Name(nr), argc: 6}
}

// phase says when arguments are formatted: output arguments are only
// decoded after a successful call.
type phase uint8

const (
	atEntry phase = iota
	atExitOK
	atExitErr
	atExitHex // every argument as hex (execve after success: memory replaced)
)

// Entry formats the call at syscall entry, e.g.
// `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)`.
func Entry(mem Memory, nr uint64, args [6]uint64) string {
	p := printer{mem: mem, b: make([]byte, 0, 128)}
	p.call(lookup(nr), &args, atEntry, 0)
	return string(p.b)
}

// Exit formats the call and its result at syscall exit, e.g.
// `read(3, "hello\n", 4096) = 6` or
// `openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)`.
// Output arguments (read's buffer, fstat's struct, pipe2's fds...) are
// decoded from memory when the call succeeded. ret is the raw rax: values in
// -4095..-1 are errnos.
func Exit(mem Memory, nr uint64, args [6]uint64, ret uint64) string {
	info := lookup(nr)
	ph := atExitOK
	switch {
	case isErrno(ret):
		ph = atExitErr
	case nr == unix.SYS_EXECVE || nr == unix.SYS_EXECVEAT:
		// The address space the arguments pointed into is gone.
		ph = atExitHex
	}
	p := printer{mem: mem, b: make([]byte, 0, 160)}
	p.call(info, &args, ph, ret)
	p.s(" = ")
	p.ret(info, nr, &args, ret)
	return string(p.b)
}

func isErrno(ret uint64) bool {
	r := int64(ret)
	return r >= -4095 && r <= -1
}

// printer accumulates one formatted line.
type printer struct {
	mem Memory
	b   []byte
}

func (p *printer) s(str string) { p.b = append(p.b, str...) }

func (p *printer) dec(v int64) { p.b = strconv.AppendInt(p.b, v, 10) }

func (p *printer) udec(v uint64) { p.b = strconv.AppendUint(p.b, v, 10) }

// hex prints v like C's %#x: "0" for zero, else "0x..." .
func (p *printer) hex(v uint64) {
	if v == 0 {
		p.b = append(p.b, '0')
		return
	}
	p.b = append(p.b, "0x"...)
	p.b = strconv.AppendUint(p.b, v, 16)
}

// ptr prints a pointer: NULL or 0x... .
func (p *printer) ptr(v uint64) {
	if v == 0 {
		p.s("NULL")
		return
	}
	p.b = append(p.b, "0x"...)
	p.b = strconv.AppendUint(p.b, v, 16)
}

// read copies len(dst) bytes at addr; it reports false unless all of them
// were read.
func (p *printer) read(addr uint64, dst []byte) bool {
	if p.mem == nil {
		return false
	}
	n, err := p.mem.CopyIn(addr, dst)
	return err == nil && n == len(dst)
}

func (p *printer) readU64(addr uint64) (uint64, bool) {
	var b [8]byte
	if !p.read(addr, b[:]) {
		return 0, false
	}
	return le64(b[:]), true
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

// call prints `name(arg, arg, ...)`.
func (p *printer) call(info sysInfo, args *[6]uint64, ph phase, ret uint64) {
	p.s(info.name)
	p.b = append(p.b, '(')
	first := true
	for i := 0; i < int(info.argc) && i < 6; i++ {
		k := info.args[i]
		if ph == atExitHex {
			k = aHex
		} else if omitted(k, args, i) {
			continue
		}
		if !first {
			p.s(", ")
		}
		first = false
		p.arg(k, i, args, ph, ret)
	}
	p.b = append(p.b, ')')
}

// ret prints the result of a call.
func (p *printer) ret(info sysInfo, nr uint64, args *[6]uint64, ret uint64) {
	if isErrno(ret) {
		p.errno(uint64(-int64(ret)))
		return
	}
	if info.retAddr {
		p.ptrHex(ret)
		return
	}
	if nr == unix.SYS_FCNTL && ret != 0 {
		switch args[1] {
		case unix.F_GETFD:
			p.ptrHex(ret)
			p.s(" (flags ")
			p.flags(ret, fdFlags)
			p.b = append(p.b, ')')
			return
		case unix.F_GETFL:
			p.ptrHex(ret)
			p.s(" (flags ")
			p.openFlags(ret)
			p.b = append(p.b, ')')
			return
		}
	}
	p.dec(int64(ret))
}

// ptrHex prints 0x... (0x0 for zero).
func (p *printer) ptrHex(v uint64) {
	p.b = append(p.b, "0x"...)
	p.b = strconv.AppendUint(p.b, v, 16)
}

// kernelErrnos are the kernel-internal restart errnos, which a tracer sees
// when a signal interrupts a call.
var kernelErrnos = map[uint64][2]string{
	512: {"ERESTARTSYS", "To be restarted if SA_RESTART is set"},
	513: {"ERESTARTNOINTR", "To be restarted"},
	514: {"ERESTARTNOHAND", "To be restarted if no handler"},
	515: {"ENOIOCTLCMD", "No ioctl command"},
	516: {"ERESTART_RESTARTBLOCK", "Interrupted by signal"},
}

func (p *printer) errno(e uint64) {
	if k, ok := kernelErrnos[e]; ok {
		p.s("? ")
		p.s(k[0])
		p.s(" (")
		p.s(k[1])
		p.b = append(p.b, ')')
		return
	}
	name := unix.ErrnoName(syscall.Errno(e))
	p.s("-1 ")
	if name == "" {
		p.s("ERRNO_")
		p.udec(e)
		p.s(" (Unknown error ")
		p.udec(e)
		p.b = append(p.b, ')')
		return
	}
	p.s(name)
	p.s(" (")
	msg := syscall.Errno(e).Error()
	if msg != "" && msg[0] >= 'a' && msg[0] <= 'z' {
		p.b = append(p.b, msg[0]-'a'+'A')
		msg = msg[1:]
	}
	p.s(msg)
	p.b = append(p.b, ')')
}

// quote appends data as a C string literal, escaped like strace does.
func (p *printer) quote(data []byte) { p.b = appendQuoted(p.b, data) }

// quoteStr is quote for a string.
func (p *printer) quoteStr(s string) { p.b = appendQuoted(p.b, s) }

func appendQuoted[T string | []byte](b []byte, data T) []byte {
	b = append(b, '"')
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		case '\v':
			b = append(b, `\v`...)
		case '\f':
			b = append(b, `\f`...)
		default:
			if c >= 0x20 && c < 0x7f {
				b = append(b, c)
				continue
			}
			b = append(b, '\\')
			// Short octal unless an octal digit follows.
			full := i+1 < len(data) && data[i+1] >= '0' && data[i+1] <= '7'
			if full || c >= 0100 {
				b = append(b, '0'+c>>6)
			}
			if full || c >= 010 {
				b = append(b, '0'+(c>>3)&7)
			}
			b = append(b, '0'+c&7)
		}
	}
	return append(b, '"')
}

// str prints a NUL-terminated string at addr, at most max bytes of it then
// "...", or the address if it cannot be read.
func (p *printer) str(addr uint64, max int) {
	if addr == 0 {
		p.s("NULL")
		return
	}
	if p.mem != nil {
		if s, err := p.mem.CopyInString(addr, max); err == nil {
			if len(s) > max {
				p.quoteStr(s[:max])
				p.s("...")
				return
			}
			p.quoteStr(s)
			return
		}
		// Too long, or a fault somewhere: show what can be read.
		var stack [pathMax]byte
		buf := stack[:]
		if max < len(buf) {
			buf = buf[:max]
		} else if max > len(buf) {
			buf = make([]byte, max)
		}
		n, _ := p.mem.CopyIn(addr, buf)
		if n < 0 || n > len(buf) {
			n = 0
		}
		for i := 0; i < n; i++ {
			if buf[i] == 0 {
				p.quote(buf[:i])
				return
			}
		}
		if n == len(buf) {
			p.quote(buf)
			p.s("...")
			return
		}
	}
	p.ptr(addr)
}

// buf prints the first bufMax bytes of the n-byte buffer at addr.
func (p *printer) buf(addr uint64, n uint64) {
	if addr == 0 {
		p.s("NULL")
		return
	}
	var stack [bufMax]byte
	m := n
	if m > bufMax {
		m = bufMax
	}
	if !p.read(addr, stack[:m]) {
		p.ptr(addr)
		return
	}
	p.quote(stack[:m])
	if n > bufMax {
		p.s("...")
	}
}

// pathBuf prints an n-byte string (readlink, getcwd output) that may be
// NUL-terminated, up to pathMax bytes.
func (p *printer) pathBuf(addr uint64, n uint64) {
	if addr == 0 {
		p.s("NULL")
		return
	}
	var stack [pathMax]byte
	m := n
	if m > pathMax {
		m = pathMax
	}
	if !p.read(addr, stack[:m]) {
		p.ptr(addr)
		return
	}
	data := stack[:m]
	for i, c := range data {
		if c == 0 {
			p.quote(data[:i])
			return
		}
	}
	p.quote(data)
	if n > pathMax {
		p.s("...")
	}
}
