package netfilter

// The binary layouts of ip_tables' socket options (linux/netfilter_ipv4/
// ip_tables.h, linux/netfilter/x_tables.h) on 64-bit Linux. Every
// structure is little-endian and entries are 8-byte aligned
// (XT_ALIGN).

import (
	"bytes"
	"encoding/binary"
)

var le = binary.LittleEndian

// The socket options, at SOL_IP (IPT_BASE_CTL).
const (
	SetReplace       = 64 // IPT_SO_SET_REPLACE
	SetAddCounters   = 65 // IPT_SO_SET_ADD_COUNTERS
	GetInfo          = 64 // IPT_SO_GET_INFO
	GetEntries       = 65 // IPT_SO_GET_ENTRIES
	GetRevisionMatch = 66 // IPT_SO_GET_REVISION_MATCH
	GetRevisionTarg  = 67 // IPT_SO_GET_REVISION_TARGET
	// OriginalDst is SO_ORIGINAL_DST: where a redirected connection was
	// going.
	OriginalDst = 80
)

// IsGetOption reports whether getsockopt(SOL_IP, name) is one of
// ip_tables' (which read their argument from the caller's buffer).
func IsGetOption(name int) bool { return name >= GetInfo && name <= GetRevisionTarg }

// IsSetOption reports whether setsockopt(SOL_IP, name) is one of
// ip_tables'.
func IsSetOption(name int) bool { return name == SetReplace || name == SetAddCounters }

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
	// sizeofEntry is struct ipt_entry: the IP header filter (ipt_ip,
	// 84 bytes), nfcache, target_offset, next_offset, comefrom and the
	// counters.
	sizeofEntry = 112
	// sizeofExtension is struct xt_entry_match's and xt_entry_target's
	// header: the size, the name and the revision.
	sizeofExtension = 32
	// sizeofStandard and sizeofError are xt_standard_target and
	// xt_error_target, aligned.
	sizeofStandard = 40
	sizeofError    = 64
)

// Offsets in struct ipt_entry.
const (
	entrySrc          = 0
	entryDst          = 4
	entrySrcMask      = 8
	entryDstMask      = 12
	entryInIface      = 16
	entryOutIface     = 32
	entryInIfaceMask  = 48
	entryOutIfaceMask = 64
	entryProto        = 80
	entryFlags        = 82
	entryInvFlags     = 83
	entryTargetOffset = 88
	entryNextOffset   = 90
	entryComeFrom     = 92
	entryPackets      = 96
	entryBytes        = 104
)

// ipt_ip's flags and inversion flags.
const (
	flagFragment = 0x01 // IPT_F_FRAG
	flagGoto     = 0x02 // IPT_F_GOTO
	flagsMask    = 0x03

	invInIface  = 0x01 // IPT_INV_VIA_IN
	invOutIface = 0x02 // IPT_INV_VIA_OUT
	invTOS      = 0x04 // IPT_INV_TOS
	invSrc      = 0x08 // IPT_INV_SRCIP
	invDst      = 0x10 // IPT_INV_DSTIP
	invFragment = 0x20 // IPT_INV_FRAG
	invProto    = 0x40 // IPT_INV_PROTO
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

// appendStandardEntry appends an entry that matches everything, with a
// standard target of verdict v.
func appendStandardEntry(b []byte, v int32) []byte {
	e := make([]byte, sizeofEntry+sizeofStandard)
	le.PutUint16(e[entryTargetOffset:], sizeofEntry)
	le.PutUint16(e[entryNextOffset:], uint16(len(e)))
	le.PutUint16(e[sizeofEntry:], sizeofStandard)
	le.PutUint32(e[sizeofEntry+sizeofExtension:], uint32(v))
	return append(b, e...)
}

// appendErrorEntry appends the ERROR entry that ends a table (or heads a
// user chain, named after it).
func appendErrorEntry(b []byte, name string) []byte {
	e := make([]byte, sizeofEntry+sizeofError)
	le.PutUint16(e[entryTargetOffset:], sizeofEntry)
	le.PutUint16(e[entryNextOffset:], uint16(len(e)))
	le.PutUint16(e[sizeofEntry:], sizeofError)
	putName(e[sizeofEntry+2:sizeofEntry+2+extensionName], "ERROR")
	putName(e[sizeofEntry+sizeofExtension:sizeofEntry+sizeofExtension+errorNameLen], name)
	return append(b, e...)
}
