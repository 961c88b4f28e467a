package synth_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

func TestSetAttr(t *testing.T) {
	attr := synth.Attr(synth.NewIno(), unix.S_IFIFO|0o600, 0)
	before := attr.Ctim
	at := unix.Timespec{Sec: 1000, Nsec: 5}
	err := synth.SetAttr(&attr, vfs.SetStatOpts{
		Mask: vfs.SetMode | vfs.SetUID | vfs.SetGID | vfs.SetAtime | vfs.SetMtime,
		Mode: unix.S_IFREG | 0o4751, UID: 7, GID: 8, Atime: at, Mtime: unix.Timespec{Nsec: unix.UTIME_NOW},
	})
	if err != nil {
		t.Fatal(err)
	}
	if attr.Mode != unix.S_IFIFO|0o4751 || attr.Uid != 7 || attr.Gid != 8 || attr.Atim != at {
		t.Errorf("after SetAttr: mode %#o owner %d:%d atime %v, want %#o 7:8 %v", attr.Mode, attr.Uid, attr.Gid, attr.Atim, unix.S_IFIFO|0o4751, at)
	}
	if attr.Mtim != attr.Ctim || attr.Ctim == before {
		t.Errorf("mtime %v ctime %v (before %v): want both now", attr.Mtim, attr.Ctim, before)
	}
	if err := synth.SetAttr(&attr, vfs.SetStatOpts{Mask: vfs.SetSize}); err != unix.EINVAL {
		t.Errorf("size change: %v, want EINVAL", err)
	}
}
