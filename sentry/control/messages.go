package control

import "github.com/cocoonrt/cocoon/sentry/boot"

// Operations a Request names.
const (
	// OpInfo answers Info: the sentry is up and serving.
	OpInfo = "info"
	// OpCreateContainer builds a container's file tree (CreateContainer;
	// descriptors: the CRI log file, when HasLog).
	OpCreateContainer = "createContainer"
	// OpStartContainer starts a created container's init process.
	OpStartContainer = "startContainer"
	// OpExec starts another process in a running container (Exec;
	// descriptors: the process's stdio, see Exec).
	OpExec = "exec"
	// OpSignal sends a signal (Signal).
	OpSignal = "signal"
	// OpWait blocks until a container's init or an exec process exits
	// (Target) and answers with its State.
	OpWait = "wait"
	// OpState reports every container (State in Response.Containers).
	OpState = "state"
	// OpStats reports resource use (Response.Stats).
	OpStats = "stats"
	// OpTraps reports how many times the sandbox's tasks came back from
	// application code to the sentry (Response.Traps): cheap enough for
	// the daemon's CPU placement to ask every second.
	OpTraps = "traps"
	// OpReopenLog replaces a container's log descriptor (Target;
	// descriptor: the new log file).
	OpReopenLog = "reopenLog"
	// OpResize sets the size of a container's or exec's terminal
	// (Resize).
	OpResize = "resize"
	// OpAttach connects descriptors to a running container's standard
	// streams (Attach) until the container exits or the client hangs up.
	OpAttach = "attach"
	// OpRemoveContainer forgets an exited (or never started) container
	// and releases its file tree (Target).
	OpRemoveContainer = "removeContainer"
	// OpShutdown kills every process and ends the sentry.
	OpShutdown = "shutdown"
	// OpUpdateContainer changes a container's resource limits (Target,
	// Update).
	OpUpdateContainer = "updateContainer"
	// OpPortForward connects to a TCP port on the pod's loopback
	// (PortForward; descriptor: the daemon's end of a stream socket)
	// and forwards bytes between the two until both sides are done.
	OpPortForward = "portForward"
)

// Request is one control request. Op says which of the other fields
// matters.
type Request struct {
	Op              string           `json:"op"`
	Target          *Target          `json:"target,omitempty"`
	CreateContainer *ContainerSpec   `json:"createContainer,omitempty"`
	Exec            *ExecSpec        `json:"exec,omitempty"`
	Signal          *SignalSpec      `json:"signal,omitempty"`
	Resize          *ResizeSpec      `json:"resize,omitempty"`
	Attach          *AttachSpec      `json:"attach,omitempty"`
	Update          *UpdateSpec      `json:"update,omitempty"`
	PortForward     *PortForwardSpec `json:"portForward,omitempty"`
}

// PortForwardSpec is what OpPortForward needs. The request's one
// descriptor is a connected SOCK_STREAM unix socket, the daemon's
// client stream: the sentry connects to 127.0.0.1:Port (then [::1]:Port
// when that is refused) in the pod's network and answers once
// connected, then copies both ways in the background. An end of file
// on one side shuts down writing on the other (half-close); the
// forward ends when both directions have, when either fails, or when
// the daemon closes its end of the descriptor.
type PortForwardSpec struct {
	Port int32 `json:"port"`
}

// UpdateSpec holds a container's new resource limits.
type UpdateSpec struct {
	// MemoryLimitBytes is the container's memory limit (0: none).
	MemoryLimitBytes uint64 `json:"memoryLimitBytes,omitempty"`
}

// Response is the answer to a Request. Error, when set, says why the
// request failed; Code classifies it.
type Response struct {
	Error string    `json:"error,omitempty"`
	Code  ErrorCode `json:"code,omitempty"`

	Info       *Info            `json:"info,omitempty"`
	PID        int32            `json:"pid,omitempty"`
	State      *ContainerState  `json:"state,omitempty"`
	Containers []ContainerState `json:"containers,omitempty"`
	Stats      *Stats           `json:"stats,omitempty"`
	Traps      uint64           `json:"traps,omitempty"`
}

// ErrorCode classifies a failed request so the daemon can map it onto a
// gRPC code.
type ErrorCode string

