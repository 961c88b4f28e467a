// Package nlmsg encodes and decodes netlink messages (netlink(7)): the
// nlmsghdr framing, the NLMSG_ALIGN padding and the route attributes
// (struct nlattr / rtattr) that rtnetlink messages carry after their
// fixed header. Everything is little-endian, as on amd64.
package nlmsg

import (
	"encoding/binary"
	"net/netip"
)

// Sizes and alignment of netlink's framing.
const (
	// Align is NLMSG_ALIGNTO (and NLA_ALIGNTO, RTA_ALIGNTO).
	Align = 4
	// HdrLen is sizeof(struct nlmsghdr).
	HdrLen = 16
	// AttrHdrLen is sizeof(struct nlattr).
	AttrHdrLen = 4
)

// Netlink's message types below NLMSG_MIN_TYPE and header flags.
const (
	NoopType    = 0x1
	ErrorType   = 0x2
	DoneType    = 0x3
	OverrunType = 0x4
	// MinType is NLMSG_MIN_TYPE: lower types are control messages.
	MinType = 0x10

	FlagRequest  = 0x1
	FlagMulti    = 0x2
	FlagAck      = 0x4
	FlagEcho     = 0x8
	FlagDumpIntr = 0x10
	// Modifiers of GET requests.
	FlagRoot  = 0x100
	FlagMatch = 0x200
	FlagDump  = FlagRoot | FlagMatch
	// Modifiers of NEW requests.
	FlagReplace = 0x100
	FlagExcl    = 0x200
	FlagCreate  = 0x400
	FlagAppend  = 0x800
	// Flags of NLMSG_ERROR acknowledgements.
	FlagCapped  = 0x100
	FlagAckTLVs = 0x200
)

// AttrNested is NLA_F_NESTED, AttrTypeMask the bits of nla_type that are
// the type.
const (
	AttrNested   = 0x8000
	AttrTypeMask = 0x3fff
)

var le = binary.LittleEndian

// AlignUp rounds n up to Align.
func AlignUp(n int) int { return (n + Align - 1) &^ (Align - 1) }

// Header is struct nlmsghdr.
type Header struct {
	Len    uint32
	Type   uint16
	Flags  uint16
	Seq    uint32
	PortID uint32
}

// DecodeHeader reads the header at the start of b, which must hold
// HdrLen bytes.
func DecodeHeader(b []byte) Header {
	return Header{Len: le.Uint32(b), Type: le.Uint16(b[4:]), Flags: le.Uint16(b[6:]), Seq: le.Uint32(b[8:]), PortID: le.Uint32(b[12:])}
}

// Encode writes h at the start of b.
func (h Header) Encode(b []byte) {
	le.PutUint32(b, h.Len)
	le.PutUint16(b[4:], h.Type)
	le.PutUint16(b[6:], h.Flags)
	le.PutUint32(b[8:], h.Seq)
	le.PutUint32(b[12:], h.PortID)
}

// Message is one whole netlink message: its header and payload, the
// header's Len the payload's end (padding excluded).
type Message struct {
	Header
	// Payload is the bytes after the header, up to Len.
	Payload []byte
}

// Split cuts b, the data of one sendmsg, into messages as
// netlink_rcv_skb does: it stops, without error, at the first header
// whose length is shorter than a header or longer than what is left.
func Split(b []byte) []Message {
	var out []Message
	for len(b) >= HdrLen {
		h := DecodeHeader(b)
		if h.Len < HdrLen || int(h.Len) > len(b) {
			break
		}
		out = append(out, Message{Header: h, Payload: b[HdrLen:h.Len]})
		n := AlignUp(int(h.Len))
		if n > len(b) {
			n = len(b)
		}
		b = b[n:]
	}
	return out
}

// Bytes encodes m with its padding; Len is set from the payload.
func (m Message) Bytes() []byte {
	b := make([]byte, AlignUp(HdrLen+len(m.Payload)))
	h := m.Header
	h.Len = uint32(HdrLen + len(m.Payload))
	h.Encode(b)
	copy(b[HdrLen:], m.Payload)
	return b
}

// Builder appends a message's payload: a fixed header, then attributes.
type Builder struct {
	b []byte
}

// Bytes returns the payload built so far.
func (w *Builder) Bytes() []byte { return w.b }

// Fixed appends a fixed-size structure, padded to alignment.
func (w *Builder) Fixed(v []byte) {
	w.b = append(w.b, v...)
	w.pad()
}

func (w *Builder) pad() {
	for len(w.b)%Align != 0 {
		w.b = append(w.b, 0)
	}
}

// Attr appends one attribute of type typ with value v, padded.
func (w *Builder) Attr(typ uint16, v []byte) {
	w.b = le.AppendUint16(w.b, uint16(AttrHdrLen+len(v)))
	w.b = le.AppendUint16(w.b, typ)
	w.b = append(w.b, v...)
	w.pad()
}

// U8, U16 and U32 append integer attributes.
func (w *Builder) U8(typ uint16, v uint8)   { w.Attr(typ, []byte{v}) }
func (w *Builder) U16(typ uint16, v uint16) { w.Attr(typ, le.AppendUint16(nil, v)) }
func (w *Builder) U32(typ uint16, v uint32) { w.Attr(typ, le.AppendUint32(nil, v)) }

// String appends a NUL-terminated string attribute.
func (w *Builder) String(typ uint16, s string) { w.Attr(typ, append([]byte(s), 0)) }

// Addr appends an IP address attribute (4 or 16 bytes).
func (w *Builder) Addr(typ uint16, a netip.Addr) { w.Attr(typ, a.AsSlice()) }

// Nest appends a nested attribute whose contents fill builds.
func (w *Builder) Nest(typ uint16, fill func(*Builder)) {
	start := len(w.b)
	w.b = append(w.b, 0, 0, 0, 0)
	fill(w)
	le.PutUint16(w.b[start:], uint16(len(w.b)-start))
	le.PutUint16(w.b[start+2:], typ|AttrNested)
}

// Attrs decodes attributes into a map from type (flags masked off) to
// value; a later attribute of a type replaces an earlier one, as
// nla_parse does. ok is false when b is malformed (an attribute shorter
// than its header or longer than what is left), which rtnetlink rejects
// with EINVAL; trailing bytes shorter than a header are ignored, as
// nla_parse ignores them.
func Attrs(b []byte) (map[uint16][]byte, bool) {
	m := make(map[uint16][]byte)
	for len(b) >= AttrHdrLen {
		l := int(le.Uint16(b))
		typ := le.Uint16(b[2:]) & AttrTypeMask
		if l < AttrHdrLen || l > len(b) {
			return m, false
		}
		m[typ] = b[AttrHdrLen:l]
		n := AlignUp(l)
		if n > len(b) {
			n = len(b)
		}
		b = b[n:]
	}
	return m, true
}

// U32 decodes a 32-bit attribute value (ok false if it is too short).
func U32(v []byte) (uint32, bool) {
	if len(v) < 4 {
		return 0, false
	}
	return le.Uint32(v), true
}

// Str decodes a string attribute, up to its first NUL.
func Str(v []byte) string {
	for i, c := range v {
		if c == 0 {
			return string(v[:i])
		}
	}
	return string(v)
}

// IP decodes an address attribute of an address family's length.
func IP(v []byte, family uint8) (netip.Addr, bool) {
	switch {
	case family == 2 && len(v) >= 4: // AF_INET
		return netip.AddrFrom4([4]byte(v[:4])), true
	case family == 10 && len(v) >= 16: // AF_INET6
		return netip.AddrFrom16([16]byte(v[:16])), true
	}
	return netip.Addr{}, false
}
