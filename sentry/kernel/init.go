package kernel

import (
	"time"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// StartInit creates the sandbox's first process, PID 1, with the given
// descriptors and working directory, and executes path in it. It returns
// once the program is loaded (or failed to load); WaitInit waits for the
// sandbox to end.
func (k *Kernel) StartInit(fds *FDTable, cwd *vfs.Dentry, path string, argv, envv []string) error {
	t := &Task{
		k:         k,
		fds:       fds,
		fs:        NewFSContext(cwd, 0o022),
		interrupt: make(chan struct{}, 1),
		done:      make(chan struct{}),
		startTime: time.Now(),
		dumpable:  true,
		creds:     rootCredentials(),
		uts:       &UTSNamespace{hostname: k.Hostname, domainname: "(none)"},
	}
	k.mu.Lock()
	id := k.allocIDLocked()
	t.tid = id
	t.pidns, t.childPIDNS = k.rootPIDNS, k.rootPIDNS
	t.tg = k.newThreadGroup(id, k.rootPIDNS, nil, &SignalHandlers{}, DefaultLimits())
	k.rootPIDNS.init = t.tg
	t.tg.leader = t
	t.tg.tasks[t] = struct{}{}
	k.tasks[id] = t
	k.mu.Unlock()

	started := make(chan error, 1)
	go t.goroutine(func() error { return t.Exec(path, argv, envv) }, started)
	return <-started
}
