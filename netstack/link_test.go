package netstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// vethPair is two network namespaces of a test, "pod" and "peer",
// joined by a veth: the pod end has podIP/30 (and pod6/64) and a
// default route through peerIP, as CNI's bridge plugin would leave it;
// the peer end has peerIP and peer6, and extraIP on its lo, reachable
// from the pod only through the default route.
type vethPair struct {
	podNS, peerNS   string // paths of the namespaces
	podIf, peerIf   string
	podIP, peerIP   netip.Addr
	pod6, peer6     netip.Addr
	extraIP         netip.Addr
	podNSName       string
	peerNSName      string
	podMAC, peerMAC string
}

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newVethPair(t testing.TB) *vethPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	var b [4]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	v := &vethPair{
		podNSName: "cnpod" + id, peerNSName: "cnpeer" + id,
		podIf: "cvp" + id, peerIf: "cvq" + id,
		podIP: netip.MustParseAddr("10.99.0.2"), peerIP: netip.MustParseAddr("10.99.0.1"),
		pod6: netip.MustParseAddr("fd00:99::2"), peer6: netip.MustParseAddr("fd00:99::1"),
		extraIP: netip.MustParseAddr("10.98.0.1"),
	}
	v.podNS, v.peerNS = "/run/netns/"+v.podNSName, "/run/netns/"+v.peerNSName
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", v.podNSName).Run()
		exec.Command("ip", "netns", "del", v.peerNSName).Run()
	})
	run(t, "ip", "netns", "add", v.podNSName)
	run(t, "ip", "netns", "add", v.peerNSName)
	run(t, "ip", "link", "add", v.podIf, "netns", v.podNSName, "type", "veth", "peer", "name", v.peerIf, "netns", v.peerNSName)
	pod := []string{"ip", "-n", v.podNSName}
	peer := []string{"ip", "-n", v.peerNSName}
	for _, c := range [][]string{
		append(pod, "addr", "add", v.podIP.String()+"/30", "dev", v.podIf),
		append(pod, "addr", "add", v.pod6.String()+"/64", "dev", v.podIf, "nodad"),
		append(pod, "link", "set", v.podIf, "up"),
		append(pod, "route", "add", "default", "via", v.peerIP.String()),
		append(peer, "addr", "add", v.peerIP.String()+"/30", "dev", v.peerIf),
		append(peer, "addr", "add", v.peer6.String()+"/64", "dev", v.peerIf, "nodad"),
		append(peer, "addr", "add", v.extraIP.String()+"/32", "dev", "lo"),
		append(peer, "link", "set", v.peerIf, "up"),
		append(peer, "link", "set", "lo", "up"),
		append(peer, "route", "add", "10.99.0.0/16", "via", v.podIP.String()),
	} {
		run(t, c...)
	}
	v.podMAC = macOf(t, v.podNSName, v.podIf)
	return v
}

