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

// The user and group IDs a task's credentials hold are kernel IDs
// (sentry/kernel/userns.go): those the system calls below take are
// translated through the caller's user namespace (EINVAL when one has no
// mapping there, as make_kuid's invalid result is), and those they
// return are translated back (the overflow ID when one has none).

// kernelIDs translates ids, user IDs (gid false) or group IDs of the
// caller's namespace, into kernel IDs in place; -1 stays -1 ("leave
// unchanged").
func kernelIDs(t *kernel.Task, gid bool, ids ...*uint32) error {
	ns := t.Credentials().UserNamespace()
	for _, id := range ids {
		if *id == ^uint32(0) {
			continue
		}
		k, ok := ns.KUID(*id)
		if gid {
			k, ok = ns.KGID(*id)
		}
		if !ok {
			return unix.EINVAL
		}
		*id = k
	}
	return nil
}

// userIDs returns kernel user IDs as the caller's namespace sees them.
func userIDs(t *kernel.Task, kids ...uint32) []uint32 {
	ns := t.Credentials().UserNamespace()
	out := make([]uint32, len(kids))
	for i, k := range kids {
		out[i] = ns.MungedUID(k)
	}
	return out
}

// groupIDs is userIDs for group IDs.
func groupIDs(t *kernel.Task, kids ...uint32) []uint32 {
	ns := t.Credentials().UserNamespace()
	out := make([]uint32, len(kids))
	for i, k := range kids {
		out[i] = ns.MungedGID(k)
	}
	return out
}

// getuid implements Linux syscall getuid(2).
func getuid(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	c := t.Credentials()
	return uint64(c.UserNamespace().MungedUID(c.UID)), nil
}

// geteuid implements Linux syscall geteuid(2).
func geteuid(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	c := t.Credentials()
	return uint64(c.UserNamespace().MungedUID(c.EUID)), nil
}

// getgid implements Linux syscall getgid(2).
func getgid(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	c := t.Credentials()
	return uint64(c.UserNamespace().MungedGID(c.GID)), nil
}

// getegid implements Linux syscall getegid(2).
func getegid(t *kernel.Task, _ arch.SyscallArgs) (uint64, error) {
	c := t.Credentials()
	return uint64(c.UserNamespace().MungedGID(c.EGID)), nil
}

// copyOutThreeIDs writes getresuid's and getresgid's three IDs.
func copyOutThreeIDs(t *kernel.Task, args arch.SyscallArgs, ids []uint32) error {
	for i := 0; i < 3; i++ {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], ids[i])
		if _, err := t.CopyOut(args[i], b[:]); err != nil {
			return unix.EFAULT
		}
	}
	return nil
}

// getresuid implements Linux syscall getresuid(2).
func getresuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	c := t.Credentials()
	return 0, copyOutThreeIDs(t, args, userIDs(t, c.UID, c.EUID, c.SUID))
}

// getresgid implements Linux syscall getresgid(2).
func getresgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	c := t.Credentials()
	return 0, copyOutThreeIDs(t, args, groupIDs(t, c.GID, c.EGID, c.SGID))
}

// Setuid implements Linux syscall setuid(2).
func Setuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	id := uint32(args[0])
	if id == ^uint32(0) {
		return 0, unix.EINVAL
	}
	if err := kernelIDs(t, false, &id); err != nil {
		return 0, err
	}
	return 0, t.SetUID(id)
}

// Setgid implements Linux syscall setgid(2).
func Setgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	id := uint32(args[0])
	if id == ^uint32(0) {
		return 0, unix.EINVAL
	}
	if err := kernelIDs(t, true, &id); err != nil {
		return 0, err
	}
	return 0, t.SetGID(id)
}

// Setreuid implements Linux syscall setreuid(2).
func Setreuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	r, e := uint32(args[0]), uint32(args[1])
	if err := kernelIDs(t, false, &r, &e); err != nil {
		return 0, err
	}
	return 0, t.SetReUID(r, e)
}

// Setregid implements Linux syscall setregid(2).
func Setregid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	r, e := uint32(args[0]), uint32(args[1])
	if err := kernelIDs(t, true, &r, &e); err != nil {
		return 0, err
	}
	return 0, t.SetReGID(r, e)
}

// Setresuid implements Linux syscall setresuid(2).
func Setresuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	r, e, s := uint32(args[0]), uint32(args[1]), uint32(args[2])
	if err := kernelIDs(t, false, &r, &e, &s); err != nil {
		return 0, err
	}
	return 0, t.SetResUID(r, e, s)
}

// Setresgid implements Linux syscall setresgid(2).
func Setresgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	r, e, s := uint32(args[0]), uint32(args[1]), uint32(args[2])
	if err := kernelIDs(t, true, &r, &e, &s); err != nil {
		return 0, err
	}
	return 0, t.SetResGID(r, e, s)
}

// Setfsuid implements Linux syscall setfsuid(2): it returns the old fsuid
// and changes it only when allowed (an ID without a mapping never is).
func Setfsuid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var old uint32
	id := uint32(args[0])
	valid := id != ^uint32(0) && kernelIDs(t, false, &id) == nil
	t.UpdateCredentials(func(c *kernel.Credentials) {
		old = c.FSUID
		if valid && (c.HasOwnCap(kernel.CapSetuid) || id == c.UID || id == c.EUID || id == c.SUID || id == c.FSUID) {
			c.FSUID = id
		}
	})
	return uint64(t.Credentials().UserNamespace().MungedUID(old)), nil
}

// Setfsgid implements Linux syscall setfsgid(2).
func Setfsgid(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	var old uint32
	id := uint32(args[0])
	valid := id != ^uint32(0) && kernelIDs(t, true, &id) == nil
	t.UpdateCredentials(func(c *kernel.Credentials) {
		old = c.FSGID
		if valid && (c.HasOwnCap(kernel.CapSetgid) || id == c.GID || id == c.EGID || id == c.SGID || id == c.FSGID) {
			c.FSGID = id
		}
	})
	return uint64(t.Credentials().UserNamespace().MungedGID(old)), nil
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
	for i, g := range groupIDs(t, groups...) {
		binary.LittleEndian.PutUint32(b[4*i:], g)
	}
	if _, err := t.CopyOut(args[1], b); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(groups)), nil
}

// Setgroups implements Linux syscall setgroups(2).
func Setgroups(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if !t.Credentials().MaySetGroups() {
		return 0, unix.EPERM
	}
	size := int32(args[0])
	if size < 0 || size > ngroupsMax {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*int(size))
	if _, err := t.CopyIn(args[1], b); err != nil {
		return 0, unix.EFAULT
	}
	groups := make([]uint32, size)
	ptrs := make([]*uint32, size)
	for i := range groups {
		groups[i] = binary.LittleEndian.Uint32(b[4*i:])
		if groups[i] == ^uint32(0) {
			// Never a valid group, not "unchanged".
			return 0, unix.EINVAL
		}
		ptrs[i] = &groups[i]
	}
	if err := kernelIDs(t, true, ptrs...); err != nil {
		return 0, err
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
