package loader

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// parseScript parses the #! line of a script whose first bytes are head
// (at most BinprmBufSize of them), as Linux's load_script does. It returns
// the interpreter path and the optional single argument: everything after
// the first run of spaces and tabs following the path, trailing spaces and
// tabs trimmed; arg is nil when there is none.
//
// A file that does not start with #!, has no interpreter, or whose
// interpreter path may have been cut off by the buffer fails with ENOEXEC.
func parseScript(head []byte) (name string, arg *string, err error) {
	// bprm->buf: zero-padded when the file is shorter.
	var buf [BinprmBufSize]byte
	copy(buf[:], head)
	if buf[0] != '#' || buf[1] != '!' {
		return "", nil, unix.ENOEXEC
	}
	bufEnd := len(buf) - 1

	iEnd := bytes.IndexByte(buf[:], '\n')
	if iEnd < 0 {
		// No newline: accept the line only if the interpreter path
		// provably ends inside the buffer; the argument may be cut.
		first := nextNonSpaceTab(&buf, 2, bufEnd)
		if first < 0 {
			return "", nil, unix.ENOEXEC // all spaces and tabs
		}
		if nextTerminator(&buf, first, bufEnd) < 0 {
			return "", nil, unix.ENOEXEC // path possibly truncated
		}
		iEnd = bufEnd
	}
	// Trim trailing spaces and tabs (buf[1] is '!', so this stops).
	for spaceTab(buf[iEnd-1]) {
		iEnd--
	}
	iName := nextNonSpaceTab(&buf, 2, iEnd)
	if iName < 0 || iName == iEnd {
		return "", nil, unix.ENOEXEC // no interpreter name
	}
	nameEnd := iEnd
	if iSep := nextTerminator(&buf, iName, iEnd); iSep >= 0 {
		nameEnd = iSep
		if buf[iSep] != 0 {
			if iArg := nextNonSpaceTab(&buf, iSep, iEnd); iArg >= 0 {
				a := cstr(string(buf[iArg:iEnd])) // may be "" after a NUL
				arg = &a
			}
		}
	}
	name = cstr(string(buf[iName:nameEnd]))
	return name, arg, nil
}

func spaceTab(c byte) bool { return c == ' ' || c == '\t' }

// nextNonSpaceTab returns the index of the first byte in buf[first:last+1]
// that is not a space or tab, or -1.
func nextNonSpaceTab(buf *[BinprmBufSize]byte, first, last int) int {
	for ; first <= last; first++ {
		if !spaceTab(buf[first]) {
			return first
		}
	}
	return -1
}

// nextTerminator returns the index of the first space, tab or NUL in
// buf[first:last+1], or -1.
func nextTerminator(buf *[BinprmBufSize]byte, first, last int) int {
	for ; first <= last; first++ {
		if spaceTab(buf[first]) || buf[first] == 0 {
			return first
		}
	}
	return -1
}
