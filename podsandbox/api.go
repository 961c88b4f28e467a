// Package podsandbox is the daemon's side of pods: for each pod it
// spawns the gofer and the sentry (detached, so pods outlive the
// daemon), puts them in the pod's cgroup, prepares the pod's files
// (hostname, hosts, resolv.conf), keeps pod and container records in a
// bbolt database, talks to the sentry over its control socket
// (sentry/control) and to the gofer over its tree socket, and after a
// daemon restart reconnects to every pod and watches its processes
// with pidfds.
//
// The CRI server (cri/) translates CRI requests onto Manager; nothing
// here knows CRI's wire types.
package podsandbox

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/cocoonrt/cocoon/sentry/control"
)

// Errors Manager methods return (wrapped); cri/ maps them onto gRPC
// codes.
var (
	// ErrNotFound: no pod or container has the ID.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request is malformed or asks for something the
	// sandbox cannot provide; the message names it.
	ErrInvalid = errors.New("invalid argument")
	// ErrState: the pod or container is in the wrong state for the
	// request (a container in a stopped pod, removing a running pod's
	// container without stopping it is allowed and kills it first).
	ErrState = errors.New("wrong state")
	// ErrExists: the ID or the (pod, name, attempt) is already in use.
	ErrExists = errors.New("already exists")
)

// PodState is a pod's state.
type PodState string

// Pod states.
const (
	PodReady    PodState = "ready"
	PodNotReady PodState = "notready"
)

// ContainerState is a container's state.
type ContainerState string

// Container states.
const (
	ContainerCreated ContainerState = "created"
	ContainerRunning ContainerState = "running"
	ContainerExited  ContainerState = "exited"
	ContainerUnknown ContainerState = "unknown"
)

// DNS is the pod's resolver configuration (resolv.conf).
type DNS struct {
	Servers  []string `json:"servers,omitempty"`
	Searches []string `json:"searches,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// Resources are CPU and memory limits (zero means none).
type Resources struct {
	CPUPeriod        int64  `json:"cpuPeriod,omitempty"`
	CPUQuota         int64  `json:"cpuQuota,omitempty"`
	CPUShares        int64  `json:"cpuShares,omitempty"`
	MemoryLimitBytes int64  `json:"memoryLimitBytes,omitempty"`
	CpusetCpus       string `json:"cpusetCpus,omitempty"`
	CpusetMems       string `json:"cpusetMems,omitempty"`
}

// PodConfig is what RunPod needs. Metadata, labels and annotations are
// kept for listing and filtering.
type PodConfig struct {
	// ID is the pod's ID, chosen by the caller (64 hex digits).
	ID        string `json:"id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
	Attempt   uint32 `json:"attempt"`
	// Hostname is the pod's host name; empty means the pod name.
	Hostname string `json:"hostname,omitempty"`
	// LogDirectory is where kubelet wants container logs (containers'
	// LogPath is relative to it).
	LogDirectory string            `json:"logDirectory,omitempty"`
	DNS          *DNS              `json:"dns,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	// CgroupParent is the pod cgroup kubelet chose ("/kubepods/..." for
	// cgroupfs, "kubepods-besteffort-pod<uid>.slice" for systemd); empty
	// means a cgroup of the daemon's own.
	CgroupParent string `json:"cgroupParent,omitempty"`
	// Resources are the pod's overall limits (the sum kubelet passes,
	// with the RuntimeClass's overhead); MemoryLimitBytes less
	// MemoryOverheadBytes also sizes the sentry's memory.
	Resources Resources `json:"resources"`
	// MemoryOverheadBytes is the part of Resources.MemoryLimitBytes that
	// is the RuntimeClass's pod overhead: memory for the sandbox itself
	// (the sentry, its platform's stubs, the gofer), which share the
	// pod's cgroup with the application's memory.
	MemoryOverheadBytes int64 `json:"memoryOverheadBytes,omitempty"`
	// Sysctls are applied inside the sandbox where it supports them;
	// others are refused with ErrInvalid.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// RuntimeHandler is the handler the pod was created with.
	RuntimeHandler string `json:"runtimeHandler,omitempty"`
	// Platform is the sentry platform the pod runs on ("kvm",
	// "systrap", "ptrace"), which the caller resolved from the handler;
	// empty (or "auto") lets the runtime's Options.Platform decide.
	// Kept with the pod, so a restarted daemon reports what its sentry
	// was started with.
	Platform string `json:"platform,omitempty"`
	// SharePIDNamespace says the pod shares one PID namespace among its
	// containers (CRI's pid POD mode, kubelet's shareProcessNamespace):
	// the mode of a container that does not name its own
	// (ContainerConfig.PIDNamespace is chosen by the caller from it).
	SharePIDNamespace bool `json:"sharePidNamespace,omitempty"`
	// HostNetwork says the pod uses the node's network (CRI's network
	// NODE mode): no network namespace of its own and no CNI; the
	// sentry runs in the daemon's network namespace.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// PortMappings are the pod's host ports, handed to CNI (the
	// portmap plugin).
	PortMappings []PortMapping `json:"portMappings,omitempty"`
}

// PortMapping is a host port that forwards to the pod.
type PortMapping struct {
	// Protocol is "tcp" (the default), "udp" or "sctp".
	Protocol      string `json:"protocol,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	// HostIP is the host address to listen on; empty means all.
	HostIP string `json:"hostIp,omitempty"`
}

