// Command netbench is the network benchmark's server and client
// (e2e/bench_net_test.go). It is built static (CGO_ENABLED=0) so the same
// binary runs inside a cocoon pod, inside a runc container and on the
// host: the report compares the two sandboxes, not two programs.
//
//	netbench serve   [-port 5201]                   TCP and UDP on one port, until killed
//	netbench send    -addr HOST:PORT [-time 2s]     TCP throughput to the server, Mbit/s
//	netbench recv    -addr HOST:PORT [-time 2s]     TCP throughput from the server, Mbit/s
//	netbench connect -addr HOST:PORT [-time 2s]     TCP connect+close rate, connections/s
//	netbench udprtt  -addr HOST:PORT [-time 1s]     UDP round trip, median µs
//
// A client prints its figure alone on a line, for the test to read.
//
// The TCP protocol: the client's first byte chooses what the server
// does. 's': read to EOF, then answer the byte count (8 bytes, big
// endian), so the sender's clock stops when the receiver has everything.
// 'r': write until the client goes. 'c': close at once (a connect+close
// probe; the server closes first, as HTTP/1.0 servers do, so the
// TIME_WAIT states pile up in the server's stack, not in the client's
// ephemeral ports, where thousands of them would slow connect(2) down
// and the later runs with it). UDP datagrams are echoed.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"time"
)

const (
	modeSink   = 's'
	modeSource = 'r'
	modeClose  = 'c'
	// chunk is what one write or read asks for: big enough that the
	// per-call cost is small next to the copy.
	chunk = 128 << 10
	// udpSize is the payload of a UDP probe: a small request.
	udpSize = 32
	// udpWait is how long a UDP probe's echo may take before the probe
	// counts as lost.
	udpWait = 200 * time.Millisecond
	// udpWarmup probes go first and are not counted; at least
	// udpMinTrips are.
	udpWarmup   = 10
	udpMinTrips = 100
	// stallTimeout ends a TCP client that has waited this long for data:
	// a stream that stopped is an error to report, not a hang.
	stallTimeout = 30 * time.Second
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	port := fs.Int("port", 5201, "serve: the TCP and UDP port")
	addr := fs.String("addr", "", "clients: the server's HOST:PORT")
	d := fs.Duration("time", 2*time.Second, "clients: how long to measure")
	maxTrips := fs.Int("max", 5000, "connect, udprtt: stop after this many round trips")
	fs.Parse(os.Args[2:])
	if os.Args[1] != "serve" && *addr == "" {
		usage()
	}
	var (
		v   float64
		err error
	)
	switch os.Args[1] {
	case "serve":
		err = serve(*port)
	case "send":
		v, err = send(*addr, *d)
	case "recv":
		v, err = recv(*addr, *d)
	case "connect":
		v, err = connectRate(*addr, *d, *maxTrips)
	case "udprtt":
		v, err = udpRTT(*addr, *d, *maxTrips)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "netbench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Println(strconv.FormatFloat(v, 'f', 1, 64))
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: netbench serve [-port N] | {send|recv|connect|udprtt} -addr HOST:PORT [-time D] [-max N]")
	os.Exit(2)
}

// serve answers TCP and UDP on port until the process is killed.
func serve(port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", port))
	if err != nil {
		return err
	}
	go echoUDP(pc)
	fmt.Println("listening on", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveTCP(c)
	}
}

func serveTCP(c net.Conn) {
	defer c.Close()
	var mode [1]byte
	if _, err := io.ReadFull(c, mode[:]); err != nil {
		return
	}
	switch mode[0] {
	case modeClose:
		// The deferred Close.
	case modeSink:
		n, err := sink(c)
		if err != nil {
			return
		}
		var ack [8]byte
		binary.BigEndian.PutUint64(ack[:], uint64(n))
		c.Write(ack[:])
	case modeSource:
		buf := make([]byte, chunk)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
}

// sink reads c to EOF, chunk bytes a call, and returns the byte count.
// Not io.Copy to io.Discard: that reads 8 KiB a call whatever buffer it
// is given (io.Discard is a ReaderFrom with buffers of its own), which
// would measure the cost of a system call more than the stream's.
func sink(c net.Conn) (int64, error) {
	buf := make([]byte, chunk)
	var total int64
	for {
		n, err := c.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func echoUDP(pc net.PacketConn) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], from)
	}
}

