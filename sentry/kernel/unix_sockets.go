package kernel

import unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"

// UnixSockets returns the sandbox's AF_UNIX socket stack (its abstract
// names and bound paths), made on first use. Every container of the pod
// shares it; abstract names are kept per network namespace within it
// (the socket's: Task.NetNamespaceOrInitial when it was made).
func (k *Kernel) UnixSockets() *unixsock.Stack {
	k.unixOnce.Do(func() { k.unixStack = unixsock.NewStack() })
	return k.unixStack
}
