package nlmsg

import (
	"bytes"
	"net/netip"
	"testing"
)

func TestSplit(t *testing.T) {
	a := Message{Header: Header{Type: 18, Flags: FlagRequest | FlagDump, Seq: 1}, Payload: []byte{0}}.Bytes()
	b := Message{Header: Header{Type: 20, Seq: 2}, Payload: []byte{1, 2, 3, 4, 5, 6, 7, 8}}.Bytes()
	if len(a) != 20 || DecodeHeader(a).Len != 17 {
		t.Fatalf("a = %d bytes, len %d; want 20 and 17", len(a), DecodeHeader(a).Len)
	}
	msgs := Split(append(append(a, b...), 1, 2, 3))
	if len(msgs) != 2 {
		t.Fatalf("Split = %d messages, want 2", len(msgs))
	}
	if msgs[0].Type != 18 || msgs[0].Seq != 1 || !bytes.Equal(msgs[0].Payload, []byte{0}) {
		t.Errorf("first = %+v", msgs[0])
	}
	if msgs[1].Type != 20 || len(msgs[1].Payload) != 8 {
		t.Errorf("second = %+v", msgs[1])
	}
	// A header claiming more than there is stops the walk, as does one
	// shorter than a header.
	bad := append([]byte(nil), a...)
	bad[0] = 200
	if got := Split(bad); len(got) != 0 {
		t.Errorf("Split(overlong) = %v", got)
	}
	bad[0] = 4
	if got := Split(bad); len(got) != 0 {
		t.Errorf("Split(short) = %v", got)
	}
	// The last message may lack its padding.
	if got := Split(a[:17]); len(got) != 1 {
		t.Errorf("Split(unpadded) = %v", got)
	}
}

func TestBuilderAndAttrs(t *testing.T) {
	var w Builder
	w.Fixed([]byte{1, 2, 3}) // padded to 4
	w.String(3, "lo")
	w.U32(4, 65536)
	w.U8(16, 6)
	w.Addr(1, netip.MustParseAddr("127.0.0.1"))
	w.Nest(26, func(w *Builder) { w.U32(1, 7) })
	b := w.Bytes()
	if len(b)%Align != 0 {
		t.Fatalf("payload of %d bytes is not aligned", len(b))
	}
	attrs, ok := Attrs(b[4:])
	if !ok {
		t.Fatal("Attrs: malformed")
	}
	if Str(attrs[3]) != "lo" || len(attrs[3]) != 3 {
		t.Errorf("IFNAME = %q", attrs[3])
	}
	if v, _ := U32(attrs[4]); v != 65536 {
		t.Errorf("MTU = %d", v)
	}
	if len(attrs[16]) != 1 || attrs[16][0] != 6 {
		t.Errorf("U8 = %v", attrs[16])
	}
	if ip, ok := IP(attrs[1], 2); !ok || ip != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("IP = %v %v", ip, ok)
	}
	nested, ok := Attrs(attrs[26])
	if v, _ := U32(nested[1]); !ok || v != 7 {
		t.Errorf("nested = %v", nested)
	}
	// An attribute longer than what is left is malformed.
	if _, ok := Attrs([]byte{200, 0, 1, 0, 0, 0, 0, 0}); ok {
		t.Error("Attrs accepted an overlong attribute")
	}
	if _, ok := Attrs([]byte{2, 0, 1, 0}); ok {
		t.Error("Attrs accepted an attribute shorter than its header")
	}
}

func TestFixedHeaders(t *testing.T) {
	ifi := IfInfoMsg{Family: 0, Type: 772, Index: 1, Flags: 0x10049, Change: 0xffffffff}
	if got := DecodeIfInfoMsg(ifi.Encode()); got != ifi {
		t.Errorf("ifinfomsg round trip = %+v", got)
	}
	ifa := IfAddrMsg{Family: 10, PrefixLen: 128, Flags: 0x80, Scope: 254, Index: 1}
	if got := DecodeIfAddrMsg(ifa.Encode()); got != ifa {
		t.Errorf("ifaddrmsg round trip = %+v", got)
	}
	rtm := RtMsg{Family: 2, DstLen: 8, Table: 255, Protocol: 2, Scope: 254, Type: 2, Flags: 0x200}
	if got := DecodeRtMsg(rtm.Encode()); got != rtm {
		t.Errorf("rtmsg round trip = %+v", got)
	}
	if len(ifi.Encode()) != IfInfoMsgLen || len(ifa.Encode()) != IfAddrMsgLen || len(rtm.Encode()) != RtMsgLen {
		t.Error("header sizes")
	}
}
