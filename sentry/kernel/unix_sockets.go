package kernel

import unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"

// UnixSockets returns the sandbox's AF_UNIX socket stack (its abstract
// names and bound paths), made on first use. Every container of the pod
// shares it; abstract names are kept per network namespace within it
// (the socket's: Task.NetNamespaceOrInitial when it was made).
func (k *Kernel) UnixSockets() *unixsock.Stack {
	k.unixOnce.Do(func() {
		k.unixStack = unixsock.NewStack()
		// listen caps the backlog with the somaxconn of the socket's
		// own network namespace (Socket.ns: a *NetNamespace).
		k.unixStack.SetSomaxConn(func(ns any) int {
			if n, ok := ns.(*NetNamespace); ok && n.stack != nil {
				return n.stack.SomaxConn()
			}
			if st, err := k.NetStack(); err == nil && st != nil {
				return st.SomaxConn()
			}
			return unixsock.SoMaxConn
		})
	})
	return k.unixStack
}
