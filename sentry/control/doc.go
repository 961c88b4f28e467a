// Package control is the protocol between the daemon and a pod's sentry:
// creating and starting containers, running processes in them, signals,
// waiting, terminals, logs, stats and shutdown.
//
// Transport: the daemon creates a listening SOCK_SEQPACKET unix socket
// (the pod's control.sock) and hands the listening descriptor to the
// sentry, so the sentry never opens a host path and a restarted daemon
// reconnects by path. Every request is one connection: the client sends
// one message (a JSON Request, plus host descriptors in SCM_RIGHTS for
// requests that carry files), the server answers with one JSON Response
// and closes. Long requests (Wait, Attach) hold their connection until
// they end; a client that hangs up abandons its request.
//
// The sentry treats every request as trusted input from the daemon but
// still checks it: a malformed request gets an error response, never a
// crash.
package control