// Error codes.
const (
	// CodeInvalid: the request is malformed or names an impossible
	// setting.
	CodeInvalid ErrorCode = "invalid"
	// CodeNotFound: the container or exec named does not exist.
	CodeNotFound ErrorCode = "notFound"
	// CodeExists: the container or exec ID is already in use.
	CodeExists ErrorCode = "exists"
	// CodeState: the target is in the wrong state (starting a running
	// container, exec in an exited one).
	CodeState ErrorCode = "state"
	// CodeInternal: anything else.
	CodeInternal ErrorCode = "internal"
)

// Target names a container and, optionally, one exec process in it.
type Target struct {
	Container string `json:"container"`
	// Exec is an exec ID; empty means the container's init.
	Exec string `json:"exec,omitempty"`
}

// Info describes the sentry.
type Info struct {
	// PID is the sentry's host PID.
	PID int `json:"pid"`
	// Platform is the platform the sentry runs on ("kvm", "ptrace").
	Platform string `json:"platform"`
	// BootTime is when the sentry's kernel started (Unix nanoseconds).
	BootTime int64 `json:"bootTime"`
}

// User is the identity a process runs as.
type User struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGIDs []uint32 `json:"additionalGids,omitempty"`
}

// Process is a program to run in a container.
type Process struct {
	// Args is the program and its arguments; Args[0] is looked up in
	// the PATH of Env when it has no slash.
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
	// Cwd is the working directory; empty means "/".
	Cwd  string `json:"cwd,omitempty"`
	User User   `json:"user"`
	// TTY gives the process a terminal (a devpts pair in the sandbox)
	// as its standard streams.
	TTY bool `json:"tty,omitempty"`
	// Stdin says the process reads standard input from its client;
	// without it standard input is /dev/null.
	Stdin bool `json:"stdin,omitempty"`
	// StdinOnce closes a container's standard input when the first
	// attached client detaches.
	StdinOnce bool `json:"stdinOnce,omitempty"`
	// NoNewPrivileges is prctl(PR_SET_NO_NEW_PRIVS) from the start.
	NoNewPrivileges bool `json:"noNewPrivileges,omitempty"`
	// Capabilities, when not nil, are the capability names ("CAP_CHOWN",
	// ...) the process keeps in its bounding, permitted and effective
	// sets; nil means the runtime's default set.
	Capabilities []string `json:"capabilities"`
	// Umask is the initial umask; nil means 022.
	Umask *uint32 `json:"umask,omitempty"`
	// Seccomp, when not nil, is the container's seccomp profile compiled
	// by the daemon, installed before the program's first instruction;
	// nil is Unconfined.
	Seccomp *SeccompProgram `json:"seccomp,omitempty"`
	// OOMScoreAdj is the process's oom_score_adj (-1000 to 1000), set
	// as a runtime with CAP_SYS_RESOURCE sets it before the program
	// starts, so it is also the floor the process cannot go below
	// without that capability; nil is 0.
	OOMScoreAdj *int `json:"oomScoreAdj,omitempty"`
}

// SeccompProgram is a compiled seccomp filter, what the process would
// pass to seccomp(SECCOMP_SET_MODE_FILTER).
type SeccompProgram struct {
	// Filter is the classic BPF program as Linux's struct sock_filter
	// array (8 bytes an instruction, little-endian; base64 in JSON),
	// checked by the sentry as seccomp(2) checks it.
	Filter []byte `json:"filter"`
	// Log is SECCOMP_FILTER_FLAG_LOG.
	Log bool `json:"log,omitempty"`
}

