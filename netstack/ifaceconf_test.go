package netstack

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// stackWithEth0 returns a stack with lo and a second interface, eth0.
func stackWithEth0(t *testing.T) (*Stack, tcpip.NICID) {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	const eth0 = LoopbackNIC + 1
	ep := channel.New(4, 1500, tcpip.LinkAddress("\x02\x00\x00\x00\x00\x01"))
	if err := s.CreateNICWithOptions(eth0, ep, stack.NICOptions{Name: "eth0"}); err != nil {
		t.Fatal(err)
	}
	return s, eth0
}

// confStep writes a sysctl (value "" only reads) and checks what each
// named sysctl then reads and whether each interface forwards.
type confStep struct {
	write, value string
	want         map[string]string
	forwards     map[tcpip.NICID]bool
}

func runConfSteps(t *testing.T, s *Stack, proto tcpip.NetworkProtocolNumber, steps []confStep) {
	t.Helper()
	for i, st := range steps {
		if st.value != "" {
			if err := s.SetSysctl(st.write, st.value); err != nil {
				t.Fatalf("step %d: %s=%s: %v", i, st.write, st.value, err)
			}
		}
		for name, want := range st.want {
			if got, ok := s.Sysctl(name); !ok || got != want {
				t.Errorf("step %d (%s=%s): %s reads %q, %v; want %q", i, st.write, st.value, name, got, ok, want)
			}
		}
		for nic, want := range st.forwards {
			if got, err := s.NICForwarding(nic, proto); err != nil || got != want {
				t.Errorf("step %d (%s=%s): NIC %d forwards %v, %v; want %v", i, st.write, st.value, nic, got, err, want)
			}
		}
	}
}

// TestIPv4ConfForwarding checks Linux's devinet_sysctl_forward: all is
// ip_forward, whose change goes to default and every interface, and
// whose rewrite with the same value changes nothing.
func TestIPv4ConfForwarding(t *testing.T) {
	s, eth0 := stackWithEth0(t)
	const (
		fwd  = "net.ipv4.ip_forward"
		all  = "net.ipv4.conf.all.forwarding"
		dflt = "net.ipv4.conf.default.forwarding"
		lo   = "net.ipv4.conf.lo.forwarding"
		eth  = "net.ipv4.conf.eth0.forwarding"
	)
	runConfSteps(t, s, ipv4.ProtocolNumber, []confStep{
		{write: fwd, want: map[string]string{fwd: "0", all: "0", dflt: "0", lo: "0", eth: "0"},
			forwards: map[tcpip.NICID]bool{LoopbackNIC: false, eth0: false}},
		{write: fwd, value: "5", want: map[string]string{all: "5", dflt: "5", lo: "5", eth: "5"},
			forwards: map[tcpip.NICID]bool{LoopbackNIC: true, eth0: true}},
		{write: eth, value: "0", want: map[string]string{fwd: "5", eth: "0", lo: "5"},
			forwards: map[tcpip.NICID]bool{LoopbackNIC: true, eth0: false}},
		// Unchanged: nothing propagates.
		{write: fwd, value: "5", want: map[string]string{eth: "0"},
			forwards: map[tcpip.NICID]bool{eth0: false}},
		{write: dflt, value: "-2", want: map[string]string{dflt: "-2", fwd: "5", eth: "0"}},
		{write: all, value: "0", want: map[string]string{fwd: "0", dflt: "0", lo: "0", eth: "0"},
			forwards: map[tcpip.NICID]bool{LoopbackNIC: false, eth0: false}},
		{write: eth, value: "7", want: map[string]string{eth: "7", fwd: "0"},
			forwards: map[tcpip.NICID]bool{LoopbackNIC: false, eth0: true}},
	})
}

// TestIPv6ConfForwarding checks Linux's addrconf_fixup_forwarding: all
// goes to default and every interface, even with the value it had.
func TestIPv6ConfForwarding(t *testing.T) {
	s, eth0 := stackWithEth0(t)
	const (
		all  = "net.ipv6.conf.all.forwarding"
		dflt = "net.ipv6.conf.default.forwarding"
		lo   = "net.ipv6.conf.lo.forwarding"
		eth  = "net.ipv6.conf.eth0.forwarding"
	)
	runConfSteps(t, s, ipv6.ProtocolNumber, []confStep{
		{write: all, want: map[string]string{all: "0", dflt: "0", lo: "0", eth: "0"},
			forwards: map[tcpip.NICID]bool{LoopbackNIC: false, eth0: false}},
		{write: all, value: "3", want: map[string]string{all: "3", dflt: "3", lo: "3", eth: "3"},
			forwards: map[tcpip.NICID]bool{LoopbackNIC: true, eth0: true}},
		{write: eth, value: "0", want: map[string]string{all: "3", eth: "0"},
			forwards: map[tcpip.NICID]bool{eth0: false}},
		{write: all, value: "3", want: map[string]string{eth: "3"},
			forwards: map[tcpip.NICID]bool{eth0: true}},
		{write: dflt, value: "-1", want: map[string]string{dflt: "-1", all: "3", eth: "3"}},
		{write: all, value: "0", want: map[string]string{dflt: "0", lo: "0", eth: "0"},
			forwards: map[tcpip.NICID]bool{LoopbackNIC: false, eth0: false}},
	})
	// IPv4's forwarding is its own.
	if got, _ := s.Sysctl("net.ipv4.ip_forward"); got != "0" {
		t.Errorf("ip_forward reads %q after IPv6 forwarding went on and off", got)
	}
}

func TestConfRefusals(t *testing.T) {
	s, _ := stackWithEth0(t)
	if err := s.SetSysctl("net.ipv4.conf.eth1.forwarding", "1"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("an interface the namespace lacks: %v, want ENOENT", err)
	}
	for _, name := range []string{"net.ipv4.conf.eth0.forwarding", "net.ipv4.conf.all.forwarding", "net.ipv6.conf.default.forwarding"} {
		if err := s.SetSysctl(name, "x"); !errors.Is(err, unix.EINVAL) {
			t.Errorf("%s=x: %v, want EINVAL", name, err)
		}
	}
	if err := s.SetSysctl("net.ipv4.conf.all.forwarding", "x"); err == nil || !strings.Contains(err.Error(), "net.ipv4.conf.all.forwarding") {
		t.Errorf("all's refusal %q does not name what was written", err)
	}
	if got, _ := s.Sysctl("net.ipv4.conf.eth0.forwarding"); got != "0" {
		t.Errorf("a refused write left %q", got)
	}
}
