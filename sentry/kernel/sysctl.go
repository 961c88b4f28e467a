package kernel

import (
	"strconv"
	"strings"

	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// SetSysctl sets one of the sysctls a pod may set (package sysctl lists
// them) on the sandbox's kernel, as the container runtime writes them
// into the pod's namespaces before its containers start.
func (k *Kernel) SetSysctl(name, value string) error {
	name, value, err := sysctl.Parse(name, value)
	if err != nil {
		return err
	}
	ns := k.IPC()
	switch name {
	case "kernel.shm_rmid_forced":
		ns.mu.Lock()
		ns.rmidForced = value == "1"
		ns.mu.Unlock()
	case "kernel.shmmax", "kernel.shmall", "kernel.shmmni":
		n, _ := strconv.ParseUint(value, 10, 64)
		ns.mu.Lock()
		switch name {
		case "kernel.shmmax":
			ns.ctlMax = n
		case "kernel.shmall":
			ns.ctlAll = n
		default:
			ns.ctlMNI = n
		}
		ns.mu.Unlock()
	case "kernel.msgmax":
		ns.limits.msgMax.Store(parsedInt(value))
	case "kernel.msgmnb":
		ns.limits.msgMNB.Store(parsedInt(value))
	case "kernel.msgmni":
		ns.limits.msgMNI.Store(parsedInt(value))
	case "kernel.sem":
		s, _ := sysctl.ParseSem(value)
		ns.limits.setSem(s)
	case "net.ipv4.ping_group_range":
		low, high, _ := sysctl.ParsePingGroupRange(value)
		k.pingGroups.Store(pingGroupsSet | uint64(low)<<32 | uint64(high))
	default:
		if mq, ok := strings.CutPrefix(name, "fs.mqueue."); ok {
			ns.MQueues().SetSysctl(mq, parsedInt(value))
		}
	}
	return nil
}

// Sysctl returns the value of a sysctl SetSysctl sets, as /proc/sys
// shows it ("" for other names).
func (k *Kernel) Sysctl(name string) string {
	ns := k.CallerIPC()
	switch sysctl.Canonical(name) {
	case "kernel.shm_rmid_forced", "kernel.shmmax", "kernel.shmall", "kernel.shmmni":
		ns.mu.Lock()
		defer ns.mu.Unlock()
		switch sysctl.Canonical(name) {
		case "kernel.shm_rmid_forced":
			if ns.rmidForced {
				return "1"
			}
			return "0"
		case "kernel.shmmax":
			return strconv.FormatUint(ns.ctlMax, 10)
		case "kernel.shmall":
			return strconv.FormatUint(ns.ctlAll, 10)
		default:
			return strconv.FormatUint(ns.ctlMNI, 10)
		}
	case "kernel.msgmax":
		return strconv.FormatInt(ns.limits.msgMax.Load(), 10)
	case "kernel.msgmnb":
		return strconv.FormatInt(ns.limits.msgMNB.Load(), 10)
	case "kernel.msgmni":
		return strconv.FormatInt(ns.limits.msgMNI.Load(), 10)
	case "kernel.sem":
		return ns.limits.sem().String()
	case "net.ipv4.ping_group_range":
		low, high := k.pingGroupRange()
		return strconv.FormatUint(uint64(low), 10) + "\t" + strconv.FormatUint(uint64(high), 10)
	}
	if mq, ok := strings.CutPrefix(sysctl.Canonical(name), "fs.mqueue."); ok {
		if v, ok := ns.MQueues().Sysctl(mq); ok {
			return strconv.FormatInt(v, 10)
		}
	}
	return ""
}

// pingGroupRange returns net.ipv4.ping_group_range: Linux's "1 0" (no
// group) until a pod sets it.
func (k *Kernel) pingGroupRange() (low, high uint32) {
	v := k.pingGroups.Load()
	if v&pingGroupsSet == 0 {
		return 1, 0
	}
	return uint32(v>>32) &^ (1 << 31), uint32(v)
}

// pingGroupsSet marks Kernel.pingGroups as set (group IDs there are below
// 2^31, so the bit is otherwise clear).
const pingGroupsSet = 1 << 63

// MayOpenPingSocket reports whether c may open an ICMP echo socket
// (SOCK_DGRAM, IPPROTO_ICMP or IPPROTO_ICMPV6): its effective group or a
// supplementary one is in net.ipv4.ping_group_range, as Linux's
// ping_init_sock requires of every caller, root included.
func (k *Kernel) MayOpenPingSocket(c *Credentials) bool {
	low, high := k.pingGroupRange()
	in := func(g uint32) bool { return low <= g && g <= high }
	if in(c.EGID) {
		return true
	}
	for _, g := range c.Groups {
		if in(g) {
			return true
		}
	}
	return false
}

// parsedInt converts a value sysctl.Parse has already checked.
func parsedInt(value string) int64 {
	n, _ := strconv.ParseInt(value, 10, 64)
	return n
}
