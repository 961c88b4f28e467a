package inet

import (
	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/cocoonrt/cocoon/netstack"
)

// Endpoint returns the socket's netstack endpoint, which /proc/net/tcp
// and udp find among the stack's to name its owner and inode.
func (s *Socket) Endpoint() tcpip.Endpoint { return s.ep }

// NetStack returns the stack the socket was made on, which tells the
// network namespace it belongs to.
func (s *Socket) NetStack() *netstack.Stack { return s.stack }
