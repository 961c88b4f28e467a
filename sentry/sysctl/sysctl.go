// Package sysctl names the sysctls a pod may set on its sandbox's kernel
// and parses their values. The daemon refuses a pod that asks for any
// other one (RunPodSandbox), and the sentry applies them at boot
// (kernel.Kernel.SetSysctl), so a pod gets exactly the settings it asked
// for or a clear error, never a silently ignored one.
//
// The list holds the sysctls of the namespaces a pod owns that the
// sandbox's kernel implements: System V IPC limits,
// kernel.shm_rmid_forced, the POSIX message queue limits fs.mqueue.* and
// the network namespace's sysctls the sandbox's stack honours (net.go).
package sysctl

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ipcMNI is Linux's IPCMNI: the most IDs of one kind an IPC namespace
// can have, and the bound on kernel.shmmni, msgmni and semmni.
const ipcMNI = 32768

// The bounds ipc/mq_sysctl.c puts on fs.mqueue.msg_max and msg_default
// (MIN_MSGMAX, HARD_MSGMAX) and on msgsize_max and msgsize_default
// (MIN_MSGSIZEMAX, HARD_MSGSIZEMAX).
const (
	mqMinMsgMax     = 1
	mqHardMsgMax    = 65536
	mqMinMsgsizeMax = 128
	mqHardMsgsize   = 16 << 20
)

// parser checks a value and returns it formatted as /proc/sys shows it.
type parser func(value string) (string, error)

// known maps each supported name (dotted) to its parser.
var known = map[string]parser{
	"kernel.shm_rmid_forced": intIn(0, 1),
	"kernel.shmmax":          uint64Value,
	"kernel.shmall":          uint64Value,
	"kernel.shmmni":          intIn(0, ipcMNI),
	"kernel.msgmax":          intIn(0, math.MaxInt32),
	"kernel.msgmnb":          intIn(0, math.MaxInt32),
	"kernel.msgmni":          intIn(0, ipcMNI),
	"kernel.sem":             semValue,
	// POSIX message queues: queues_max is a plain int (proc_dointvec),
	// the others are bounded (proc_dointvec_minmax).
	"fs.mqueue.queues_max":      intIn(math.MinInt32, math.MaxInt32),
	"fs.mqueue.msg_max":         intIn(mqMinMsgMax, mqHardMsgMax),
	"fs.mqueue.msg_default":     intIn(mqMinMsgMax, mqHardMsgMax),
	"fs.mqueue.msgsize_max":     intIn(mqMinMsgsizeMax, mqHardMsgsize),
	"fs.mqueue.msgsize_default": intIn(mqMinMsgsizeMax, mqHardMsgsize),
	// The net.* sysctls join in net.go's init.
}

// Canonical returns name in dotted form: kubelet and sysctl(8) accept
// "kernel/shm_rmid_forced" for "kernel.shm_rmid_forced".
func Canonical(name string) string {
	if strings.Contains(name, "/") {
		return strings.ReplaceAll(name, "/", ".")
	}
	return name
}

// Supported lists the names a pod may set, sorted.
func Supported() []string {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	for family, keys := range ConfSysctls {
		for key := range keys {
			names = append(names, ConfName(family, "IFACE", key))
		}
	}
	sort.Strings(names)
	return names
}

// ErrUnsupported is Parse's error for a sysctl the sandbox does not
// implement.
type ErrUnsupported struct{ Name string }

func (e *ErrUnsupported) Error() string {
	return fmt.Sprintf("sysctl %s is not supported by the sandbox's kernel (supported: %s)", e.Name, strings.Join(Supported(), ", "))
}

// Parse checks that name is supported and value valid for it, and returns
// the canonical name and the value as /proc/sys shows it.
func Parse(name, value string) (string, string, error) {
	name = Canonical(name)
	p, ok := known[name]
	if _, _, _, conf := SplitConf(name); conf {
		// Per interface: whether the interface exists is the
		// kernel's to say.
		p, ok = netParser(name), true
	}
	if !ok {
		return "", "", &ErrUnsupported{Name: name}
	}
	v, err := p(strings.TrimSpace(value))
	if err != nil {
		return "", "", fmt.Errorf("sysctl %s=%q: %w", name, value, err)
	}
	return name, v, nil
}

func intIn(lo, hi int64) parser {
	return func(s string) (string, error) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", fmt.Errorf("not an integer")
		}
		if n < lo || n > hi {
			return "", fmt.Errorf("out of range [%d, %d]", lo, hi)
		}
		return strconv.FormatInt(n, 10), nil
	}
}

func uint64Value(s string) (string, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return "", fmt.Errorf("not an unsigned integer")
	}
	return strconv.FormatUint(n, 10), nil
}

// Sem holds kernel.sem's four fields, in its order.
type Sem struct{ MSL, MNS, OPM, MNI int }

// ParseSem parses kernel.sem ("SEMMSL SEMMNS SEMOPM SEMMNI", any blanks).
func ParseSem(s string) (Sem, error) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return Sem{}, fmt.Errorf("want four numbers: SEMMSL SEMMNS SEMOPM SEMMNI")
	}
	var v [4]int
	for i, x := range f {
		n, err := strconv.ParseInt(x, 10, 32)
		if err != nil || n < 0 {
			return Sem{}, fmt.Errorf("%q is not a non-negative integer", x)
		}
		v[i] = int(n)
	}
	if v[3] > ipcMNI {
		return Sem{}, fmt.Errorf("SEMMNI %d is over %d", v[3], ipcMNI)
	}
	return Sem{MSL: v[0], MNS: v[1], OPM: v[2], MNI: v[3]}, nil
}

// String formats s as /proc/sys/kernel/sem shows it.
func (s Sem) String() string { return fmt.Sprintf("%d\t%d\t%d\t%d", s.MSL, s.MNS, s.OPM, s.MNI) }

func semValue(s string) (string, error) {
	v, err := ParseSem(s)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}
