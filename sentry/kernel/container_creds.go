package kernel

import (
	"fmt"
	"slices"
	"strings"
)

// capabilityNames are Linux's capability names by number
// (include/uapi/linux/capability.h).
var capabilityNames = [CapLast + 1]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// DefaultContainerCapabilities is the set runc (and containerd's CRI)
// gives a container that names none.
var DefaultContainerCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// CapabilitySet returns the capability mask of names ("CAP_CHOWN" or
// "chown", any case); an unknown name is an error that names it.
func CapabilitySet(names []string) (uint64, error) {
	var set uint64
	for _, name := range names {
		n := strings.ToUpper(name)
		if !strings.HasPrefix(n, "CAP_") {
			n = "CAP_" + n
		}
		found := false
		for i, known := range capabilityNames {
			if known == n {
				set |= 1 << uint(i)
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown capability %q", name)
		}
	}
	return set, nil
}

// NewCredentials returns the credentials of a process the daemon starts:
// real, effective, saved and file-system IDs uid and gid, the
// supplementary groups, and caps as the bounding set. As after Linux's
// execve of a program without file capabilities, root keeps caps as its
// permitted and effective sets and any other user starts with none (it
// has no ambient capabilities).
func NewCredentials(uid, gid uint32, groups []uint32, caps uint64) Credentials {
	c := Credentials{
		UID: uid, EUID: uid, SUID: uid, FSUID: uid,
		GID: gid, EGID: gid, SGID: gid, FSGID: gid,
		Groups: append([]uint32(nil), groups...),
		UserNS: initialUserNS,
	}
	// Linux keeps the supplementary groups sorted (groups_sort in
	// setgroups), so getgroups and id -G list them in ascending order.
	slices.Sort(c.Groups)
	c.Caps.Bounding = caps
	if uid == 0 {
		c.Caps.Permitted, c.Caps.Effective = caps, caps
	}
	return c
}
