// Package boot starts a sentry: it reads the sandbox spec its parent sent,
// builds the kernel (memory file, platform, file tree over the gofer) and
// runs the first program. It is the body of `cocoon sentry`.
package boot

import "github.com/cocoonrt/cocoon/netstack"

// Spec is what the parent process tells a new sentry, as JSON on a pipe.
type Spec struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH
	// from Env when it has no slash.
	Argv []string `json:"argv"`
	// Env is the program's environment.
	Env []string `json:"env"`
	// Cwd is the working directory inside the sandbox.
	Cwd string `json:"cwd"`
	// Hostname is what uname reports.
	Hostname string `json:"hostname"`
	// Sysctls are the pod's sysctls (names as package sysctl knows
	// them), applied before anything runs.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// Strace logs every system call to stderr.
	Strace bool `json:"strace"`
	// Debug logs the sentry's diagnostics to stderr.
	Debug bool `json:"debug"`
	// MemoryBytes is the size of the memory file, the most memory the
	// sandbox's programs can use.
	MemoryBytes uint64 `json:"memoryBytes"`
	// SandboxMemoryBytes is the part of the pod's memory limit kept for
	// the sandbox itself (the RuntimeClass's pod overhead): the sentry,
	// its platform's stubs and the gofer; 0 when the pod has none. With
	// MemoryBytes it makes the pod cgroup's limit, which the sentry keeps
	// its Go heap under (limitHeap).
	SandboxMemoryBytes uint64 `json:"sandboxMemoryBytes,omitempty"`
	// Platform is "kvm", "systrap", "ptrace", or "auto" (empty): the
	// fastest of them that works here, measured when the sentry starts
	// (package probe). The daemon always names one: it measured at its
	// own start-up and chose per pod from the pod's runtime handler.
	Platform string `json:"platform"`
	// RootOverlay says how the root is writable: "" leaves the gofer's
	// tree as it is served (read-only unless the gofer serves it
	// read-write, as it does for a host overlay the daemon prepared);
	// "memory" overlays the read-only tree with a writable layer in
	// sentry memory; "store" with one whose files' data lives in the
	// store file at StoreFD (memfile.AttachStore), on the node's disk.
	RootOverlay string `json:"rootOverlay,omitempty"`
	// RootReadOnly mounts the root read-only.
	RootReadOnly bool `json:"rootReadOnly,omitempty"`
	// Mounts are mounted in order over the root.
	Mounts []Mount `json:"mounts,omitempty"`
	// Pod runs the sentry in pod mode: no program and no root of its
	// own; it serves the control socket at ControlFD, through which the
	// daemon creates and runs containers, until told to shut down. Argv,
	// Cwd, Env, RootReadOnly and Mounts are unused then, and RootOverlay
	// "store" gives every writable container root a layer in the store.
	Pod bool `json:"pod,omitempty"`
	// Network is the pod's network: NetworkPod when the sentry runs in
	// a network namespace of the pod's own (CNI's interfaces are in it
	// or it holds only lo), which boot hands to the sandbox's TCP/IP
	// stack; NetworkHost for a hostNetwork pod, whose sentry runs in the
	// node's namespace and must leave its interfaces alone; NetworkNone
	// or empty: nothing is attached (the stack has its loopback only).
	Network string `json:"network,omitempty"`
	// Links are the pod's links the daemon took over for the sandbox's
	// stack (netstack.PrepareHostLinks), each FD the number of its
	// packet socket in the sentry. With NetworkPod and no Links, the
	// sentry takes the links of its namespace over itself, which only
	// an unconfined sentry may.
	Links []netstack.HostLink `json:"links,omitempty"`
	// Confine, when set, makes the sentry confine itself once set up
	// (confine.go); the parent started it in namespaces of its own.
	Confine *Confinement `json:"confine,omitempty"`
	// DebugSeccompProbe makes a confined sentry, once confined, make a
	// host system call its filter refuses, which must end it by SIGSYS
	// with a line naming the call: a test hook.
	DebugSeccompProbe bool `json:"debugSeccompProbe,omitempty"`
}

// idsFromGofer says the sentry's user namespace hides the owners of host
// files (goferfs.Options.IDsFromGofer).
func (s *Spec) idsFromGofer() bool { return s.Confine != nil && s.Confine.UserNS }

// Confinement is what the parent of a confined sentry arranged.
type Confinement struct {
	// UserNS says the sentry runs as root of a user namespace of its
	// own, mapped to an unprivileged host user; otherwise it runs in
	// the parent's (a hostNetwork pod's sentry, whose sockets are the
	// node's and may need to bind privileged ports).
	UserNS bool `json:"userNS,omitempty"`
	// HostUID and HostGID are the host IDs the sentry runs as, for its
	// report.
	HostUID int `json:"hostUID"`
	HostGID int `json:"hostGID"`
	// FDs are the descriptors the parent handed to the sentry beyond
	// the standard streams, GoferFD, SpecFD and ControlFD; every other
	// inherited one is closed.
	FDs []int `json:"fds,omitempty"`
	// KVMFD, when not 0, is an open /dev/kvm (one of FDs).
	KVMFD int `json:"kvmFD,omitempty"`
}

// The values of Spec.Network.
const (
	NetworkNone = "none"
	NetworkPod  = "pod"
	NetworkHost = "host"
)

// shmDev is the device number /dev/shm's tmpfs reports (an anonymous
// device, as Linux gives every tmpfs).
const shmDev = 0x2a

// rootUpperDev is the device number of a memory or store overlay's upper
// layer.
const rootUpperDev = 0x2c

// File descriptors a sentry starts with, besides the standard streams.
const (
	// GoferFD is the sentry's end of the gofer connection.
	GoferFD = 3
	// SpecFD is a pipe carrying the JSON Spec.
	SpecFD = 4
	// ControlFD is, in pod mode, the listening control socket
	// (SOCK_SEQPACKET) the daemon made with control.Listen.
	ControlFD = 5
	// StoreFD is, with a "store" root overlay, the regular file that
	// holds the writable layer's data; the sentry owns what it held.
	StoreFD = 6
)
