package proc

import (
	"encoding/binary"

	"github.com/cocoonrt/cocoon/sentry/loader"
)

// Auxiliary vector keys the derivation relies on.
const (
	atExecFn   = loader.AtExecFn
	atPlatform = loader.AtPlatform
	// atMax bounds the keys of a valid auxv entry (AT_MINSIGSTKSZ is 51).
	atMax = 63
	// maxAuxv bounds the number of auxv entries.
	maxAuxv = 64
	// stackScanLimit bounds how far below the top of the stack the
	// derivation reads: the strings and pointers execve puts there are
	// limited to loader.ArgBudget, plus the execfn string and the auxv.
	stackScanLimit = loader.ArgBudget + loader.MaxArgStrLen + 64<<10
)

// stackReader reads the top of a stack downwards, a page at a time.
type stackReader struct {
	read func(addr uint64, dst []byte) (int, error)
	top  uint64
	// buf holds [lo, top).
	lo  uint64
	buf []byte
}

// cover makes sure [addr, top) is read, doubling what is read each time
// so that a walk down the stack copies O(n) bytes.
func (s *stackReader) cover(addr uint64) bool {
	if s.buf != nil && addr >= s.lo {
		return true
	}
	if addr >= s.top || s.top-addr > stackScanLimit {
		return false
	}
	hi := s.top
	if s.buf != nil {
		hi = s.lo
	}
	minLo := addr &^ (pageSize - 1)
	lo := minLo
	if want := 2 * (s.top - hi); want > s.top-lo && want <= stackScanLimit {
		lo = (s.top - want) &^ (pageSize - 1)
	}
	for {
		chunk := make([]byte, hi-lo)
		if n, err := s.read(lo, chunk); err == nil && n == len(chunk) {
			s.buf = append(chunk, s.buf...)
			s.lo = lo
			return true
		}
		if lo == minLo {
			return false
		}
		lo = minLo // the doubled read ran below the stack mapping
	}
}

func (s *stackReader) byteAt(addr uint64) (byte, bool) {
	if addr >= s.top || !s.cover(addr) {
		return 0, false
	}
	return s.buf[addr-s.lo], true
}

func (s *stackReader) word(addr uint64) (uint64, bool) {
	if addr+8 > s.top || addr+8 < addr || !s.cover(addr) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(s.buf[addr-s.lo:]), true
}

// prevNUL returns the address of the last NUL byte below addr.
func (s *stackReader) prevNUL(addr uint64) (uint64, bool) {
	for a := addr - 1; a < addr; a-- {
		c, ok := s.byteAt(a)
		if !ok {
			return 0, false
		}
		if c == 0 {
			return a, true
		}
	}
	return 0, false
}

