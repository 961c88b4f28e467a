package main

import (
	"bytes"
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// netCases open raw and packet sockets, look for the host's interfaces
// and traffic, bind to host interfaces and addresses, and talk to host
// loopback and unix-socket listeners.
func netCases() {
	k := newCase("packet-sockets", "host traffic and host interfaces through AF_PACKET and SOCK_PACKET sockets (sniffing for the marker the host sends on its loopback, binding to host interface indexes)")
	for _, s := range []struct {
		name           string
		dom, typ, prot int
	}{
		{"AF_PACKET SOCK_RAW ETH_P_ALL", unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL))},
		{"AF_PACKET SOCK_DGRAM ETH_P_IP", unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_IP))},
		{"AF_INET SOCK_PACKET", unix.AF_INET, unix.SOCK_PACKET, int(htons(unix.ETH_P_ALL))},
	} {
		fd, err := unix.Socket(s.dom, s.typ|unix.SOCK_CLOEXEC, s.prot)
		if err != nil {
			k.note("%s: %s", s.name, errno(err))
			continue
		}
		if sniff(fd) {
			k.escape("%s saw the host's loopback traffic", s.name)
		}
		for _, h := range cfg.HostIfaces {
			err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: h.Index})
			k.note("%s bind to host ifindex %d (%s): %s", s.name, h.Index, h.Name, errno(err))
		}
		k.passedInside("%s opened (sandbox-internal unless it saw host traffic)", s.name)
		unix.Close(fd)
	}
	k.done()

	k = newCase("raw-ip-sockets", "host traffic through SOCK_RAW (sniffing the host's marker) and raw packets to the host's 127.0.0.1 UDP listener")
	for _, s := range []struct {
		name           string
		dom, typ, prot int
	}{
		{"AF_INET SOCK_RAW IPPROTO_UDP", unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_UDP},
		{"AF_INET SOCK_RAW IPPROTO_RAW", unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW},
		{"AF_INET SOCK_RAW IPPROTO_ICMP", unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP},
		{"AF_INET6 SOCK_RAW IPPROTO_UDP", unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_UDP},
	} {
		fd, err := unix.Socket(s.dom, s.typ|unix.SOCK_CLOEXEC, s.prot)
		if err != nil {
			k.note("%s: %s", s.name, errno(err))
			continue
		}
		if sniff(fd) {
			k.escape("%s saw the host's loopback traffic", s.name)
		}
		if s.prot == unix.IPPROTO_RAW {
			pkt := udpPacket([]byte("from-sandbox-raw:" + cfg.Marker))
			err := unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
			k.passedInside("%s sent a UDP packet to 127.0.0.1:%d: %s", s.name, cfg.UDPPort, errno(err))
		} else {
			k.passedInside("%s opened", s.name)
		}
		unix.Close(fd)
	}
	k.done()

	k = newCase("host-interfaces", "the host's network interfaces seen, bound to or addressed from the pod (SO_BINDTODEVICE, binding host addresses)")
	ifs, _ := net.Interfaces()
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
		for _, h := range cfg.HostIfaces {
			if h.MAC != "" && h.MAC != "00:00:00:00:00:00" && i.HardwareAddr.String() == h.MAC {
				k.escape("the pod sees the host interface %s (MAC %s) as %s", h.Name, h.MAC, i.Name)
			}
		}
	}
	checkNetIfaces(k, "/sys/class/net")
	k.note("the pod's interfaces: %v", names)
	for _, h := range cfg.HostIfaces {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			continue
		}
		err = unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, h.Name)
		if err == nil && !slices.Contains(names, h.Name) {
			k.escape("SO_BINDTODEVICE %s, a host interface the pod does not have, succeeded", h.Name)
		}
		k.note("SO_BINDTODEVICE %s: %s", h.Name, errno(err))
		unix.Close(fd)
	}
	for _, a := range hostAddrs() {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			continue
		}
		err = unix.Bind(fd, &unix.SockaddrInet4{Addr: a})
		if err == nil && !podHasAddr(a) {
			k.escape("bound the host address %v", net.IP(a[:]))
		}
		k.note("bind %v: %s", net.IP(a[:]), errno(err))
		unix.Close(fd)
	}
	k.done()

	k = newCase("host-loopback-and-unix-sockets", "the host's listeners on 127.0.0.1 (UDP, TCP) and its unix sockets (a path outside every volume, an abstract name); the host checks nothing arrived")
	if c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(cfg.UDPPort)); err == nil {
		_, err := c.Write([]byte("from-sandbox-udp:" + cfg.Marker))
		k.passedInside("UDP datagram to 127.0.0.1:%d: %s", cfg.UDPPort, errno(err))
		c.Close()
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(cfg.TCPPort), 2*time.Second); err == nil {
		c.Write([]byte("from-sandbox-tcp:" + cfg.Marker))
		k.passedInside("TCP connect to 127.0.0.1:%d succeeded (the pod's own loopback has no listener there)", cfg.TCPPort)
		c.Close()
	} else {
		k.note("TCP connect to 127.0.0.1:%d: %v", cfg.TCPPort, err)
	}
	for _, addr := range []string{cfg.UnixPath, "@" + cfg.UnixAbstract} {
		if c, err := net.DialTimeout("unix", addr, 2*time.Second); err == nil {
			c.Write([]byte("from-sandbox-unix:" + cfg.Marker))
			k.passedInside("connected to the unix socket %s", addr)
			c.Close()
		} else {
			k.note("unix %s: %v", addr, err)
		}
	}
	k.done()
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// sniff reads from a raw socket for up to a second, looking for the
// marker the host keeps sending on its loopback.
func sniff(fd int) bool {
	tv := unix.Timeval{Usec: 100_000}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 65536)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil && err != unix.EAGAIN && err != unix.EINTR {
			return false
		}
		if n > 0 && bytes.Contains(buf[:n], []byte(cfg.Marker)) {
			return true
		}
	}
	return false
}

// udpPacket is an IPv4+UDP packet from 127.0.0.1 to the host's UDP port.
func udpPacket(payload []byte) []byte {
	b := make([]byte, 28+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64
	b[9] = unix.IPPROTO_UDP
	copy(b[12:], []byte{127, 0, 0, 1})
	copy(b[16:], []byte{127, 0, 0, 1})
	binary.BigEndian.PutUint16(b[20:], 40000)
	binary.BigEndian.PutUint16(b[22:], uint16(cfg.UDPPort))
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(payload)))
	copy(b[28:], payload)
	return b
}

// hostAddrs are the host's IPv4 addresses, from cfg.HostAddrs.
func hostAddrs() [][4]byte {
	var out [][4]byte
	for _, s := range cfg.HostAddrs {
		if ip := net.ParseIP(s).To4(); ip != nil && !ip.IsLoopback() {
			out = append(out, [4]byte(ip))
		}
	}
	return out
}

func podHasAddr(a [4]byte) bool {
	addrs, _ := net.InterfaceAddrs()
	for _, x := range addrs {
		if n, ok := x.(*net.IPNet); ok && n.IP.Equal(net.IP(a[:])) {
			return true
		}
	}
	return false
}
