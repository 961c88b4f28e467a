package kernel

// IPC namespaces. The kernel's IPCNamespace (Kernel.IPC) is the initial
// one, which a task with a nil Task.ipc is in. unshare, clone and setns
// with CLONE_NEWIPC give a task another, which it shares with the
// children it forks. Each task in such a namespace holds a reference, and
// so does each open /proc/[pid]/ns/ipc file naming it
// (vfs.NamespaceHolder), so that a kept file can be joined with every
// object still there; when the last reference goes, the namespace's
// shared memory segments are removed as Linux's free_ipcs removes them
// (at once, or at their last detach), so that their memory goes back to
// the memory file. Its other objects are plain memory the garbage
// collector takes with it.

// incUsers adds a task to a namespace other than the initial one.
func (n *IPCNamespace) incUsers() { n.users.Add(1) }

// decUsers drops a task's or a file's reference, emptying the namespace
// with the last.
func (n *IPCNamespace) decUsers() {
	if n.users.Add(-1) != 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range n.byIndex {
		s.mode |= shmDest
		if n.byKey[s.key] == s {
			delete(n.byKey, s.key)
		}
		s.key = IPCPrivate
		n.mayDestroyLocked(s)
	}
}

// HoldNamespace implements vfs.NamespaceHolder. The initial namespace
// lives as long as the kernel; another that lost its last reference was
// emptied and cannot be held again (no task or file can name it then).
func (n *IPCNamespace) HoldNamespace() bool {
	if n == n.k.IPC() {
		return false
	}
	for {
		u := n.users.Load()
		if u <= 0 {
			return false
		}
		if n.users.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

// ReleaseNamespace implements vfs.NamespaceHolder.
func (n *IPCNamespace) ReleaseNamespace() { n.decUsers() }

// setIPCNS moves the task to IPC namespace ns (nil: the initial one):
// it leaves its semaphore undo list and its segments' creatorship first,
// as Linux's exit_sem and shm_init_task do.
func (t *Task) setIPCNS(ns *IPCNamespace) {
	t.exitSem()
	t.exitShm()
	if ns != nil {
		ns.incUsers()
	}
	if old := t.ipc.Swap(ns); old != nil {
		old.decUsers()
	}
}

// unshareIPC implements unshare(CLONE_NEWIPC): a namespace without
// objects.
func (t *Task) unshareIPC() {
	t.setIPCNS(newIPCNamespace(t.k, newNSID()))
}

// Ino returns the IPC namespace's inode number.
func (n *IPCNamespace) Ino() uint64 { return n.ino }

// CallerIPC returns the IPC namespace of the task whose system call runs
// on the calling thread (/proc/sysvipc, the IPC sysctls), or the
// kernel's when no task's does.
func (k *Kernel) CallerIPC() *IPCNamespace {
	k.mu.Lock()
	t := k.callerLocked()
	k.mu.Unlock()
	if t == nil {
		return k.IPC()
	}
	return t.IPCNamespace()
}
