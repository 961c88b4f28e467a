package netfilter

// The binary layouts of ip_tables' and ip6_tables' socket options
// (linux/netfilter_ipv4/ip_tables.h, linux/netfilter_ipv6/ip6_tables.h,
// linux/netfilter/x_tables.h) on 64-bit Linux. Every structure is
// little-endian and entries are 8-byte aligned (XT_ALIGN). Both families
// share every structure but the entry.

import (
	"bytes"
	"encoding/binary"
)

var le = binary.LittleEndian

// The socket options, at SOL_IP for IPv4 (IPT_BASE_CTL) and SOL_IPV6 for
// IPv6 (IP6T_BASE_CTL, whose revision queries come later).
const (
	SetReplace        = 64 // IPT_SO_SET_REPLACE, IP6T_SO_SET_REPLACE
	SetAddCounters    = 65 // IPT_SO_SET_ADD_COUNTERS, IP6T_...
	GetInfo           = 64 // IPT_SO_GET_INFO, IP6T_SO_GET_INFO
	GetEntries        = 65 // IPT_SO_GET_ENTRIES, IP6T_SO_GET_ENTRIES
	GetRevisionMatch  = 66 // IPT_SO_GET_REVISION_MATCH
	GetRevisionTarg   = 67 // IPT_SO_GET_REVISION_TARGET
	GetRevisionMatch6 = 68 // IP6T_SO_GET_REVISION_MATCH
	GetRevisionTarg6  = 69 // IP6T_SO_GET_REVISION_TARGET
	// OriginalDst is SO_ORIGINAL_DST (and IP6T_SO_ORIGINAL_DST): where a
	// redirected connection was going.
	OriginalDst = 80
)

// IsGetOption reports whether getsockopt(SOL_IP or SOL_IPV6, name) is
// one of the tables' (which read their argument from the caller's
// buffer).
func IsGetOption(ipv6 bool, name int) bool {
	if ipv6 {
		return name == GetInfo || name == GetEntries || name == GetRevisionMatch6 || name == GetRevisionTarg6
	}
	return name >= GetInfo && name <= GetRevisionTarg
}

// IsSetOption reports whether setsockopt(SOL_IP or SOL_IPV6, name) is
// one of the tables'.
func IsSetOption(name int) bool { return name == SetReplace || name == SetAddCounters }

// IsRevisionTarget reports whether a revision query (IsGetOption) asks
// about a target rather than a match.
func IsRevisionTarget(name int) bool { return name == GetRevisionTarg || name == GetRevisionTarg6 }

const (
	tableNameLen    = 32 // XT_TABLE_MAXNAMELEN
	extensionName   = 29 // XT_EXTENSION_MAXNAMELEN
	errorNameLen    = 30 // XT_FUNCTION_MAXNAMELEN
	numHooks        = 5  // NF_INET_NUMHOOKS
	sizeofGetinfo   = 84 // struct ipt_getinfo
	sizeofGetHeader = 40 // struct ipt_get_entries, up to entrytable
	sizeofReplace   = 96 // struct ipt_replace, up to entries
	sizeofCountInfo = 40 // struct xt_counters_info, up to counters
	sizeofCounters  = 16 // struct xt_counters
	sizeofRevision  = 30 // struct xt_get_revision
	// sizeofExtension is struct xt_entry_match's and xt_entry_target's
	// header: the size, the name and the revision.
	sizeofExtension = 32
	// sizeofStandard and sizeofError are xt_standard_target and
	// xt_error_target, aligned.
	sizeofStandard = 40
	sizeofError    = 64
)

// layout is where struct ipt_entry (IPv4) and struct ip6t_entry (IPv6)
// keep their fields: the IP header filter (ipt_ip, ip6t_ip6) first, then
// nfcache, target_offset, next_offset, comefrom and the counters.
type layout struct {
	ipSize    int // the header filter, padding included
	flags     int // its flags
	invFlags  int // and inversion flags
	targetOff int
	nextOff   int
	comeFrom  int
	counters  int
	entrySize int
	flagsMask uint8
	flagGoto  uint8
	// flagsUnsupported are flags the sandbox does not implement: -f
	// (IPT_F_FRAG), --tos (IP6T_F_TOS).
	flagsUnsupported uint8
}

