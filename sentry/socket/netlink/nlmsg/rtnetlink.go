package nlmsg

// The fixed headers of rtnetlink messages (rtnetlink(7)).

// Sizes of the fixed headers.
const (
	IfInfoMsgLen = 16 // struct ifinfomsg
	IfAddrMsgLen = 8  // struct ifaddrmsg
	RtMsgLen     = 12 // struct rtmsg
)

// IfInfoMsg is struct ifinfomsg, the header of RTM_*LINK messages.
type IfInfoMsg struct {
	Family uint8
	Type   uint16
	Index  int32
	Flags  uint32
	Change uint32
}

// Encode returns the header's bytes.
func (m IfInfoMsg) Encode() []byte {
	b := make([]byte, IfInfoMsgLen)
	b[0] = m.Family
	le.PutUint16(b[2:], m.Type)
	le.PutUint32(b[4:], uint32(m.Index))
	le.PutUint32(b[8:], m.Flags)
	le.PutUint32(b[12:], m.Change)
	return b
}

// DecodeIfInfoMsg reads an ifinfomsg; b must hold IfInfoMsgLen bytes.
func DecodeIfInfoMsg(b []byte) IfInfoMsg {
	return IfInfoMsg{Family: b[0], Type: le.Uint16(b[2:]), Index: int32(le.Uint32(b[4:])), Flags: le.Uint32(b[8:]), Change: le.Uint32(b[12:])}
}

// IfAddrMsg is struct ifaddrmsg, the header of RTM_*ADDR messages.
type IfAddrMsg struct {
	Family    uint8
	PrefixLen uint8
	Flags     uint8
	Scope     uint8
	Index     uint32
}

// Encode returns the header's bytes.
func (m IfAddrMsg) Encode() []byte {
	b := []byte{m.Family, m.PrefixLen, m.Flags, m.Scope, 0, 0, 0, 0}
	le.PutUint32(b[4:], m.Index)
	return b
}

// DecodeIfAddrMsg reads an ifaddrmsg; b must hold IfAddrMsgLen bytes.
func DecodeIfAddrMsg(b []byte) IfAddrMsg {
	return IfAddrMsg{Family: b[0], PrefixLen: b[1], Flags: b[2], Scope: b[3], Index: le.Uint32(b[4:])}
}

// RtMsg is struct rtmsg, the header of RTM_*ROUTE messages.
type RtMsg struct {
	Family   uint8
	DstLen   uint8
	SrcLen   uint8
	Tos      uint8
	Table    uint8
	Protocol uint8
	Scope    uint8
	Type     uint8
	Flags    uint32
}

// Encode returns the header's bytes.
func (m RtMsg) Encode() []byte {
	b := []byte{m.Family, m.DstLen, m.SrcLen, m.Tos, m.Table, m.Protocol, m.Scope, m.Type, 0, 0, 0, 0}
	le.PutUint32(b[8:], m.Flags)
	return b
}

// DecodeRtMsg reads an rtmsg; b must hold RtMsgLen bytes.
func DecodeRtMsg(b []byte) RtMsg {
	return RtMsg{Family: b[0], DstLen: b[1], SrcLen: b[2], Tos: b[3], Table: b[4], Protocol: b[5], Scope: b[6], Type: b[7], Flags: le.Uint32(b[8:])}
}
