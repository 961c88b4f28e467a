package devpts

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// NCCS is the number of control characters of the kernel's struct termios.
const NCCS = 19

// Termios is Linux's kernel struct termios, the layout TCGETS and TCSETS
// copy (36 bytes); termios2 (TCGETS2) adds the two speeds.
type Termios struct {
	Iflag, Oflag, Cflag, Lflag uint32
	Line                       uint8
	CC                         [NCCS]uint8
}

const (
	termiosSize  = 36
	termios2Size = 44
	winsizeSize  = 8
	// baud38400 is the speed B38400 stands for.
	baud38400 = 38400
)

// DefaultTermios returns a replica's initial termios: Linux's
// tty_std_termios with the pty driver's c_cflag (B38400|CS8|CREAD: no
// HUPCL for pseudo-terminals).
func DefaultTermios() Termios {
	t := Termios{
		Iflag: unix.ICRNL | unix.IXON,
		Oflag: unix.OPOST | unix.ONLCR,
		Cflag: unix.B38400 | unix.CS8 | unix.CREAD,
		Lflag: unix.ISIG | unix.ICANON | unix.ECHO | unix.ECHOE | unix.ECHOK |
			unix.ECHOCTL | unix.ECHOKE | unix.IEXTEN,
	}
	// INIT_C_CC.
	copy(t.CC[:], "\003\034\177\025\004\000\001\000\021\023\032\000\022\017\027\026\000")
	return t
}

// Encode returns the 36-byte TCGETS layout.
func (t *Termios) Encode() []byte {
	b := make([]byte, termiosSize)
	binary.LittleEndian.PutUint32(b[0:], t.Iflag)
	binary.LittleEndian.PutUint32(b[4:], t.Oflag)
	binary.LittleEndian.PutUint32(b[8:], t.Cflag)
	binary.LittleEndian.PutUint32(b[12:], t.Lflag)
	b[16] = t.Line
	copy(b[17:], t.CC[:])
	return b
}

// DecodeTermios parses the TCSETS layout (at least 36 bytes).
func DecodeTermios(b []byte) Termios {
	var t Termios
	t.Iflag = binary.LittleEndian.Uint32(b[0:])
	t.Oflag = binary.LittleEndian.Uint32(b[4:])
	t.Cflag = binary.LittleEndian.Uint32(b[8:])
	t.Lflag = binary.LittleEndian.Uint32(b[12:])
	t.Line = b[16]
	copy(t.CC[:], b[17:termiosSize])
	return t
}

// Winsize is struct winsize.
type Winsize struct {
	Row, Col, Xpixel, Ypixel uint16
}

func (w Winsize) encode() []byte {
	b := make([]byte, winsizeSize)
	binary.LittleEndian.PutUint16(b[0:], w.Row)
	binary.LittleEndian.PutUint16(b[2:], w.Col)
	binary.LittleEndian.PutUint16(b[4:], w.Xpixel)
	binary.LittleEndian.PutUint16(b[6:], w.Ypixel)
	return b
}

func decodeWinsize(b []byte) Winsize {
	return Winsize{
		Row: binary.LittleEndian.Uint16(b[0:]), Col: binary.LittleEndian.Uint16(b[2:]),
		Xpixel: binary.LittleEndian.Uint16(b[4:]), Ypixel: binary.LittleEndian.Uint16(b[6:]),
	}
}

func (t *Termios) iflag(f uint32) bool { return t.Iflag&f != 0 }
func (t *Termios) oflag(f uint32) bool { return t.Oflag&f != 0 }
func (t *Termios) lflag(f uint32) bool { return t.Lflag&f != 0 }

// is reports whether c is the control character at index i; a disabled
// (_POSIX_VDISABLE, 0) control character matches nothing.
func (t *Termios) is(c byte, i int) bool { return t.CC[i] != 0 && t.CC[i] == c }

// iscntrl is the kernel's iscntrl (Latin-1: C0, DEL and C1).
func iscntrl(c byte) bool { return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) }

// isalnum is the kernel's isalnum (Latin-1 letters count).
func isalnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c >= 0xc0 && c != 0xd7 && c != 0xf7 || c == 0xaa || c == 0xb5 || c == 0xba
}