var (
	// ipv4Layout is struct ipt_entry's: IPT_F_FRAG 0x01, IPT_F_GOTO 0x02.
	ipv4Layout = layout{ipSize: 84, flags: 82, invFlags: 83, targetOff: 88, nextOff: 90, comeFrom: 92, counters: 96, entrySize: 112,
		flagsMask: 0x03, flagGoto: 0x02, flagsUnsupported: 0x01}
	// ipv6Layout is struct ip6t_entry's: IP6T_F_PROTO 0x01, IP6T_F_TOS
	// 0x02, IP6T_F_GOTO 0x04.
	ipv6Layout = layout{ipSize: 136, flags: 131, invFlags: 132, targetOff: 140, nextOff: 142, comeFrom: 144, counters: 152, entrySize: 168,
		flagsMask: 0x07, flagGoto: 0x04, flagsUnsupported: 0x02}
)

// The inversion flags (IPT_INV_*, IP6T_INV_*: the same bits).
const (
	invInIface  = 0x01
	invOutIface = 0x02
	invSrc      = 0x08
	invDst      = 0x10
	invProto    = 0x40
	invMask     = 0x7f
)

// The standard target's verdicts: negative ones are -NF_x-1, positive
// ones an offset to jump to.
const (
	verdictDrop   = -1 // -NF_DROP-1
	verdictAccept = -2 // -NF_ACCEPT-1
	verdictQueue  = -4 // -NF_QUEUE-1
	verdictReturn = -5 // XT_RETURN: -NF_REPEAT-1
)

// align is XT_ALIGN.
func align(n int) int { return (n + 7) &^ 7 }

// cString returns b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// putName writes name into b, NUL-padded.
func putName(b []byte, name string) {
	clear(b)
	copy(b[:len(b)-1], name)
}

// extension is one match or the target of an entry.
type extension struct {
	name     string
	revision uint8
	data     []byte // after the header, aligned size
}

// readExtension decodes the match or target at b[off:], whose size must
// fit in end.
func readExtension(b []byte, off, end int) (extension, int, bool) {
	if off+sizeofExtension > end {
		return extension{}, 0, false
	}
	size := int(le.Uint16(b[off:]))
	if size < sizeofExtension || off+size > end || size%8 != 0 {
		return extension{}, 0, false
	}
	return extension{
		name:     cString(b[off+2 : off+2+extensionName]),
		revision: b[off+31],
		data:     b[off+sizeofExtension : off+size],
	}, size, true
}

// appendStandardEntry appends an entry of layout l that matches
// everything, with a standard target of verdict v.
func appendStandardEntry(b []byte, l layout, v int32) []byte {
	e := make([]byte, l.entrySize+sizeofStandard)
	le.PutUint16(e[l.targetOff:], uint16(l.entrySize))
	le.PutUint16(e[l.nextOff:], uint16(len(e)))
	le.PutUint16(e[l.entrySize:], sizeofStandard)
	le.PutUint32(e[l.entrySize+sizeofExtension:], uint32(v))
	return append(b, e...)
}

// appendErrorEntry appends the ERROR entry that ends a table (or heads a
// user chain, named after it).
func appendErrorEntry(b []byte, l layout, name string) []byte {
	e := make([]byte, l.entrySize+sizeofError)
	le.PutUint16(e[l.targetOff:], uint16(l.entrySize))
	le.PutUint16(e[l.nextOff:], uint16(len(e)))
	le.PutUint16(e[l.entrySize:], sizeofError)
	putName(e[l.entrySize+2:l.entrySize+2+extensionName], "ERROR")
	putName(e[l.entrySize+sizeofExtension:l.entrySize+sizeofExtension+errorNameLen], name)
	return append(b, e...)
}
