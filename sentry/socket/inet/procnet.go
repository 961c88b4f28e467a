package inet

import "gvisor.dev/gvisor/pkg/tcpip"

// Endpoint returns the socket's netstack endpoint, which /proc/net/tcp
// and udp find among the stack's to name its owner and inode.
func (s *Socket) Endpoint() tcpip.Endpoint { return s.ep }
