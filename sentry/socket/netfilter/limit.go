package netfilter

// The limit match and the LOG target, which firewall rule sets pair to
// log some of what they drop.

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// limitScale is XT_LIMIT_SCALE: xt_rateinfo's avg is the seconds between
// packets in these units.
const limitScale = 10000

// limitMatcher is the limit match: a token bucket that holds burst
// packets and gains one every avg/limitScale seconds (limit_mt).
type limitMatcher struct {
	cost, capacity uint64 // in limitScale units

	// mu protects credit and last.
	mu     sync.Mutex
	credit uint64
	last   time.Time
}

// newLimitMatcher reads struct xt_rateinfo: avg, burst, then what the
// kernel keeps there for itself.
func newLimitMatcher(data []byte) (stack.Matcher, *Error) {
	avg, burst := uint64(le.Uint32(data)), uint64(le.Uint32(data[4:]))
	if burst == 0 || avg*burst >= 1<<32 {
		return nil, fail(unix.ERANGE, "limit: Overflow, try lower: %d/%d", avg, burst)
	}
	return &limitMatcher{cost: avg, capacity: avg * burst, credit: avg * burst, last: time.Now()}, nil
}

// Match implements stack.Matcher.
func (m *limitMatcher) Match(stack.Hook, *stack.PacketBuffer, string, string) (bool, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.credit = min(m.capacity, m.credit+uint64(now.Sub(m.last)/(time.Second/limitScale)))
	m.last = now
	if m.credit < m.cost {
		return false, false
	}
	m.credit -= m.cost
	return true, false
}

// logTarget is LOG. Linux logs packets only in the initial network
// namespace (net.netfilter.nf_log_all_netns is 0), and a pod's is never
// that: the rule counts the packet and goes on with the next one, as it
// does in a pod on Linux.
type logTarget struct{ next int }

// newLogTarget checks struct ipt_log_info (ip6t_log_info): level,
// logflags, prefix[30] (xt_LOG's checkentry).
func newLogTarget(c *compiler, data []byte, _ entryProtocol) (stack.Target, *Error) {
	const logFlagsMask = 0x2f // XT_LOG_MASK
	if data[0] >= 8 {
		return nil, fail(unix.EINVAL, "LOG: level %d >= 8", data[0])
	}
	if data[1]&^logFlagsMask != 0 {
		return nil, fail(unix.EINVAL, "LOG: unknown flags %#x", data[1])
	}
	if data[2+29] != 0 {
		return nil, fail(unix.EINVAL, "LOG: prefix is not null-terminated")
	}
	return logTarget{next: c.current + 1}, nil
}

// Action implements stack.Target.
func (t logTarget) Action(*stack.PacketBuffer, stack.Hook, *stack.Route, stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	return stack.RuleJump, t.next
}
