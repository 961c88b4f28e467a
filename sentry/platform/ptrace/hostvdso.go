package ptrace

import (
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// The host kernel's vDSO and its data pages are kept in every stub process,
// moved to [hostVDSOAddr, hostVDSOLimit), above the stub's own pages and
// MaxUserAddress, so no application mapping can meet them. The sentry's
// vDSO forwards clock reads there (sentry/vdso); the host vDSO's own system
// calls stop at PTRACE_SYSEMU like any application system call.
const (
	hostVDSOAddr  = stubStart + 0x10000
	hostVDSOLimit = stubStart + 0x100000
)

var _ platform.HostVDSOProvider = (*Platform)(nil)

// HostVDSO implements platform.HostVDSOProvider.HostVDSO.
func (p *Platform) HostVDSO() (platform.HostVDSO, bool) { return p.hostVDSO.Functions() }

// HostVDSOError says why HostVDSO offers nothing (nil when it does).
func (p *Platform) HostVDSOError() error { return p.hostVDSO.Err() }
