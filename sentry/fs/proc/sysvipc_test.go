package proc

import "testing"

// The expected lines are Linux's own (/proc/sysvipc/sem and msg on a
// 6.x kernel), so the column widths are checked byte for byte.
func TestFormatSysvipcSemMsg(t *testing.T) {
	sem := string(formatSysvipcSem([]SemSet{{Key: 0, ID: 1, Mode: 0o600, Nsems: 3, Otime: 1795865077, Ctime: 1795865077}}))
	wantSem := "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n" +
		"         0          1   600          3     0     0     0     0 1795865077 1795865077\n"
	if sem != wantSem {
		t.Errorf("sem:\n%q\nwant\n%q", sem, wantSem)
	}
	msg := string(formatSysvipcMsg([]MsgQueue{{Key: 1234, ID: 32768, Mode: 0o644, Cbytes: 3, Qnum: 1, Lspid: 7, Lrpid: 0,
		UID: 1000, GID: 1000, CUID: 1000, CGID: 1000, Stime: 1795865077, Ctime: 1795865070}}))
	wantMsg := "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n" +
		"      1234      32768   644           3          1     7     0  1000  1000  1000  1000 1795865077          0 1795865070\n"
	if msg != wantMsg {
		t.Errorf("msg:\n%q\nwant\n%q", msg, wantMsg)
	}
}