// send streams to the server for d and returns Mbit/s, counted when the
// server has read everything (its byte count has come back).
func send(addr string, d time.Duration) (float64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, chunk)
	buf[0] = modeSink
	start := time.Now()
	var sent int64
	for time.Since(start) < d {
		c.SetWriteDeadline(time.Now().Add(stallTimeout))
		n, err := c.Write(buf)
		sent += int64(n)
		if err != nil {
			return 0, err
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	var ack [8]byte
	c.SetReadDeadline(time.Now().Add(stallTimeout))
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return 0, fmt.Errorf("reading the server's byte count: %w", err)
	}
	elapsed := time.Since(start)
	if got := int64(binary.BigEndian.Uint64(ack[:])) + 1; got != sent {
		return 0, fmt.Errorf("the server read %d bytes, %d were sent", got, sent)
	}
	return mbits(sent, elapsed), nil
}

// recv reads what the server streams for d and returns Mbit/s.
func recv(addr string, d time.Duration) (float64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Write([]byte{modeSource}); err != nil {
		return 0, err
	}
	buf := make([]byte, chunk)
	start := time.Now()
	var got int64
	for time.Since(start) < d {
		c.SetReadDeadline(time.Now().Add(stallTimeout))
		n, err := c.Read(buf)
		got += int64(n)
		if err != nil {
			return 0, err
		}
	}
	return mbits(got, time.Since(start)), nil
}

func mbits(n int64, d time.Duration) float64 { return float64(n) * 8 / d.Seconds() / 1e6 }

// connectRate opens connections one after another for d (or maxTrips
// of them), each closed by the server, and returns connections per
// second.
func connectRate(addr string, d time.Duration, maxTrips int) (float64, error) {
	start := time.Now()
	n := 0
	var b [1]byte
	for n < maxTrips && time.Since(start) < d {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, fmt.Errorf("connection %d: %w", n, err)
		}
		_, err = c.Write([]byte{modeClose})
		if err == nil {
			if _, err = c.Read(b[:]); err == io.EOF {
				err = nil
			} else if err == nil {
				err = errors.New("the server sent data")
			}
		}
		c.Close()
		if err != nil {
			return 0, fmt.Errorf("connection %d: %w", n, err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// udpRTT sends numbered datagrams one at a time for d (or maxTrips of
// them, and at least udpMinTrips) and returns the median round trip in
// µs. A few first ones warm the path up (neighbour entries, the
// server's first wakeup) and are not counted. A datagram not echoed
// within udpWait is lost and not counted; more than a tenth lost is an
// error.
func udpRTT(addr string, d time.Duration, maxTrips int) (float64, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	out, in := make([]byte, udpSize), make([]byte, 64<<10)
	var seq uint64
	// ping returns the round trip of one datagram, or not ok when it
	// was lost.
	ping := func() (time.Duration, bool, error) {
		seq++
		binary.BigEndian.PutUint64(out, seq)
		t0 := time.Now()
		if _, err := c.Write(out); err != nil {
			return 0, false, err
		}
		c.SetReadDeadline(t0.Add(udpWait))
		for {
			n, err := c.Read(in)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0, false, nil
			}
			if err != nil {
				return 0, false, err
			}
			if n == udpSize && binary.BigEndian.Uint64(in) == seq {
				return time.Since(t0), true, nil
			}
			// A late echo of an earlier datagram: keep waiting.
		}
	}
	for range udpWarmup {
		if _, _, err := ping(); err != nil {
			return 0, err
		}
	}
	var rtts []time.Duration
	lost := 0
	start := time.Now()
	for n := 0; n < maxTrips && (n < udpMinTrips || time.Since(start) < d); n++ {
		rtt, ok, err := ping()
		if err != nil {
			return 0, err
		}
		if !ok {
			lost++
			continue
		}
		rtts = append(rtts, rtt)
	}
	if len(rtts) == 0 || lost > (len(rtts)+lost)/10 {
		return 0, fmt.Errorf("%d of %d datagrams lost", lost, len(rtts)+lost)
	}
	slices.Sort(rtts)
	return float64(rtts[len(rtts)/2].Nanoseconds()) / 1e3, nil
}
