package kernel

import (
	"testing"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// A network namespace's stack stops with its last reference, a task's or
// an open namespace file's, whichever goes last.
func TestNetNamespaceHeldByFile(t *testing.T) {
	n, err := newNetNamespace(&Kernel{}) // one user: the unsharing task
	if err != nil {
		t.Skipf("no netstack here: %v", err)
	}
	var h vfs.NamespaceHolder = n
	if !h.HoldNamespace() {
		t.Fatal("HoldNamespace on a live namespace failed")
	}
	n.decUsers() // the task exits
	if n.closed {
		t.Fatal("stack stopped while a namespace file is open")
	}
	if !n.incUsers() { // a task joins through the file
		t.Fatal("setns through the kept file failed")
	}
	n.decUsers()
	h.ReleaseNamespace()
	if !n.closed {
		t.Fatal("stack still running after the last reference went")
	}
	if h.HoldNamespace() {
		t.Fatal("HoldNamespace revived a stopped namespace")
	}
	if InitialNetNamespace().HoldNamespace() {
		t.Fatal("the initial namespace took a reference")
	}
}

// An IPC namespace kept by a file keeps its segments; the initial one
// takes no references.
func TestIPCNamespaceHeldByFile(t *testing.T) {
	k := &Kernel{}
	if k.IPC().HoldNamespace() {
		t.Fatal("the initial IPC namespace took a reference")
	}
	n := newIPCNamespace(k, newNSID())
	if n.HoldNamespace() {
		t.Fatal("held a namespace nothing is in")
	}
	n.incUsers()
	if !n.HoldNamespace() {
		t.Fatal("HoldNamespace on a live namespace failed")
	}
	n.decUsers()
	if got := n.users.Load(); got != 1 {
		t.Fatalf("users = %d after the task left, want 1 (the file)", got)
	}
	n.ReleaseNamespace()
	if n.HoldNamespace() {
		t.Fatal("HoldNamespace revived an emptied namespace")
	}
}