func macOf(t testing.TB, ns, dev string) string {
	t.Helper()
	f := strings.Fields(run(t, "ip", "-n", ns, "-o", "link", "show", "dev", dev))
	for i, w := range f {
		if w == "link/ether" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("no MAC for %s in %v", dev, f)
	return ""
}

// inNetNS runs f on an OS thread that joined the namespace at path, and
// brings the thread back to its own namespace before it runs anything
// else; sockets f makes belong to that namespace for good.
func inNetNS(path string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		err = f()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			// Only a thread back home goes back to the pool; one
			// that could not return ends with its goroutine.
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// attachedStack is a Stack that took over the pod end of v.
func attachedStack(t testing.TB, v *vethPair, opts LinkOptions) (*Stack, []*Link) {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var links []*Link
	if err := inNetNS(v.podNS, func() error {
		var err error
		links, err = s.AttachHostLinks(opts)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s, links
}

func fullAddr(ip netip.Addr, port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{Addr: tcpAddr(ip), Port: port}
}

func TestAttachHostLinks(t *testing.T) {
	for _, o := range []struct {
		name string
		opts LinkOptions
	}{{"default", LinkOptions{}}, {"fdbased", LinkOptions{FdbasedRX: true}}} {
		t.Run(o.name, func(t *testing.T) { testAttachHostLinks(t, o.opts) })
	}
}

func testAttachHostLinks(t *testing.T, opts LinkOptions) {
	v := newVethPair(t)
	s, links := attachedStack(t, v, opts)
	if len(links) != 1 {
		t.Fatalf("attached %v, want the one veth", links)
	}
	l := links[0]
	t.Logf("attached %s", l)
	if l.Name != v.podIf || l.MAC.String() != v.podMAC || l.MTU != 1500 {
		t.Errorf("link %s, want %s with MAC %s, MTU 1500", l, v.podIf, v.podMAC)
	}
	want := map[netip.Prefix]bool{netip.PrefixFrom(v.podIP, 30): false, netip.PrefixFrom(v.pod6, 64): false}
	for _, a := range l.Addrs {
		if _, ok := want[a]; ok {
			want[a] = true
		}
	}
	for a, ok := range want {
		if !ok {
			t.Errorf("address %s not taken over (have %v)", a, l.Addrs)
		}
	}
	var def bool
	for _, r := range s.GetRouteTable() {
		if r.Destination.Prefix() == 0 && r.Gateway == tcpAddr(v.peerIP) && r.NIC == l.NIC {
			def = true
		}
	}
	if !def {
		t.Errorf("no default route via %s in %v", v.peerIP, s.GetRouteTable())
	}
	// The host kernel of the pod namespace lets go of the addresses and
	// keeps the link up.
	if out := run(t, "ip", "-n", v.podNSName, "addr", "show", "dev", v.podIf); strings.Contains(out, "inet") || !strings.Contains(out, "UP") {
		t.Errorf("host view of the pod link after the takeover:\n%s", out)
	}
	var names []string
	for _, it := range s.Interfaces() {
		names = append(names, fmt.Sprintf("%d:%s", it.Index, it.Name))
	}
	if len(names) != 2 || names[0] != "1:lo" || !strings.HasSuffix(names[1], ":"+v.podIf) {
		t.Errorf("interfaces %v", names)
	}
	if nd := s.NetDev(); !strings.Contains(nd, v.podIf+":") {
		t.Errorf("/proc/net/dev:\n%s", nd)
	}

	t.Run("TCPServer", func(t *testing.T) {
		for _, ip := range []netip.Addr{v.podIP, v.pod6} {
			proto := ipv4.ProtocolNumber
			if ip.Is6() {
				proto = ipv6.ProtocolNumber
			}
			ln, err := gonet.ListenTCP(s.Stack, fullAddr(ip, 8080), proto)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				defer c.Close()
				_, err = io.Copy(c, c) // echo until the peer's FIN
				done <- err
			}()
			payload := make([]byte, 4<<20)
			rand.Read(payload)
			var c net.Conn
			if err := inNetNS(v.peerNS, func() error {
				var err error
				c, err = net.DialTimeout("tcp", netip.AddrPortFrom(ip, 8080).String(), 10*time.Second)
				return err
			}); err != nil {
				t.Fatalf("peer dialing the stack at %s: %v", ip, err)
			}
			go func() {
				c.Write(payload)
				c.(*net.TCPConn).CloseWrite()
			}()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			got, err := io.ReadAll(c)
			c.Close()
			if err != nil || !bytes.Equal(got, payload) {
				t.Errorf("echo through %s: %d of %d bytes back, equal %v, err %v", ip, len(got), len(payload), bytes.Equal(got, payload), err)
			}
			if err := <-done; err != nil {
				t.Errorf("stack side: %v", err)
			}
			ln.Close()
		}
	})

	t.Run("TCPClient", func(t *testing.T) {
		// The peer's own address on the link, and one behind the
		// default route.
		for _, ip := range []netip.Addr{v.peerIP, v.extraIP, v.peer6} {
			var ln net.Listener
			if err := inNetNS(v.peerNS, func() error {
				var err error
				ln, err = net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			go func() {
				c, err := ln.Accept()
				if err == nil {
					io.Copy(c, c)
					c.Close()
				}
			}()
			port := uint16(ln.Addr().(*net.TCPAddr).Port)
			proto := ipv4.ProtocolNumber
			if ip.Is6() {
				proto = ipv6.ProtocolNumber
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c, err := gonet.DialContextTCP(ctx, s.Stack, fullAddr(ip, port), proto)
			cancel()
			if err != nil {
				t.Fatalf("stack dialing %s: %v", ip, err)
			}
			msg := []byte("hello from the sandbox " + ip.String())
			c.Write(msg)
			c.CloseWrite()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("echo from %s: %q, %v", ip, got, err)
			}
			c.Close()
			ln.Close()
		}
	})

	t.Run("Ping", func(t *testing.T) {
		for _, ip := range []netip.Addr{v.podIP, v.pod6} {
			if err := inNetNS(v.peerNS, func() error { return ping(ip) }); err != nil {
				t.Errorf("ping %s from the peer: %v", ip, err)
			}
		}
	})

	t.Run("UDP", func(t *testing.T) {
		sc, err := gonet.DialUDP(s.Stack, &tcpip.FullAddress{Addr: tcpAddr(v.podIP), Port: 5353}, nil, ipv4.ProtocolNumber)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		var pc net.PacketConn
		if err := inNetNS(v.peerNS, func() error {
			var err error
			pc, err = net.ListenPacket("udp", netip.AddrPortFrom(v.peerIP, 0).String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		pc.SetDeadline(time.Now().Add(10 * time.Second))
		sc.SetDeadline(time.Now().Add(10 * time.Second))
		// Peer to stack.
		if _, err := pc.WriteTo([]byte("ping"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(v.podIP, 5353))); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		n, from, err := sc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("stack got %q from %v: %v", buf[:n], from, err)
		}
		// Stack to peer, to the address it came from.
		if _, err := sc.WriteTo([]byte("pong"), from); err != nil {
			t.Fatal(err)
		}
		n, from, err = pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "pong" || from.(*net.UDPAddr).AddrPort() != netip.AddrPortFrom(v.podIP, 5353) {
			t.Fatalf("peer got %q from %v: %v", buf[:n], from, err)
		}
	})
}

// ping sends an ICMP echo request to ip from a raw socket of the
// calling thread's namespace and waits for the reply.
func ping(ip netip.Addr) error {
	family, proto, req, rep := unix.AF_INET, unix.IPPROTO_ICMP, byte(8), byte(0)
	if ip.Is6() {
		family, proto, req, rep = unix.AF_INET6, unix.IPPROTO_ICMPV6, 128, 129
	}
	fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 5}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	msg := []byte{req, 0, 0, 0, 0x12, 0x34, 0, 1, 'c', 'o', 'c', 'o', 'o', 'n'}
	var sa unix.Sockaddr
	if ip.Is4() {
		// IPv6's checksum is the kernel's; IPv4's is ours.
		var sum uint32
		for i := 0; i < len(msg); i += 2 {
			sum += uint32(msg[i])<<8 | uint32(msg[i+1])
		}
		for sum > 0xffff {
			sum = sum>>16 + sum&0xffff
		}
		msg[2], msg[3] = byte(^sum>>8), byte(^sum)
		sa = &unix.SockaddrInet4{Addr: ip.As4()}
	} else {
		sa = &unix.SockaddrInet6{Addr: ip.As16()}
	}
	if err := unix.Sendto(fd, msg, 0, sa); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("no echo reply: %w", err)
		}
		b := buf[:n]
		if ip.Is4() && n > 20 {
			b = b[int(b[0]&0xf)*4:] // the IP header comes with it
		}
		if len(b) >= len(msg) && b[0] == rep && b[4] == 0x12 && b[5] == 0x34 && string(b[8:len(msg)]) == "cocoon" {
			return nil
		}
	}
}

// TestAttachNoNetwork: a namespace with only a down lo, as a pod without
// a CNI network has, attaches nothing and keeps lo alone.
func TestAttachNoNetwork(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	var b [4]byte
	rand.Read(b[:])
	name := "cnnone" + hex.EncodeToString(b[:])
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "netns", "add", name)
	s, links := attachedStack(t, &vethPair{podNS: "/run/netns/" + name}, LinkOptions{})
	if len(links) != 0 {
		t.Errorf("attached %v in an empty namespace", links)
	}
	if its := s.Interfaces(); len(its) != 1 || its[0].Name != "lo" {
		t.Errorf("interfaces %+v", its)
	}
}

// TestLinkBench reports TCP throughput host→pod and pod→host through the
// veth, with the stack on the pod end against the host kernel on the
// same setup, as ratios, for each endpoint option set, and the CPU time
// the whole test process (both ends) spent per GiB moved, which a loaded
// machine disturbs less than the rates. COCOON_BENCH=1 runs it
// (COCOON_BENCH_ROUNDS=N repeats the option sets, interleaved); it never
// asserts on time.
func TestLinkBench(t *testing.T) {
	if os.Getenv("COCOON_BENCH") != "1" {
		t.Skip("set COCOON_BENCH=1 to run the veth throughput benchmark")
	}
	const size = 256 << 20
	rounds := 1
	if n, err := strconv.Atoi(os.Getenv("COCOON_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	v := newVethPair(t)
	nin, nout := throughputKernel(t, v, size)
	t.Logf("host kernel: host→pod %.0f MiB/s (%.2f CPU s/GiB), pod→host %.0f MiB/s (%.2f CPU s/GiB)", nin.rate, nin.cpu, nout.rate, nout.cpu)
	tenViews := []int{128, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 256}
	for range rounds {
		for _, o := range []struct {
			name  string
			opts  LinkOptions
			sizes []int
		}{
			{"gso+poll", LinkOptions{}, nil},
			{"gso+poll+10views", LinkOptions{}, tenViews},
			{"gso+poll+gro", LinkOptions{GRO: true}, nil},
			{"gso+recvmmsg", LinkOptions{FdbasedRX: true}, nil},
			{"gso+recvmmsg+1proc", LinkOptions{FdbasedRX: true, Processors: 1}, nil},
			{"gso+recvmmsg+gro", LinkOptions{FdbasedRX: true, GRO: true}, nil},
			{"gso+packetmmap", LinkOptions{FdbasedRX: true, Dispatch: fdbased.PacketMMap}, nil},
			{"nogso+poll", LinkOptions{NoGSO: true}, nil},
		} {
			saved := rxSizes
			if o.sizes != nil {
				// Read once, when the receiver starts.
				rxSizes = o.sizes
			}
			v := newVethPair(t)
			s, _ := attachedStack(t, v, o.opts)
			in, out := throughputStack(t, v, s, size)
			rxSizes = saved
			t.Logf("%-18s host→pod %5.0f MiB/s (%.2fx, %.2f CPU s/GiB), pod→host %5.0f MiB/s (%.2fx, %.2f CPU s/GiB)",
				o.name, in.rate, in.rate/nin.rate, in.cpu, out.rate, out.rate/nout.rate, out.cpu)
		}
	}
}

// figure is a measured transfer: MiB/s and the process's CPU seconds
// per GiB.
type figure struct{ rate, cpu float64 }

// throughputKernel measures with both ends in host kernels: a listener
// in the pod namespace.
func throughputKernel(t *testing.T, v *vethPair, size int) (in, out figure) {
	var ln net.Listener
	if err := inNetNS(v.podNS, func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(v.podIP, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return measure(t, v, func() (net.Conn, error) { return ln.Accept() }, ln.Addr().(*net.TCPAddr).AddrPort(), size)
}

// throughputStack measures with the stack on the pod end.
func throughputStack(t *testing.T, v *vethPair, s *Stack, size int) (in, out figure) {
	ln, err := gonet.ListenTCP(s.Stack, fullAddr(v.podIP, 9000), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return measure(t, v, ln.Accept, netip.AddrPortFrom(v.podIP, 9000), size)
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure sends size bytes from the peer to the pod end and back the
// other way, each on a connection of its own.
func measure(t *testing.T, v *vethPair, accept func() (net.Conn, error), addr netip.AddrPort, size int) (in, out figure) {
	buf := make([]byte, 256<<10)
	for dir := 0; dir < 2; dir++ {
		var c net.Conn
		if err := inNetNS(v.peerNS, func() error {
			var err error
			c, err = net.Dial("tcp", addr.String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		p, err := accept()
		if err != nil {
			t.Fatal(err)
		}
		src, dst := c, p // host→pod
		if dir == 1 {
			src, dst = p, c
		}
		start, cpu0 := time.Now(), cpuTime()
		go func() {
			for n := 0; n < size; n += len(buf) {
				if _, err := src.Write(buf); err != nil {
					break
				}
			}
			src.Close()
		}()
		n, _ := io.CopyBuffer(io.Discard, dst, make([]byte, 256<<10))
		el, cpu := time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
		dst.Close()
		if n != int64(size) {
			t.Fatalf("moved %d of %d bytes", n, size)
		}
		f := figure{rate: float64(size) / (1 << 20) / el, cpu: cpu / (float64(size) / (1 << 30))}
		if dir == 0 {
			in = f
		} else {
			out = f
		}
	}
	return in, out
}

// TestGiveBackLinks: after the take-over, giving the links back puts
// their addresses on them in the host kernel again, so that CNI plugins'
// DEL finds them; doing it twice, or for a link that is gone, is fine.
func TestGiveBackLinks(t *testing.T) {
	v := newVethPair(t)
	attachedStack(t, v, LinkOptions{})
	if out := run(t, "ip", "-n", v.podNSName, "addr", "show", "dev", v.podIf); strings.Contains(out, "inet") {
		t.Fatalf("addresses left after the takeover:\n%s", out)
	}
	back := map[string][]netip.Prefix{
		v.podIf:   {netip.PrefixFrom(v.podIP, 30), netip.PrefixFrom(v.pod6, 64)},
		"cvgone0": {netip.MustParsePrefix("10.97.0.2/24")},
	}
	for range 2 {
		if err := inNetNS(v.podNS, func() error { return GiveBackLinks(back) }); err != nil {
			t.Fatal(err)
		}
	}
	out := run(t, "ip", "-n", v.podNSName, "addr", "show", "dev", v.podIf)
	for _, want := range []string{"inet " + v.podIP.String() + "/30", "inet6 " + v.pod6.String() + "/64"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q not back on %s:\n%s", want, v.podIf, out)
		}
	}
}
