package kernel

import (
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/vdso"
)

// VDSO returns the vDSO every exec maps, made on first use: its clock
// functions forward to the host kernel's vDSO where the platform keeps one
// in its address spaces (ptrace, systrap), and make system calls otherwise
// (sentry/vdso). It returns nil when the vDSO cannot be made (the memory
// file is full at the first exec); programs then run without one, making
// system calls, as on Linux booted with vdso=0.
func (k *Kernel) VDSO() *vdso.VDSO {
	k.vdsoOnce.Do(func() {
		var host platform.HostVDSO
		if p, ok := k.Platform.(platform.HostVDSOProvider); ok {
			host, _ = p.HostVDSO()
		}
		v, err := vdso.New(k.MemFile, host)
		if err != nil {
			k.Log.Warn("no vDSO: programs make a system call for every clock read", "err", err)
			return
		}
		if !v.Forwarding() {
			why := "the platform runs application code in a guest"
			if e, ok := k.Platform.(interface{ HostVDSOError() error }); ok && e.HostVDSOError() != nil {
				why = e.HostVDSOError().Error()
			}
			k.Log.Debug("vDSO clock reads make system calls", "platform", k.Platform.Name(), "reason", why)
		}
		k.vdso = v
	})
	return k.vdso
}