// ContainerSpec is what OpCreateContainer needs.
type ContainerSpec struct {
	// ID is the container's ID, unique in the pod.
	ID string `json:"id"`
	// RootTree is the gofer tree serving the container's root file
	// system (already writable when the daemon prepared an overlay).
	RootTree string `json:"rootTree"`
	// RootReadOnly mounts the root read-only.
	RootReadOnly bool `json:"rootReadOnly,omitempty"`
	// Mounts are mounted in order over the root; bind mounts name gofer
	// trees the daemon added.
	Mounts []boot.Mount `json:"mounts,omitempty"`
	// Hostname is what uname reports in the container; empty means the
	// pod's.
	Hostname string `json:"hostname,omitempty"`
	// Process is the container's init.
	Process Process `json:"process"`
	// ReadonlyPaths are made read-only (a read-only bind of themselves)
	// and MaskedPaths hidden (a file under /dev/null, a directory under an
	// empty read-only tmpfs) once the mounts are made, as runc does; paths
	// that do not exist are skipped.
	ReadonlyPaths []string `json:"readonlyPaths,omitempty"`
	MaskedPaths   []string `json:"maskedPaths,omitempty"`
	// PIDNamespace names the PID namespace the container's processes
	// live in: "" (PIDNamespaceContainer) one of its own whose PID 1 is
	// its init; PIDNamespacePod the pod's shared one, whose PID 1 is the
	// pod's pause process; PIDNamespaceOf(id) another container's (an
	// ephemeral container's target), which must exist.
	PIDNamespace string `json:"pidNamespace,omitempty"`
	// HasLog says descriptor 0 of the request is the container's log
	// file, opened O_WRONLY|O_APPEND by the daemon: the sentry writes
	// the container's standard output and error there in the CRI log
	// format. Without it the output is discarded (attach still sees it).
	HasLog bool `json:"hasLog,omitempty"`
	// MemoryLimitBytes is the container's memory limit (0: none): past
	// it, the sandbox's OOM killer kills a process of the container.
	MemoryLimitBytes uint64 `json:"memoryLimitBytes,omitempty"`
}

// Values of ContainerSpec.PIDNamespace.
const (
	PIDNamespaceContainer = ""
	PIDNamespacePod       = "pod"
	// PIDNamespaceOfPrefix prefixes a container ID (PIDNamespaceOf).
	PIDNamespaceOfPrefix = "container:"
)

// PIDNamespaceOf is the ContainerSpec.PIDNamespace that joins container
// id's namespace.
func PIDNamespaceOf(id string) string { return PIDNamespaceOfPrefix + id }

// ExecSpec is what OpExec needs. The request's descriptors are, in
// order: standard input if Process.Stdin, standard output, and standard
// error unless Process.TTY (a terminal's output comes on standard
// output). The sentry closes them when the process exits.
type ExecSpec struct {
	Container string  `json:"container"`
	ID        string  `json:"id"`
	Process   Process `json:"process"`
}

// SignalSpec is what OpSignal needs.
type SignalSpec struct {
	Target Target `json:"target"`
	// Signal is the signal number.
	Signal int `json:"signal"`
	// All sends it to every process of the container, not just Target.
	All bool `json:"all,omitempty"`
}

// ResizeSpec is what OpResize needs.
type ResizeSpec struct {
	Target Target `json:"target"`
	Rows   uint16 `json:"rows"`
	Cols   uint16 `json:"cols"`
}

// AttachSpec is what OpAttach needs. The request's descriptors are, in
// order: one for each of Stdin, Stdout and Stderr that is set (Stderr
// must be unset for a terminal container).
type AttachSpec struct {
	Container string `json:"container"`
	Stdin     bool   `json:"stdin,omitempty"`
	Stdout    bool   `json:"stdout,omitempty"`
	Stderr    bool   `json:"stderr,omitempty"`
}

// Container states.
const (
	StateCreated = "created"
	StateRunning = "running"
	StateExited  = "exited"
)

// ContainerState is a container's (or an exec process's) state.
type ContainerState struct {
	ID string `json:"id"`
	// Exec is set for an exec process's state.
	Exec  string `json:"exec,omitempty"`
	State string `json:"state"`
	// PID is the init's (or exec's) PID in the sandbox.
	PID int32 `json:"pid,omitempty"`
	// ExitCode is the exit status, or 128+N after signal N.
	ExitCode int32 `json:"exitCode"`
	// Signal is the signal that ended the process, if any.
	Signal int `json:"signal,omitempty"`
	// Times are Unix nanoseconds; zero when not reached.
	StartedAt  int64 `json:"startedAt,omitempty"`
	FinishedAt int64 `json:"finishedAt,omitempty"`
	// Reason says why an exited container ended when it was not its own
	// doing ("OOMKilled", "SandboxShutdown").
	Reason string `json:"reason,omitempty"`
}