// Pod is a pod's record and state.
type Pod struct {
	Config    PodConfig `json:"config"`
	State     PodState  `json:"state"`
	CreatedAt time.Time `json:"createdAt"`
	// SentryPID and GoferPID are the host PIDs (0 once stopped).
	SentryPID int `json:"sentryPid,omitempty"`
	GoferPID  int `json:"goferPid,omitempty"`
	// Reason says why a pod is NotReady when it did not stop on request
	// ("SentryExited: ...").
	Reason string `json:"reason,omitempty"`
	// NetNS is the pod's network namespace (a bind-mounted nsfs file
	// the sentry runs in) until the pod's network is torn down; empty
	// for a host-network pod.
	NetNS string `json:"netns,omitempty"`
	// IPs are the pod's addresses from CNI, the primary first; empty
	// for a host-network pod, a pod with no pod network configured, and
	// once the pod is stopped.
	IPs []string `json:"ips,omitempty"`
}

// Rootfs is a container's root file system as the image store prepared
// it: an overlayfs of LowerDirs (topmost first) under Upper/Work.
type Rootfs struct {
	LowerDirs []string `json:"lowerDirs"`
	Upper     string   `json:"upper"`
	Work      string   `json:"work"`
}

// Mount is a host path (file or directory) mounted into a container, or
// a tmpfs when Type is "tmpfs".
type Mount struct {
	// Type is "bind" (the default) or "tmpfs".
	Type          string   `json:"type,omitempty"`
	HostPath      string   `json:"hostPath,omitempty"`
	ContainerPath string   `json:"containerPath"`
	ReadOnly      bool     `json:"readOnly,omitempty"`
	Options       []string `json:"options,omitempty"`
}

