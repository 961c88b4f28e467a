package gofer

import "golang.org/x/sys/unix"

// NewFID returns a FID for a file the session is about to create with
// PostCreateHeld; it is never given out twice.
func (c *Client) NewFID() FID { return ClientFIDBit | FID(c.lastClientFID.Add(1)) }

// PostCreateHeld sends CreateHeld without waiting for its reply (see
// Posted): it creates name in dir as a regular file with exactly mode's
// permission bits and owner uid and gid, as fid, which NewFID gave, and
// the gofer keeps its read-write descriptor until PostFinishHeld. Requests
// sent after it may use fid at once. The Posted's Stat is the new file's;
// failed, when not nil, is called with the error if the request fails.
func (c *Client) PostCreateHeld(dir FID, name string, mode, uid, gid uint32, fid FID, failed func(error)) *Posted {
	p := &Posted{op: opCreateHeld, failed: failed}
	if errno := checkClientName(name); errno != 0 {
		p.finish(Stat{}, errno)
		return p
	}
	return c.post(p, func(x *clientConn) {
		e := x.begin(opCreateHeld)
		e.u64(uint64(dir))
		e.str(name)
		e.u32(mode)
		e.u32(uid)
		e.u32(gid)
		e.u64(uint64(fid))
	})
}

// PostFinishHeld sends FinishHeld without waiting for its reply: the gofer
// writes data (at most MaxHeldData bytes) at the start of fid's file
// through the descriptor CreateHeld kept, closes it, and makes the
// attribute changes of a, whose mask may not hold STATX_SIZE. The
// Posted's Stat is the file's afterwards; failed is as for PostCreateHeld.
func (c *Client) PostFinishHeld(fid FID, data []byte, a SetAttrArgs, failed func(error)) *Posted {
	p := &Posted{op: opFinishHeld, failed: failed}
	if len(data) > MaxHeldData || a.Mask&unix.STATX_SIZE != 0 {
		p.finish(Stat{}, unix.EINVAL)
		return p
	}
	return c.post(p, func(x *clientConn) {
		e := x.begin(opFinishHeld)
		e.u64(uint64(fid))
		e.bytes32(data)
		e.setAttrArgs(a, false)
	})
}
