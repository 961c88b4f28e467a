package kernel

import unixsock "github.com/cocoonrt/cocoon/sentry/socket/unix"

// UnixSockets returns the sandbox's AF_UNIX socket stack (its abstract
// namespace and bound paths), made on first use. Every container of the
// pod shares it, as they share a network namespace.
func (k *Kernel) UnixSockets() *unixsock.Stack {
	k.unixOnce.Do(func() { k.unixStack = unixsock.NewStack() })
	return k.unixStack
}
