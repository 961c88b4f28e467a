// quicflow moves data over QUIC on loopback as quic-go, the QUIC stack of
// Caddy's and Traefik's HTTP/3, does it: a server and a client in one
// process, a stream of 4 MiB echoed back. quic-go sends with UDP
// segmentation offload (UDP_SEGMENT) when getsockopt says the kernel has
// it, so the program prints that probe's answer first.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"time"

	"github.com/quic-go/quic-go"
	"golang.org/x/sys/unix"
)

const size = 4 << 20

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quicflow:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	serverTLS, err := selfSigned()
	if err != nil {
		return err
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	fmt.Println("UDP_SEGMENT:", gsoProbe(pc))
	ln, err := quic.Listen(pc, serverTLS, nil)
	if err != nil {
		return err
	}
	defer ln.Close()
	go serve(ctx, ln)

	conn, err := quic.DialAddr(ctx, pc.LocalAddr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"quicflow"}}, nil)
	if err != nil {
		return err
	}
	defer conn.CloseWithError(0, "")
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>12)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := str.Write(data)
		if err == nil {
			err = str.Close()
		}
		errc <- err
	}()
	back, err := io.ReadAll(str)
	if err != nil {
		return err
	}
	if err := <-errc; err != nil {
		return err
	}
	if !bytes.Equal(back, data) {
		return fmt.Errorf("echoed %d bytes, not the %d sent", len(back), len(data))
	}
	fmt.Printf("echoed %d bytes\n", len(back))
	return nil
}

// serve echoes each stream of each connection.
func serve(ctx context.Context, ln *quic.Listener) {
	for {
		conn, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		go func() {
			for {
				str, err := conn.AcceptStream(ctx)
				if err != nil {
					return
				}
				go func() {
					io.Copy(str, str)
					str.Close()
				}()
			}
		}()
	}
}

// gsoProbe asks the socket for UDP_SEGMENT as quic-go does.
func gsoProbe(pc *net.UDPConn) string {
	rc, err := pc.SyscallConn()
	if err != nil {
		return err.Error()
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		_, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return err.Error()
	}
	if serr != nil {
		return serr.Error()
	}
	return "available"
}

func selfSigned() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, NextProtos: []string{"quicflow"}}, nil
}