// DeriveExecInfo finds the argument, environment and auxiliary vector
// areas execve left at the top of a process's stack, whose top (the end
// of the "[stack]" mapping) is stackTop, reading memory with read.
//
// The kernel does not record these bounds (Linux keeps them in mm_struct),
// so they are recovered from the layout sentry/loader builds: 8 zero bytes
// at the top, the execfn string below them, the environment and argument
// strings below that, and, lower, argc, argv[], envp[] and the auxv, whose
// AT_EXECFN entry points at the execfn string. The pointer arrays give the
// number of strings; argv[0] and envp[0] give where they start when they
// agree with the layout (a program may have rewritten them), and counting
// NUL-terminated strings down from the top does otherwise.
func DeriveExecInfo(stackTop uint64, read func(addr uint64, dst []byte) (int, error)) (ExecInfo, bool) {
	s := &stackReader{read: read, top: stackTop, lo: stackTop}
	if stackTop < 64 {
		return ExecInfo{}, false
	}
	if w, ok := s.word(stackTop - 8); !ok || w != 0 {
		return ExecInfo{}, false
	}
	if c, ok := s.byteAt(stackTop - 9); !ok || c != 0 {
		return ExecInfo{}, false
	}
	nul, ok := s.prevNUL(stackTop - 9)
	if !ok {
		return ExecInfo{}, false
	}
	execfn := nul + 1
	envEnd := execfn

	// The auxv entry {AT_EXECFN, execfn}.
	var auxAt uint64
	for a := (envEnd &^ 7) - 16; a < envEnd; a -= 8 {
		k, ok1 := s.word(a)
		v, ok2 := s.word(a + 8)
		if !ok1 || !ok2 {
			return ExecInfo{}, false
		}
		if k == atExecFn && v == execfn {
			auxAt = a
			break
		}
	}
	if auxAt == 0 {
		return ExecInfo{}, false
	}
	// Back to the first entry: the word before the auxv is envp's NULL,
	// and the one before that a pointer or argv's NULL, neither a key.
	auxv := auxAt
	for i := 0; i < maxAuxv; i++ {
		k, ok := s.word(auxv - 16)
		if !ok || k == 0 || k > atMax {
			break
		}
		auxv -= 16
	}
	// Forward to AT_NULL, noting AT_PLATFORM.
	var platform uint64
	auxEnd := uint64(0)
	for a, i := auxv, 0; i < maxAuxv; a, i = a+16, i+1 {
		k, ok1 := s.word(a)
		v, ok2 := s.word(a + 8)
		if !ok1 || !ok2 {
			return ExecInfo{}, false
		}
		if k == 0 {
			auxEnd = a + 16
			break
		}
		if k == atPlatform {
			platform = v
		}
	}
	if auxEnd == 0 {
		return ExecInfo{}, false
	}

	// envp[], NULL-terminated just below the auxv, then argv[] and argc.
	if w, ok := s.word(auxv - 8); !ok || w != 0 {
		return ExecInfo{}, false
	}
	envc := uint64(0)
	a := auxv - 16
	for {
		w, ok := s.word(a)
		if !ok {
			return ExecInfo{}, false
		}
		if w == 0 {
			break
		}
		envc++
		a -= 8
	}
	argvNull := a
	argc := uint64(0)
	a -= 8
	for {
		w, ok := s.word(a)
		if !ok {
			return ExecInfo{}, false
		}
		if w == argc {
			break
		}
		argc++
		a -= 8
	}
	sp := a
	if sp%16 != 0 {
		return ExecInfo{}, false
	}

	// The strings' bounds.
	countBack := func(end, n uint64) (uint64, bool) {
		pos := end
		for i := uint64(0); i < n; i++ {
			nul, ok := s.prevNUL(pos - 1)
			if !ok {
				return 0, false
			}
			pos = nul + 1
		}
		return pos, true
	}
	envStart := envEnd
	if envc > 0 {
		e0, _ := s.word(argvNull + 8)
		c, ok := s.byteAt(e0 - 1)
		if e0 > sp && e0 <= envEnd && ok && c == 0 {
			envStart = e0
		} else if envStart, ok = countBack(envEnd, envc); !ok {
			return ExecInfo{}, false
		}
	}
	argEnd := envStart
	argStart := argEnd
	if argc > 0 {
		p0, _ := s.word(sp + 8)
		// The layout aligns argv's first string so that the platform
		// string ends just below the 16-byte boundary under it.
		if platform != 0 && p0&^15 == platform+uint64(len(loader.Platform))+1 && p0 <= argEnd {
			argStart = p0
		} else if argStart, ok = countBack(argEnd, argc); !ok {
			return ExecInfo{}, false
		}
	}
	return ExecInfo{
		ArgStart: argStart, ArgEnd: argEnd,
		EnvStart: envStart, EnvEnd: envEnd,
		AuxvStart: auxv, AuxvEnd: auxEnd,
		StackStart: sp,
	}, true
}

// cmdline returns /proc/[pid]/cmdline from the argument area, as Linux's
// get_mm_cmdline does: the area as is, unless its last byte is no longer
// NUL (setproctitle(3) overwrote it), in which case the text runs on into
// the environment area up to the first NUL.
func cmdline(ex ExecInfo, read func(addr uint64, dst []byte) (int, error)) ([]byte, error) {
	if ex.ArgStart >= ex.ArgEnd {
		return nil, nil
	}
	envStart, envEnd := ex.EnvStart, ex.EnvEnd
	if envStart != ex.ArgEnd || envEnd < envStart {
		envStart, envEnd = ex.ArgEnd, ex.ArgEnd
	}
	var last [1]byte
	if _, err := read(ex.ArgEnd-1, last[:]); err != nil {
		return nil, nil
	}
	if last[0] == 0 {
		return readRange(ex.ArgStart, ex.ArgEnd, read), nil
	}
	b := readRange(ex.ArgStart, envEnd, read)
	for i, c := range b {
		if c == 0 {
			return b[:i+1], nil
		}
	}
	return b, nil
}

// maxProcRead bounds what one /proc file reads from a process's memory.
const maxProcRead = loader.ArgBudget + loader.MaxArgStrLen

// readRange reads [start, end) of a process's memory, as much as is
// readable.
func readRange(start, end uint64, read func(addr uint64, dst []byte) (int, error)) []byte {
	if end <= start {
		return nil
	}
	buf := make([]byte, min(end-start, maxProcRead))
	n, _ := read(start, buf)
	return buf[:n]
}
