package sysctl

import (
	"fmt"
	"strconv"
	"strings"
)

// net.ipv4.ip_local_reserved_ports is a set of ports, which Linux reads
// and writes with proc_do_large_bitmap: a list of ports and inclusive
// ranges ("8080,9000-9010"). Its value here is the set as sorted,
// disjoint, non-adjacent inclusive ranges, flattened: [lo0, hi0, lo1,
// hi1, ...]; nil is the empty set.

// maxPort is the highest port a port list holds (its bitmap has 65536
// bits).
const maxPort = 65535

// parsePortList parses a write to a port-list sysctl as
// proc_do_large_bitmap does: numbers (decimal, 0x hexadecimal or 0
// octal, no sign, no blanks) each followed by ',' or a newline or the end,
// or by '-' and a second number no smaller than the first; runs of
// newlines are skipped. A write that is only newlines empties the set.
func parsePortList(s string) ([]int64, error) {
	var ports [maxPort/64 + 1]uint64
	s = strings.TrimLeft(s, "\n")
	for s != "" {
		a, rest, sep, err := portListNumber(s, "-,\n")
		if err != nil {
			return nil, err
		}
		b := a
		if sep == '-' {
			if b, rest, _, err = portListNumber(rest, ",\n"); err != nil {
				return nil, err
			}
			if b < a {
				return nil, &ErrInvalid{Reason: fmt.Sprintf("the range %d-%d is inverted", a, b)}
			}
		}
		for p := a; p <= b; p++ {
			ports[p/64] |= 1 << (p % 64)
		}
		s = strings.TrimLeft(rest, "\n")
	}
	var out []int64
	for p := int64(0); p <= maxPort; p++ {
		if ports[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1] == p-1 {
			out[n-1] = p
		} else {
			out = append(out, p, p)
		}
	}
	return out, nil
}

// portListNumber parses the number s starts with and the character after
// it, which must be in seps or absent (the end of s): it returns the
// number, what follows that character, and the character (0 at the end).
func portListNumber(s, seps string) (v int64, rest string, sep byte, err error) {
	end := strings.IndexAny(s, seps)
	if end < 0 {
		end = len(s)
	}
	digits := s[:end]
	if digits == "" || digits[0] < '0' || digits[0] > '9' {
		return 0, "", 0, &ErrInvalid{Reason: fmt.Sprintf("%q is not a port", s)}
	}
	v, perr := ParseCInt(digits)
	if perr != nil {
		return 0, "", 0, &ErrInvalid{Reason: fmt.Sprintf("%q is not a port", digits)}
	}
	if v > maxPort {
		return 0, "", 0, &ErrInvalid{Reason: fmt.Sprintf("port %d is above %d", v, maxPort)}
	}
	if end == len(s) {
		return v, "", 0, nil
	}
	return v, s[end+1:], s[end], nil
}

// formatPortList formats a port list as Linux reads it back: ranges and
// single ports separated by commas, "" for the empty set.
func formatPortList(v []int64) string {
	var b strings.Builder
	for i := 0; i+1 < len(v); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(v[i], 10))
		if v[i+1] != v[i] {
			b.WriteByte('-')
			b.WriteString(strconv.FormatInt(v[i+1], 10))
		}
	}
	return b.String()
}
