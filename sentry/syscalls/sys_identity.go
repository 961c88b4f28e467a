package syscalls

import (
	"encoding/binary"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// ngroupsMax is NGROUPS_MAX.
const ngroupsMax = 65536

// Setuid implements Linux syscall setuid(2).
func Setuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if uint32(args[0]) == ^uint32(0) {
		return 0, unix.EINVAL
	}
	return 0, t.SetUID(uint32(args[0]))
}

// Setgid implements Linux syscall setgid(2).
func Setgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if uint32(args[0]) == ^uint32(0) {
		return 0, unix.EINVAL
	}
	return 0, t.SetGID(uint32(args[0]))
}

// Setreuid implements Linux syscall setreuid(2).
func Setreuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.SetReUID(uint32(args[0]), uint32(args[1]))
}

// Setregid implements Linux syscall setregid(2).
func Setregid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.SetReGID(uint32(args[0]), uint32(args[1]))
}

// Setresuid implements Linux syscall setresuid(2).
func Setresuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.SetResUID(uint32(args[0]), uint32(args[1]), uint32(args[2]))
}

// Setresgid implements Linux syscall setresgid(2).
func Setresgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.SetResGID(uint32(args[0]), uint32(args[1]), uint32(args[2]))
}

// Setfsuid implements Linux syscall setfsuid(2): it returns the old fsuid
// and changes it only when allowed.
func Setfsuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var old uint32
	id := uint32(args[0])
	t.UpdateCredentials(func(c *kernel.Credentials) {
		old = c.FSUID
		if id != ^uint32(0) && (c.HasCap(kernel.CapSetuid) || id == c.UID || id == c.EUID || id == c.SUID || id == c.FSUID) {
			c.FSUID = id
		}
	})
	return uint64(old), nil
}

// Setfsgid implements Linux syscall setfsgid(2).
func Setfsgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var old uint32
	id := uint32(args[0])
	t.UpdateCredentials(func(c *kernel.Credentials) {
		old = c.FSGID
		if id != ^uint32(0) && (c.HasCap(kernel.CapSetgid) || id == c.GID || id == c.EGID || id == c.SGID || id == c.FSGID) {
			c.FSGID = id
		}
	})
	return uint64(old), nil
}

// Getgroups implements Linux syscall getgroups(2).
func Getgroups(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	size := int32(args[0])
	groups := t.Credentials().Groups
	if size < 0 {
		return 0, unix.EINVAL
	}
	if size == 0 {
		return uint64(len(groups)), nil
	}
	if int(size) < len(groups) {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*len(groups))
	for i, g := range groups {
		binary.LittleEndian.PutUint32(b[4*i:], g)
	}
	if _, err := t.CopyOut(args[1], b); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(groups)), nil
}

// Setgroups implements Linux syscall setgroups(2).
func Setgroups(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	size := int32(args[0])
	if size < 0 || size > ngroupsMax {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*int(size))
	if _, err := t.CopyIn(args[1], b); err != nil {
		return 0, unix.EFAULT
	}
	groups := make([]uint32, size)
	for i := range groups {
		groups[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	// groups_sort: getgroups returns the set in ascending order,
	// whatever order setgroups was given.
	slices.Sort(groups)
	return 0, t.SetGroups(groups)
}

// Capability ABI versions.
const (
	capVersion1 = 0x19980330
	capVersion2 = 0x20071026
	capVersion3 = 0x20080522
)

// capHeader reads a cap_user_header_t and returns how many data structs
// the version uses; an unknown version gets the preferred one written back.
func capHeader(t *kernel.Task, addr uint64) (words int, pid int32, err error) {
	var b [8]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, 0, unix.EFAULT
	}
	pid = int32(binary.LittleEndian.Uint32(b[4:]))
	switch binary.LittleEndian.Uint32(b[0:]) {
	case capVersion1:
		return 1, pid, nil
	case capVersion2, capVersion3:
		return 2, pid, nil
	}
	binary.LittleEndian.PutUint32(b[0:], capVersion3)
	if _, err := t.CopyOut(addr, b[:4]); err != nil {
		return 0, 0, unix.EFAULT
	}
	return 0, pid, unix.EINVAL
}

// Capget implements Linux syscall capget(2).
func Capget(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	words, pid, err := capHeader(t, args[0])
	if err != nil {
		if err == unix.EINVAL && args[1] == 0 {
			return 0, nil
		}
		return 0, err
	}
	if pid < 0 {
		return 0, unix.EINVAL
	}
	target := t
	if pid != 0 {
		if target = t.LookupTask(pid); target == nil {
			return 0, unix.ESRCH
		}
	}
	if args[1] == 0 {
		return 0, nil
	}
	c := target.Credentials().Caps
	b := make([]byte, 12*words)
	for i := 0; i < words; i++ {
		shift := uint(32 * i)
		binary.LittleEndian.PutUint32(b[12*i:], uint32(c.Effective>>shift))
		binary.LittleEndian.PutUint32(b[12*i+4:], uint32(c.Permitted>>shift))
		binary.LittleEndian.PutUint32(b[12*i+8:], uint32(c.Inheritable>>shift))
	}
	if _, err := t.CopyOut(args[1], b); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Capset implements Linux syscall capset(2).
func Capset(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	words, pid, err := capHeader(t, args[0])
	if err != nil {
		return 0, err
	}
	if pid != 0 && pid != t.TID() {
		return 0, unix.EPERM
	}
	b := make([]byte, 12*words)
	if _, err := t.CopyIn(args[1], b); err != nil {
		return 0, unix.EFAULT
	}
	var e, p, i uint64
	for w := 0; w < words; w++ {
		shift := uint(32 * w)
		e |= uint64(binary.LittleEndian.Uint32(b[12*w:])) << shift
		p |= uint64(binary.LittleEndian.Uint32(b[12*w+4:])) << shift
		i |= uint64(binary.LittleEndian.Uint32(b[12*w+8:])) << shift
	}
	if words == 1 {
		// Version 1 cannot express the upper capabilities: keep them.
		c := t.Credentials().Caps
		hi := ^uint64(0xffffffff)
		e, p, i = e|c.Effective&hi, p|c.Permitted&hi, i|c.Inheritable&hi
	}
	return 0, t.SetCapabilities(e&kernel.AllCaps, p&kernel.AllCaps, i&kernel.AllCaps)
}
