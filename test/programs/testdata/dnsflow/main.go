// Command dnsflow is a DNS server's UDP path as miekg/dns (and so
// CoreDNS) runs it: a dual-stack socket with both families' packet info
// asked for (the server refuses to start when neither can be), each
// query's destination read from the control messages, and the answer
// sent with that address as its source (IP_PKTINFO or IPV6_PKTINFO).
package main

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

func main() {
	c, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		fail("listen: %v", err)
	}
	err6 := ipv6.NewPacketConn(c).SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
	err4 := ipv4.NewPacketConn(c).SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
	if err6 != nil && err4 != nil {
		fail("packet info: %v; %v", err4, err6)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	for _, dst := range []string{"127.0.0.1", "::1"} {
		cl, err := net.Dial("udp", net.JoinHostPort(dst, fmt.Sprint(port)))
		if err != nil {
			fail("dial %s: %v", dst, err)
		}
		if _, err := cl.Write([]byte("query")); err != nil {
			fail("query: %v", err)
		}
		b, oob := make([]byte, 64), make([]byte, 256)
		n, oobn, _, from, err := c.ReadMsgUDP(b, oob)
		if err != nil {
			fail("read: %v", err)
		}
		var to net.IP
		if cm := new(ipv4.ControlMessage); cm.Parse(oob[:oobn]) == nil && cm.Dst != nil {
			to = cm.Dst
		}
		if cm := new(ipv6.ControlMessage); to == nil && cm.Parse(oob[:oobn]) == nil && cm.Dst != nil {
			to = cm.Dst
		}
		var src []byte
		if to.To4() != nil {
			src = (&ipv4.ControlMessage{Src: to}).Marshal()
		} else {
			src = (&ipv6.ControlMessage{Src: to}).Marshal()
		}
		if _, _, err := c.WriteMsgUDP(b[:n], src, from); err != nil {
			fail("answer: %v", err)
		}
		got := make([]byte, 64)
		m, err := cl.Read(got)
		if err != nil {
			fail("read the answer: %v", err)
		}
		fmt.Printf("%s: %q came to %v, answered %q\n", dst, b[:n], to, got[:m])
		cl.Close()
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
