package kernel

import (
	"sync/atomic"

	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// ipcLimits are an IPC namespace's kernel.msg* and kernel.sem sysctls.
// They are atomics, not under msgMu or semMu, because Linux reads them
// outside its IPC locks too (msgsnd checks msgmax before locking) and a
// pod sets them once, at boot. The kernel.shm* limits live with the
// segments, under IPCNamespace.mu.
type ipcLimits struct {
	msgMax, msgMNB, msgMNI         atomic.Int64
	semMSL, semMNS, semOPM, semMNI atomic.Int64
}

// newIPCLimits returns Linux's defaults for a new IPC namespace.
func newIPCLimits() *ipcLimits {
	l := &ipcLimits{}
	l.msgMax.Store(msgMax)
	l.msgMNB.Store(msgMNB)
	l.msgMNI.Store(msgMNI)
	l.setSem(sysctl.Sem{MSL: semMSL, MNS: semMNS, OPM: semOPM, MNI: semMNI})
	return l
}

func (l *ipcLimits) setSem(s sysctl.Sem) {
	l.semMSL.Store(int64(s.MSL))
	l.semMNS.Store(int64(s.MNS))
	l.semOPM.Store(int64(s.OPM))
	l.semMNI.Store(int64(s.MNI))
}

func (l *ipcLimits) sem() sysctl.Sem {
	return sysctl.Sem{MSL: int(l.semMSL.Load()), MNS: int(l.semMNS.Load()), OPM: int(l.semOPM.Load()), MNI: int(l.semMNI.Load())}
}