// ContainerConfig is what CreateContainer needs; cri/ has already merged
// the image config (entrypoint, env, user, workdir) into Process.
type ContainerConfig struct {
	ID      string `json:"id"`
	PodID   string `json:"podId"`
	Name    string `json:"name"`
	Attempt uint32 `json:"attempt"`
	// Image is the image as the request named it; ImageRef is its ID
	// (config digest).
	Image       string            `json:"image"`
	ImageRef    string            `json:"imageRef"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// LogPath is the absolute path of the CRI log file ("" means no
	// log).
	LogPath string `json:"logPath,omitempty"`
	// Rootfs is the prepared root file system.
	Rootfs         Rootfs          `json:"rootfs"`
	ReadOnlyRootfs bool            `json:"readOnlyRootfs,omitempty"`
	Mounts         []Mount         `json:"mounts,omitempty"`
	Process        control.Process `json:"process"`
	// ReadonlyPaths are made read-only and MaskedPaths hidden in the
	// container's tree, as runc does (control.ContainerSpec).
	ReadonlyPaths []string `json:"readonlyPaths,omitempty"`
	MaskedPaths   []string `json:"maskedPaths,omitempty"`
	// PIDNamespace is the PID namespace the container's processes live
	// in: PIDNamespaceContainer (its own), PIDNamespacePod (the pod's
	// shared one) or PIDNamespaceOf(id) (container id's, which must be a
	// running container of the same pod: an ephemeral container's
	// target).
	PIDNamespace string `json:"pidNamespace,omitempty"`
	// StopSignal is the image's stop signal (default SIGTERM).
	StopSignal int       `json:"stopSignal,omitempty"`
	Resources  Resources `json:"resources"`
}

// Values of ContainerConfig.PIDNamespace; they are the sentry's
// (control.ContainerSpec.PIDNamespace).
const (
	PIDNamespaceContainer = control.PIDNamespaceContainer
	PIDNamespacePod       = control.PIDNamespacePod
	// pidNamespaceOfPrefix is what PIDNamespaceOf puts before an ID.
	pidNamespaceOfPrefix = control.PIDNamespaceOfPrefix
)

// PIDNamespaceOf is the ContainerConfig.PIDNamespace that joins container
// id's namespace.
func PIDNamespaceOf(id string) string { return control.PIDNamespaceOf(id) }

// Container is a container's record and state.
type Container struct {
	Config     ContainerConfig `json:"config"`
	State      ContainerState  `json:"state"`
	CreatedAt  time.Time       `json:"createdAt"`
	StartedAt  time.Time       `json:"startedAt,omitzero"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"`
	ExitCode   int32           `json:"exitCode"`
	// Reason is "Completed", "Error", "OOMKilled" or another word for
	// an exited container; Message adds detail.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// PID is the init's PID inside the sandbox.
	PID int32 `json:"pid,omitempty"`
}

// ExecConfig is one Exec or ExecSync call.
type ExecConfig struct {
	ContainerID string
	Process     control.Process
	// Stdin, when Process.Stdin, feeds the process; Stdout and Stderr
	// receive its output (Stderr is unused with a TTY). Any may be nil.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Resize delivers terminal size changes for a TTY process.
	Resize <-chan TerminalSize
}

// AttachConfig is one Attach call.
type AttachConfig struct {
	ContainerID    string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Resize         <-chan TerminalSize
}

// TerminalSize is a terminal's size.
type TerminalSize struct {
	Rows, Cols uint16
}

// ContainerStats is one container's resource use.
type ContainerStats struct {
	Timestamp             time.Time
	CPUNanos              uint64
	MemoryWorkingSetBytes uint64
	// WritableLayerBytes and WritableLayerInodes measure the upper dir.
	WritableLayerBytes  uint64
	WritableLayerInodes uint64
	Processes           uint64
}

// PodStats is a pod's resource use: the sentry and gofer processes as
// the host sees them (cgroup), and each container.
type PodStats struct {
	Timestamp   time.Time
	CPUNanos    uint64
	MemoryBytes uint64
	Processes   uint64
	Containers  map[string]ContainerStats
}

// EventType is the kind of a container event.
type EventType string

// Event types (CRI's ContainerEventType).
const (
	EventCreated EventType = "created"
	EventStarted EventType = "started"
	EventStopped EventType = "stopped"
	EventDeleted EventType = "deleted"
)

// Event is a container (or pod, when ContainerID is the pod's ID)
// lifecycle event.
type Event struct {
	Type        EventType
	ContainerID string
	PodID       string
	Time        time.Time
}

