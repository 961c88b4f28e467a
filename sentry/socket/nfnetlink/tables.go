package nfnetlink

import (
	"cmp"
	"maps"
	"slices"

	glinux "gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/marshal/primitive"
	gnl "gvisor.dev/gvisor/pkg/sentry/socket/netlink/nlmsg"
	"gvisor.dev/gvisor/pkg/syserr"
	"gvisor.dev/gvisor/pkg/tcpip/nftables"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

func invalid(what string) *syserr.AnnotatedError {
	return syserr.NewAnnotatedError(syserr.ErrInvalidArgument, what)
}

func unsupported(what string) *syserr.AnnotatedError {
	return syserr.NewAnnotatedError(syserr.ErrNotSupported, what)
}

// tableNamed returns the table the attribute attr of r names, as the
// caller with netlink port portID may see it (0: any table, as reads
// may).
func tableNamed(nft *nftables.NFTables, r request, attr uint16, portID uint32) (*nftables.Table, *syserr.AnnotatedError) {
	name, ok := r.attrs[attr]
	if !ok {
		return nil, invalid("no table name")
	}
	return nft.GetTable(r.family, name.String(), portID)
}

// tableFlags reads NFTA_TABLE_FLAGS: only the user flags
// (NFT_TABLE_F_MASK) are accepted.
func tableFlags(r request) (uint32, *syserr.AnnotatedError) {
	b, ok := r.attrs[glinux.NFTA_TABLE_FLAGS]
	if !ok {
		return 0, nil
	}
	v, ok := b.Uint32()
	if !ok {
		return 0, invalid("malformed NFTA_TABLE_FLAGS")
	}
	flags := gnl.NetToHostU32(v)
	if flags&^uint32(glinux.NFT_TABLE_F_MASK) != 0 {
		return 0, unsupported("unknown table flags")
	}
	return flags, nil
}

// newTable is NFT_MSG_NEWTABLE (nf_tables_newtable): it makes a table,
// or updates the flags of one that exists unless NLM_F_EXCL.
func newTable(nft *nftables.NFTables, r request, msgFlags uint16, portID uint32) (*nftables.Table, *syserr.AnnotatedError) {
	name, ok := r.attrs[glinux.NFTA_TABLE_NAME]
	if !ok {
		return nil, invalid("no NFTA_TABLE_NAME")
	}
	flags, err := tableFlags(r)
	if err != nil {
		return nil, err
	}
	tab, err := nft.GetTable(r.family, name.String(), portID)
	if err != nil && err.GetError() != syserr.ErrNoFileOrDir {
		return nil, err
	}
	if tab != nil {
		if msgFlags&glinux.NLM_F_EXCL != 0 {
			return nil, syserr.NewAnnotatedError(syserr.ErrExists, "table exists")
		}
		if msgFlags&glinux.NLM_F_REPLACE != 0 {
			return nil, unsupported("replacing a table")
		}
		// nf_tables_updtable: an owned table stays owned.
		owner := flags&glinux.NFT_TABLE_F_OWNER != 0
		if tab.HasOwner() && !owner {
			return nil, unsupported("an owned table keeps NFT_TABLE_F_OWNER")
		}
		if owner && !tab.HasOwner() {
			if err := tab.SetOwner(portID); err != nil {
				return nil, err
			}
		}
		tab.SetDormant(flags&glinux.NFT_TABLE_F_DORMANT != 0)
		return tab, nil
	}
	tab, err = nft.CreateTable(r.family, name.String())
	if err != nil {
		return nil, err
	}
	if udata, ok := r.attrs[glinux.NFTA_TABLE_USERDATA]; ok {
		if err := tab.SetUserData(udata); err != nil {
			return nil, err
		}
	}
	tab.SetDormant(flags&glinux.NFT_TABLE_F_DORMANT != 0)
	if flags&glinux.NFT_TABLE_F_OWNER != 0 {
		if err := tab.SetOwner(portID); err != nil {
			return nil, err
		}
	}
	return tab, nil
}

// deleteTable is NFT_MSG_DELTABLE and DESTROYTABLE: one table by name or
// handle, or, with neither or no family, every table the caller may
// delete (nft flush ruleset).
func deleteTable(nft *nftables.NFTables, r request, msgFlags uint16, portID uint32) *syserr.AnnotatedError {
	_, byName := r.attrs[glinux.NFTA_TABLE_NAME]
	_, byHandle := r.attrs[glinux.NFTA_TABLE_HANDLE]
	if r.familyErr != nil && r.family != stack.Unspec {
		return syserr.NewAnnotatedError(r.familyErr, "unsupported family")
	}
	if r.family == stack.Unspec || (!byName && !byHandle) {
		return nft.Flush(r.family, r.attrs, portID)
	}
	var tab *nftables.Table
	var err *syserr.AnnotatedError
	if byHandle {
		h, ok := nftables.AttrNetToHost[uint64](glinux.NFTA_TABLE_HANDLE, r.attrs)
		if !ok {
			return invalid("malformed NFTA_TABLE_HANDLE")
		}
		tab, err = nft.GetTableByHandle(r.family, h, portID)
	} else {
		name := r.attrs[glinux.NFTA_TABLE_NAME]
		tab, err = nft.GetTable(r.family, name.String(), portID)
	}
	if err != nil {
		if err.GetError() == syserr.ErrNoFileOrDir && glinux.NfTableMsgType(r.typ) == glinux.NFT_MSG_DESTROYTABLE {
			return nil
		}
		return err
	}
	if msgFlags&glinux.NLM_F_NONREC != 0 && tab.ChainCount() > 0 {
		return syserr.NewAnnotatedError(syserr.ErrBusy, "table not empty")
	}
	_, err = nft.DeleteTable(r.family, tab.GetName())
	return err
}

// getTable is NFT_MSG_GETTABLE: one table by name, or a dump of the
// family's (every family's for NFPROTO_UNSPEC).
func getTable(nft *nftables.NFTables, r request, dump bool, ms *gnl.MessageSet) *syserr.AnnotatedError {
	if dump {
		return eachFamily(r, func(f stack.AddressFamily) *syserr.AnnotatedError {
			for _, tab := range sortedTables(nft, f) {
				if err := fillTable(tab, ms, glinux.NFT_MSG_NEWTABLE); err != nil {
					return err
				}
			}
			return nil
		})
	}
	tab, err := tableNamed(nft, r, glinux.NFTA_TABLE_NAME, 0)
	if err != nil {
		return err
	}
	return fillTable(tab, ms, glinux.NFT_MSG_NEWTABLE)
}

// eachFamily runs fn for r's family, or for every family when r's is
// NFPROTO_UNSPEC; an unknown family has nothing to dump.
func eachFamily(r request, fn func(stack.AddressFamily) *syserr.AnnotatedError) *syserr.AnnotatedError {
	if r.family != stack.Unspec {
		if r.familyErr != nil {
			return nil
		}
		return fn(r.family)
	}
	for f := range stack.NumAFs {
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// fillTable adds a table's message of type typ (NEWTABLE, or DELTABLE
// for a notice), as nf_tables_fill_table_info writes it.
func fillTable(tab *nftables.Table, ms *gnl.MessageSet, typ glinux.NfTableMsgType) *syserr.AnnotatedError {
	flags, err := tab.GetLinuxUserFlagSet()
	if err != nil {
		return err
	}
	m := ms.AddMessage(glinux.NetlinkMessageHeader{Type: uint16(glinux.NFNL_SUBSYS_NFTABLES)<<8 | uint16(typ)})
	m.Put(&glinux.NetFilterGenMsg{Family: nftables.AfProtocol(tab.GetAddressFamily()), Version: glinux.NFNETLINK_V0})
	m.PutAttrString(glinux.NFTA_TABLE_NAME, tab.GetName())
	m.PutAttr(glinux.NFTA_TABLE_FLAGS, gnl.PutU32(uint32(flags)))
	m.PutAttr(glinux.NFTA_TABLE_USE, gnl.PutU32(uint32(tab.ChainCount())))
	m.PutAttr(glinux.NFTA_TABLE_HANDLE, gnl.PutU64(tab.GetHandle()))
	if tab.HasOwner() {
		m.PutAttr(glinux.NFTA_TABLE_OWNER, gnl.PutU32(tab.GetOwner()))
	}
	if tab.HasUserData() {
		m.PutAttr(glinux.NFTA_TABLE_USERDATA, primitive.AsByteSlice(tab.GetUserData()))
	}
	return nil
}

// sortedTables returns a family's tables in the order they were made,
// as Linux lists them.
func sortedTables(nft *nftables.NFTables, f stack.AddressFamily) []*nftables.Table {
	tabs := slices.Collect(maps.Values(nft.GetAddressFamilyTables(f)))
	slices.SortFunc(tabs, func(a, b *nftables.Table) int { return cmp.Compare(a.GetHandle(), b.GetHandle()) })
	return tabs
}
