package kernel

import (
	"github.com/cocoonrt/cocoon/netstack"
	unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"
)

// UnixSockets returns the sandbox's AF_UNIX socket stack (its abstract
// names and bound paths), made on first use. Every container of the pod
// shares it; abstract names are kept per network namespace within it
// (the socket's: Task.NetNamespaceOrInitial when it was made).
func (k *Kernel) UnixSockets() *unixsock.Stack {
	k.unixOnce.Do(func() {
		k.unixStack = unixsock.NewStack()
		// A socket obeys the sysctls of its own network namespace
		// (Socket.ns: a *NetNamespace).
		k.unixStack.SetSysctls(func(ns any) unixsock.Sysctls {
			var st *netstack.Stack
			if n, ok := ns.(*NetNamespace); ok && n.stack != nil {
				st = n.stack
			} else if initial, err := k.NetStack(); err == nil {
				st = initial
			}
			if st == nil {
				return unixsock.Sysctls{SomaxConn: unixsock.SoMaxConn, MaxDgramQlen: unixsock.MaxDgramQlen}
			}
			return unixsock.Sysctls{SomaxConn: st.SomaxConn(), MaxDgramQlen: st.MaxDgramQlen()}
		})
	})
	return k.unixStack
}
