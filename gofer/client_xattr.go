package gofer

import (
	"golang.org/x/sys/unix"
)

// checkClientXattrName bounds an attribute name as getxattr(2) does.
func checkClientXattrName(name string) unix.Errno {
	if len(name) == 0 || len(name) > MaxXattrNameLen {
		return unix.ERANGE
	}
	return 0
}

// Getxattr reads the extended attribute name of f's file, as getxattr(2):
// with size 0 it returns only the value's length; otherwise it returns the
// value, failing with ERANGE if it is longer than size. size is capped at
// MaxXattrValueLen, the longest value Linux allows. Only "user." attributes
// exist; "trusted." ones fail with ENODATA and others with EOPNOTSUPP.
func (c *Client) Getxattr(f FID, name string, size int) (value []byte, length int, err error) {
	if errno := checkClientXattrName(name); errno != 0 {
		return nil, 0, errno
	}
	if size < 0 {
		return nil, 0, unix.EINVAL
	}
	size = min(size, MaxXattrValueLen)
	x := c.get()
	defer c.put(x)
	e := x.begin(opGetxattr)
	e.u64(uint64(f))
	e.str(name)
	e.u32(uint32(size))
	rep, err := x.roundTrip(opGetxattr, false)
	if err != nil {
		return nil, 0, err
	}
	if rep.errno != 0 {
		return nil, 0, rep.errno
	}
	if size == 0 {
		n := rep.results.u32()
		if !rep.results.ok() || n > MaxXattrValueLen {
			return nil, 0, x.malformed(opGetxattr)
		}
		return nil, int(n), nil
	}
	b := rep.results.bytes32()
	if !rep.results.ok() || len(b) > size {
		return nil, 0, x.malformed(opGetxattr)
	}
	value = append([]byte{}, b...)
	return value, len(value), nil
}

// Setxattr sets the extended attribute name of f's file to value, as
// setxattr(2) with flags 0, unix.XATTR_CREATE or unix.XATTR_REPLACE. Only
// "user." attributes of regular files and directories can be set.
func (c *Client) Setxattr(f FID, name string, value []byte, flags int) error {
	if errno := checkClientXattrName(name); errno != 0 {
		return errno
	}
	if len(value) > MaxXattrValueLen {
		return unix.E2BIG
	}
	if errno := checkFlags32(flags); errno != 0 {
		return errno
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opSetxattr)
	e.u64(uint64(f))
	e.str(name)
	e.bytes32(value)
	e.u32(uint32(flags))
	return x.emptyReply(opSetxattr)
}

// Listxattr lists the names of the "user." extended attributes of f's file,
// as listxattr(2): length is the size of the list as NUL-terminated names;
// with size 0 only length is returned, otherwise the names too, failing
// with ERANGE if the list is longer than size. size is capped at
// MaxXattrListLen.
func (c *Client) Listxattr(f FID, size int) (names []string, length int, err error) {
	if size < 0 {
		return nil, 0, unix.EINVAL
	}
	size = min(size, MaxXattrListLen)
	x := c.get()
	defer c.put(x)
	e := x.begin(opListxattr)
	e.u64(uint64(f))
	e.u32(uint32(size))
	rep, err := x.roundTrip(opListxattr, false)
	if err != nil {
		return nil, 0, err
	}
	if rep.errno != 0 {
		return nil, 0, rep.errno
	}
	if size == 0 {
		n := rep.results.u32()
		if !rep.results.ok() || n > MaxXattrListLen {
			return nil, 0, x.malformed(opListxattr)
		}
		return nil, int(n), nil
	}
	list := rep.results.bytes32()
	if !rep.results.ok() || len(list) > size || (len(list) > 0 && list[len(list)-1] != 0) {
		return nil, 0, x.malformed(opListxattr)
	}
	length = len(list)
	for len(list) > 0 {
		end := indexNUL(list)
		names = append(names, string(list[:end]))
		list = list[end+1:]
	}
	return names, length, nil
}

// Removexattr removes the extended attribute name of f's file.
func (c *Client) Removexattr(f FID, name string) error {
	if errno := checkClientXattrName(name); errno != 0 {
		return errno
	}
	x := c.get()
	defer c.put(x)
	e := x.begin(opRemovexattr)
	e.u64(uint64(f))
	e.str(name)
	return x.emptyReply(opRemovexattr)
}
