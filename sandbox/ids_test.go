package sandbox

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestStatusUID(t *testing.T) {
	uid, ok := statusUID([]byte("Name:\tx\nUmask:\t0022\nUid:\t1879048194\t1879048194\t1879048194\t1879048194\nGid:\t0\n"))
	if !ok || uid != 1879048194 {
		t.Errorf("statusUID = %d, %v", uid, ok)
	}
	if _, ok := statusUID([]byte("Name:\tx\n")); ok {
		t.Error("statusUID found a uid in a status without one")
	}
}

// A process running as an ID of the range makes it used.
func TestHostUIDsInRangeSeesProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	id := SentryIDBase + 2*1234
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(id), Gid: uint32(id)}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	used, err := hostUIDsInRange()
	if err != nil {
		t.Fatal(err)
	}
	if !used[id] {
		t.Errorf("uid %d of process %d not seen", id, cmd.Process.Pid)
	}
	for i := 0; i < 100; i++ {
		got, err := allocateSentryIDs()
		if err != nil {
			t.Fatal(err)
		}
		if got == id || got+1 == id || (got-SentryIDBase)%2 != 0 {
			t.Fatalf("allocated %d", got)
		}
	}
}
