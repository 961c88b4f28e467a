package systrap

import (
	"github.com/cocoonrt/cocoon/sentry/platform"
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

var _ platform.HostVDSOProvider = (*Platform)(nil)

// HostVDSO implements platform.HostVDSOProvider.HostVDSO.
func (p *Platform) HostVDSO() (platform.HostVDSO, bool) { return p.hostVDSO.Functions() }

// HostVDSOError says why HostVDSO offers nothing (nil when it does).
func (p *Platform) HostVDSOError() error { return p.hostVDSO.Err() }
