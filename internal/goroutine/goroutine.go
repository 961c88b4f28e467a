// Package goroutine identifies the calling goroutine, for the sentry's
// code that must tell which task's system call it serves without having
// the task in hand (a /proc symlink's Readlink, a tmpfs page's memory
// account). A task's goroutine may move between host threads, so the
// host thread ID does not say.
package goroutine

// ID returns an identifier of the calling goroutine, unique among the
// goroutines alive: the address of the runtime's descriptor of it, which
// the runtime neither moves nor reuses before the goroutine exits. It is
// never 0.
func ID() uintptr { return id() }