// Stats is the resource use of the sandbox and of each container.
type Stats struct {
	// Timestamp is when the stats were taken (Unix nanoseconds).
	Timestamp int64 `json:"timestamp"`
	// MemoryBytes is the sandbox's memory in use (the memory file).
	MemoryBytes uint64 `json:"memoryBytes"`
	// CPUNanos is the CPU time all sandbox processes used.
	CPUNanos   uint64           `json:"cpuNanos"`
	Containers []ContainerStats `json:"containers,omitempty"`
}

// ContainerStats is one container's resource use.
type ContainerStats struct {
	ID string `json:"id"`
	// CPUNanos is the CPU time of the container's processes, live and
	// exited.
	CPUNanos uint64 `json:"cpuNanos"`
	// MemoryWorkingSetBytes is the resident memory of the container's
	// processes (shared pages counted once per address space).
	MemoryWorkingSetBytes uint64 `json:"memoryWorkingSetBytes"`
	// Processes is the number of live processes.
	Processes uint64 `json:"processes"`

	// The fields below came later (a sentry from before them leaves
	// them out, and they read as zero; HasDetail says they are there).

	// HasDetail says the sentry filled in the fields below.
	HasDetail bool `json:"hasDetail,omitempty"`
	// UserNanos and SystemNanos split CPUNanos into user mode and the
	// sandbox's kernel serving the container.
	UserNanos   uint64 `json:"userNanos,omitempty"`
	SystemNanos uint64 `json:"systemNanos,omitempty"`
	// Threads is the number of live tasks.
	Threads uint64 `json:"threads,omitempty"`
	// FileDescriptors is the number of open descriptors of the
	// container's processes; Sockets how many of them are sockets.
	FileDescriptors uint64 `json:"fileDescriptors,omitempty"`
	Sockets         uint64 `json:"sockets,omitempty"`
	// NoFileSoft is the soft RLIMIT_NOFILE of the container's init, nil
	// when it has no live init; -1 is unlimited.
	NoFileSoft *int64 `json:"noFileSoft,omitempty"`
	// MemoryUsageBytes is the memory charged to the container (the pages
	// its address spaces populated and still reference, as a memory
	// cgroup charges them); MemoryMaxUsageBytes its maximum;
	// MemoryFailcnt how many charges went past its limit.
	MemoryUsageBytes    uint64 `json:"memoryUsageBytes,omitempty"`
	MemoryMaxUsageBytes uint64 `json:"memoryMaxUsageBytes,omitempty"`
	MemoryFailcnt       uint64 `json:"memoryFailcnt,omitempty"`
	// MemoryRSSBytes is the resident anonymous private memory,
	// MemoryMappedFileBytes the resident pages of file mappings and
	// MemoryShmemBytes those of shared anonymous memory (System V shm,
	// MAP_SHARED|MAP_ANONYMOUS), each page of a private or file mapping
	// divided among the address spaces that map it (its PSS), so
	// processes sharing pages after fork are not counted twice.
	MemoryRSSBytes        uint64 `json:"memoryRssBytes,omitempty"`
	MemoryMappedFileBytes uint64 `json:"memoryMappedFileBytes,omitempty"`
	MemoryShmemBytes      uint64 `json:"memoryShmemBytes,omitempty"`
	// OOMKills counts the container's processes the sandbox's OOM
	// killer killed.
	OOMKills uint64 `json:"oomKills,omitempty"`
	// PageFaults counts the page faults the sandbox served for the
	// container's processes, live and exited; MajorFaults the major ones
	// among them (those that read file data).
	PageFaults  uint64 `json:"pageFaults,omitempty"`
	MajorFaults uint64 `json:"majorFaults,omitempty"`
	// WritableLayerBytes and WritableLayerInodes are the file data and
	// inodes of the root's writable layer when the sentry keeps it (a
	// store overlay: HasWritableLayer); the daemon adds what the host
	// side of the root holds.
	HasWritableLayer    bool   `json:"hasWritableLayer,omitempty"`
	WritableLayerBytes  uint64 `json:"writableLayerBytes,omitempty"`
	WritableLayerInodes uint64 `json:"writableLayerInodes,omitempty"`
}