// PodNetwork is implemented by a Manager that attaches pods to a pod
// network (Runtime does); cri/ asks for it by type assertion.
type PodNetwork interface {
	// NetworkStatus is nil when new pods get a pod network; otherwise
	// it says why they do not (CRI's NetworkReady condition).
	NetworkStatus() error
	// UpdatePodCIDRs sets the node's pod CIDRs (kubelet's
	// UpdateRuntimeConfig), handed to CNI as the ranges to allocate
	// pod IPs from. A CIDR that does not parse is ErrInvalid.
	UpdatePodCIDRs(cidrs []string) error
}

// PortForwarder is implemented by a Manager that forwards TCP
// connections into pods (Runtime does); cri/ asks for it by type
// assertion.
type PortForwarder interface {
	// PortForward connects to port on the pod's loopback inside the
	// pod's network and copies bytes both ways between that connection
	// and stream until both directions are done (an end of file on one
	// side half-closes the other) or ctx ends. Nothing listening there
	// is ErrNotFound; a pod that is not ready ErrState.
	PortForward(ctx context.Context, podID string, port int32, stream io.ReadWriteCloser) error
}

// Manager is the daemon's pod and container runtime.
type Manager interface {
	// RunPod starts a pod. Calling it again with an ID that exists
	// returns the existing pod (a kubelet retry); a half-built pod is
	// torn down before RunPod returns an error.
	RunPod(ctx context.Context, cfg PodConfig) (*Pod, error)
	// StopPod stops every container (SIGKILL after the grace of their
	// stop), ends the sentry and gofer, and marks the pod NotReady. It
	// is idempotent; a missing pod is not an error.
	StopPod(ctx context.Context, id string) error
	// RemovePod stops the pod if needed and removes it and its
	// containers, leaving no process, mount, cgroup or file. A missing
	// pod is not an error.
	RemovePod(ctx context.Context, id string) error
	// Pod returns a pod (ErrNotFound).
	Pod(ctx context.Context, id string) (*Pod, error)
	// Pods returns every pod.
	Pods(ctx context.Context) ([]*Pod, error)

	// CreateContainer creates a container in a ready pod.
	CreateContainer(ctx context.Context, cfg ContainerConfig) (*Container, error)
	// StartContainer starts a created container.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the stop signal, waits up to timeout, then
	// kills. Stopping an exited container is not an error.
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	// RemoveContainer kills the container if it runs and removes it.
	// A missing container is not an error.
	RemoveContainer(ctx context.Context, id string) error
	// Container returns a container (ErrNotFound).
	Container(ctx context.Context, id string) (*Container, error)
	// Containers returns every container.
	Containers(ctx context.Context) ([]*Container, error)
	// UpdatePodResources changes a running pod's overall limits (its
	// cgroup), as an in-place pod resize does.
	UpdatePodResources(ctx context.Context, id string, r Resources) error
	// UpdateContainerResources changes a container's limits.
	UpdateContainerResources(ctx context.Context, id string, r Resources) error
	// ReopenContainerLog reopens the container's log file.
	ReopenContainerLog(ctx context.Context, id string) error

	// Exec runs a process in a running container and returns its exit
	// code; cancelling ctx kills it.
	Exec(ctx context.Context, cfg ExecConfig) (int32, error)
	// Attach connects to a running container's streams until it exits
	// or ctx ends.
	Attach(ctx context.Context, cfg AttachConfig) error

	// ContainerStats and PodStats report resource use.
	ContainerStats(ctx context.Context, id string) (*ContainerStats, error)
	PodStats(ctx context.Context, id string) (*PodStats, error)

	// Subscribe returns a channel of container events until ctx ends.
	Subscribe(ctx context.Context) <-chan Event

	// Close lets go of the pods without stopping them (daemon shutdown).
	Close() error
}
