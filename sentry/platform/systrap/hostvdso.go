package systrap

import (
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/hostvdso"
)

// The host kernel's vDSO and its data pages are kept in every stub process,
// moved to [hostVDSOAddr, hostVDSOLimit): between the stub's own pages and
// the thread regions, above MaxUserAddress, so no application mapping can
// meet them. The sentry's vDSO forwards clock reads there (sentry/vdso);
// the host vDSO's own system calls come from outside the stub's code page
// and trap like any application system call.
const (
	hostVDSOAddr  = stubStart + 0x10000
	hostVDSOLimit = regionBase
)

// hostVDSOState is what keepHostVDSO found, set before New returns.
type hostVDSOState struct {
	fns platform.HostVDSO
	ok  bool
	// err says why there is none, for the log.
	err error
}

// keepHostVDSO moves the freshly executed master's host vDSO to
// hostVDSOAddr, before prepareMaster clears everything else.
//
// Preconditions: runs on the factory's thread, which traces t.
func keepHostVDSO(t *tracee) hostVDSOState {
	fns, err := hostvdso.Relocate(t.tgid, t.syscall, hostVDSOAddr, hostVDSOLimit)
	if err != nil {
		return hostVDSOState{err: err}
	}
	return hostVDSOState{fns: fns, ok: true}
}

var _ platform.HostVDSOProvider = (*Platform)(nil)

// HostVDSO implements platform.HostVDSOProvider.HostVDSO.
func (p *Platform) HostVDSO() (platform.HostVDSO, bool) { return p.hostVDSO.fns, p.hostVDSO.ok }

// HostVDSOError says why HostVDSO offers nothing (nil when it does).
func (p *Platform) HostVDSOError() error { return p.hostVDSO.err }
