package seccomp

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Memory reads the calling task's memory (kernel.Task has this method).
type Memory interface {
	CopyIn(addr uint64, dst []byte) (int, error)
}

// Sizes of the seccomp(2) structures on x86-64.
const (
	SizeofSockFprog  = 16 // struct sock_fprog {u16 len; 6 bytes padding; u64 filter}
	SizeofSockFilter = 8  // struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}
)

// Fprog is struct sock_fprog.
type Fprog struct {
	Len    uint16
	Filter uint64
}

// ReadFprog reads the struct sock_fprog at addr. It fails with EFAULT.
func ReadFprog(mem Memory, addr uint64) (Fprog, error) {
	var b [SizeofSockFprog]byte
	if err := copyIn(mem, addr, b[:]); err != nil {
		return Fprog{}, err
	}
	return Fprog{
		Len:    binary.LittleEndian.Uint16(b[0:]),
		Filter: binary.LittleEndian.Uint64(b[8:]),
	}, nil
}

// CheckLen fails with EINVAL when the program is empty or longer than
// MaxInstructions (seccomp_prepare_filter's first check).
func (f Fprog) CheckLen() error {
	if f.Len == 0 || f.Len > MaxInstructions {
		return unix.EINVAL
	}
	return nil
}

// ReadInstructions reads the f.Len instructions at f.Filter. It fails
// with EINVAL for a NULL filter pointer or a bad length (bpf_check_basics_ok)
// and EFAULT when the array cannot be read.
func (f Fprog) ReadInstructions(mem Memory) ([]Instruction, error) {
	if err := f.CheckLen(); err != nil {
		return nil, err
	}
	if f.Filter == 0 {
		return nil, unix.EINVAL
	}
	b := make([]byte, int(f.Len)*SizeofSockFilter)
	if err := copyIn(mem, f.Filter, b); err != nil {
		return nil, err
	}
	insns := make([]Instruction, f.Len)
	le := binary.LittleEndian
	for i := range insns {
		e := b[i*SizeofSockFilter:]
		insns[i] = Instruction{Code: le.Uint16(e[0:]), JT: e[2], JF: e[3], K: le.Uint32(e[4:])}
	}
	return insns, nil
}

// DecodeFprog reads the struct sock_fprog at addr and the instructions it
// points to, failing like seccomp(2) with EFAULT (unreadable memory) or
// EINVAL (len 0 or over MaxInstructions, NULL filter pointer). It does
// not validate the program: Compile does.
//
// seccomp(2) checks no_new_privs/CAP_SYS_ADMIN (EACCES) between the length
// check and reading the array; SetModeFilter does the steps in that order.
func DecodeFprog(mem interface {
	CopyIn(addr uint64, dst []byte) (int, error)
}, addr uint64) ([]Instruction, error) {
	f, err := ReadFprog(mem, addr)
	if err != nil {
		return nil, err
	}
	return f.ReadInstructions(mem)
}

// EncodeInstructions returns the sock_filter array of insns.
func EncodeInstructions(insns []Instruction) []byte {
	b := make([]byte, len(insns)*SizeofSockFilter)
	le := binary.LittleEndian
	for i, in := range insns {
		e := b[i*SizeofSockFilter:]
		le.PutUint16(e[0:], in.Code)
		e[2], e[3] = in.JT, in.JF
		le.PutUint32(e[4:], in.K)
	}
	return b
}

// copyIn reads exactly len(dst) bytes or fails with EFAULT. Address 0 is
// always a fault: libseccomp probes filter flags with a NULL pointer and
// expects EFAULT for every flag the kernel knows (Linux never maps page 0
// for applications).
func copyIn(mem Memory, addr uint64, dst []byte) error {
	if addr == 0 {
		return unix.EFAULT
	}
	n, err := mem.CopyIn(addr, dst)
	if err != nil || n != len(dst) {
		return unix.EFAULT
	}
	return nil
}
