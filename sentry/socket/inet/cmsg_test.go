package inet

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// PutControl cuts as Linux's put_cmsg: whole messages while they fit,
// then the header (its length cut) and data of the one that does not.
func TestPutControl(t *testing.T) {
	ctl := appendCmsg(nil, 0, 8, make([]byte, 12))  // 28 bytes, 32 padded
	ctl = appendCmsg(ctl, 0, 2, []byte{1, 0, 0, 0}) // 20 bytes, 24 padded
	for _, c := range []struct {
		space, n int
		trunc    bool
		firstLen uint64
	}{
		{56, 56, false, 28},
		{52, 52, false, 28}, // the last one fits without its padding
		{50, 50, true, 28},  // the second cut: header and 2 bytes
		{32, 32, true, 28},  // no room for the second's header
		{30, 30, true, 28},  // the first fits, its padding does not: the rest goes
		{20, 20, true, 20},
		{15, 0, true, 0},
		{0, 0, true, 0},
	} {
		out, trunc := PutControl(ctl, c.space)
		if len(out) != c.n || trunc != c.trunc {
			t.Errorf("space %d: %d bytes, truncated %v; want %d, %v", c.space, len(out), trunc, c.n, c.trunc)
			continue
		}
		if c.n >= 8 && binary.LittleEndian.Uint64(out) != c.firstLen {
			t.Errorf("space %d: first cmsg_len %d, want %d", c.space, binary.LittleEndian.Uint64(out), c.firstLen)
		}
	}
	if before := appendCmsg(nil, 0, 8, make([]byte, 12)); !bytes.Equal(ctl[:32], before) {
		t.Error("PutControl changed its input")
	}
}

// Whatever control messages a program passes sendmsg, parsing them
// ends in values or an error, never a panic or a loop.
func FuzzSendControl(f *testing.F) {
	f.Add(appendCmsg(appendCmsg(nil, 0, 2, []byte{9, 0, 0, 0}), 0, 8, make([]byte, 12)), true)
	f.Add(appendCmsg(nil, 41, 50, make([]byte, 20)), false)
	f.Add(appendCmsg(nil, 41, 50, append(make([]byte, 10), 0xff, 0xff, 127, 0, 0, 1, 1, 0, 0, 0)), true)
	f.Add(appendCmsg(nil, 0, 1, []byte{0x20}), true)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0}, true)
	f.Add(appendCmsg(nil, 17, 103, []byte{0xb4, 0x05}), true) // UDP_SEGMENT 1460
	s := &Socket{family: 10, typ: 2, protocol: 17}            // AF_INET6, SOCK_DGRAM, UDP
	f.Fuzz(func(t *testing.T, b []byte, v4 bool) {
		c, err := s.parseSendControl(b, v4)
		if err == nil && (c.ttl > 255 || c.tos > 255 || c.hopLimit > 255 || c.tclass > 255 || c.gsoSize > 0xffff) {
			t.Fatalf("out-of-range value accepted: %+v", c)
		}
		out, _ := PutControl(b, len(b)/2)
		if len(out) > len(b) {
			t.Fatalf("PutControl grew %d bytes to %d", len(b), len(out))
		}
	})
}
