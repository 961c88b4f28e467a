package kernel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/sentry/socket/inet"
	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// capNetBindService is CAP_NET_BIND_SERVICE.
const capNetBindService = 10

func init() {
	// bind(2) below net.ipv4.ip_unprivileged_port_start asks the
	// calling task for CAP_NET_BIND_SERVICE.
	inet.SetBindServiceCheck(func() bool {
		t := callerTask()
		return t == nil || t.creds.HasCap(capNetBindService)
	})
}

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
		// The initial namespace's is the kernel's: it applies to a
		// hostNetwork pod's host sockets too.
		v, _ := sysctl.ParseNet(name, value, nil)
		k.setPingGroupRange(uint32(v[0]), uint32(v[1]))
	default:
		if _, ok := sysctl.LookupNet(name); ok {
			return k.setInitialNetSysctl(name, value)
		}
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
	}
	if _, ok := sysctl.LookupNet(sysctl.Canonical(name)); ok {
		v, _ := k.netSysctl(sysctl.Canonical(name))
		return v
	}
	if mq, ok := strings.CutPrefix(sysctl.Canonical(name), "fs.mqueue."); ok {
		if v, ok := ns.MQueues().Sysctl(mq); ok {
			return strconv.FormatInt(v, 10)
		}
	}
	return ""
}

// pingGroupRange returns the initial namespace's
// net.ipv4.ping_group_range: Linux's "1 0" (no group) until set.
func (k *Kernel) pingGroupRange() (low, high uint32) {
	v := k.pingGroups.Load() ^ pingGroupsDefault
	return uint32(v >> 32), uint32(v)
}

func (k *Kernel) setPingGroupRange(low, high uint32) {
	k.pingGroups.Store((uint64(low)<<32 | uint64(high)) ^ pingGroupsDefault)
}

// pingGroupsDefault is "1 0" encoded as low<<32|high: Kernel.pingGroups
// holds the range XORed with it, so that its zero value is the default.
const pingGroupsDefault = 1 << 32

// MayOpenPingSocket reports whether c may open an ICMP echo socket
// (SOCK_DGRAM, IPPROTO_ICMP or IPPROTO_ICMPV6): its effective group or a
// supplementary one is in the calling task's network namespace's
// net.ipv4.ping_group_range, as Linux's ping_init_sock requires of every
// caller, root included.
func (k *Kernel) MayOpenPingSocket(c *Credentials) bool {
	low, high := k.pingGroupRange()
	if n := k.callerNetNS(); n != nil {
		low, high = n.stack.PingGroupRange()
	}
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

// setInitialNetSysctl sets a net sysctl of the sandbox's network (the
// initial namespace's stack) for a pod. A hostNetwork pod's sockets are
// the node's, which the sandbox must not and cannot change: Kubernetes
// refuses net sysctls for such pods, and so does the sandbox.
func (k *Kernel) setInitialNetSysctl(name, value string) error {
	if k.HostNetwork {
		return fmt.Errorf("sysctl %s is not supported in a hostNetwork pod: its sockets are the node's", name)
	}
	st, err := k.NetStack()
	if err != nil {
		return fmt.Errorf("sysctl %s: %w", name, err)
	}
	if err := k.setNetSysctl(st, name, value); err != nil {
		var se *netstack.SysctlError
		if errors.As(err, &se) {
			return fmt.Errorf("sysctl %s=%q: %w", name, value, se.Err)
		}
		return fmt.Errorf("sysctl %s: %w", name, err)
	}
	return nil
}

// netSysctl returns the value of a net sysctl in the calling task's
// network namespace, and whether the namespace has it. A hostNetwork
// pod's initial namespace has ping_group_range alone: the others would
// be the node's.
func (k *Kernel) netSysctl(name string) (string, bool) {
	if n := k.callerNetNS(); n != nil {
		return n.stack.Sysctl(name)
	}
	if name == "net.ipv4.ping_group_range" {
		low, high := k.pingGroupRange()
		return sysctl.FormatNet(name, []int64{int64(low), int64(high)}), true
	}
	if k.HostNetwork {
		return "", false
	}
	st, err := k.NetStack()
	if err != nil {
		return "", false
	}
	return st.Sysctl(name)
}

// NetSysctls returns the net sysctls /proc/sys/net shows the calling
// task (its network namespace's), each with whether it is writable there.
func (k *Kernel) NetSysctls() map[string]bool {
	out := make(map[string]bool, len(sysctl.NetSysctls))
	n := k.callerNetNS()
	for name := range sysctl.NetSysctls {
		switch {
		case n != nil:
			out[name] = n.stack.SysctlWritable(name)
		case name == "net.ipv4.ping_group_range":
			out[name] = true
		case !k.HostNetwork:
			out[name] = true
		}
	}
	// Each interface's own.
	var st *netstack.Stack
	if n != nil {
		st = n.stack
	} else if !k.HostNetwork {
		st, _ = k.NetStack()
	}
	if st != nil {
		for _, name := range st.ConfNames() {
			out[name] = true
		}
	}
	return out
}

// WriteNetSysctl writes a net sysctl of the calling task's network
// namespace, as a write to its /proc/sys/net file. Linux lets root and
// holders of CAP_NET_ADMIN in the namespace write these files (EACCES
// for others); a value it would refuse is EINVAL.
func (k *Kernel) WriteNetSysctl(name, value string) error {
	t := callerTask()
	if t == nil || (t.creds.EUID != 0 && !t.creds.HasCap(capNetAdmin)) {
		return unix.EACCES
	}
	if n := t.netns.Load(); n != nil {
		return errnoOf(k.setNetSysctl(n.stack, name, value))
	}
	if name == "net.ipv4.ping_group_range" {
		low, high := k.pingGroupRange()
		v, err := sysctl.ParseNet(name, value, []int64{int64(low), int64(high)})
		if err != nil {
			return unix.EINVAL
		}
		k.setPingGroupRange(uint32(v[0]), uint32(v[1]))
		return nil
	}
	if k.HostNetwork {
		return unix.ENOENT
	}
	st, err := k.NetStack()
	if err != nil {
		return unix.ENOMEM
	}
	return errnoOf(k.setNetSysctl(st, name, value))
}

// setNetSysctl writes a net sysctl of st and logs what the stack could
// not honour exactly: reserved ports too many to skip one by one inside
// the ephemeral range, which it then picks from a shorter range.
func (k *Kernel) setNetSysctl(st *netstack.Stack, name, value string) error {
	if err := st.SetSysctl(name, value); err != nil {
		return err
	}
	if name != "net.ipv4.ip_local_port_range" && name != "net.ipv4.ip_local_reserved_ports" {
		return nil
	}
	if first, last, narrowed := st.EphemeralNarrowed(); narrowed {
		k.printkRatelimited(klogInfo, "net: ephemeral ports come from %d-%d alone: more ports of net.ipv4.ip_local_reserved_ports lie inside net.ipv4.ip_local_port_range than the sandbox skips one by one", first, last)
	}
	return nil
}

// errnoOf reduces netstack.Stack.SetSysctl's error to its errno.
func errnoOf(err error) error {
	var se *netstack.SysctlError
	if errors.As(err, &se) {
		return se.Errno()
	}
	return err
}
