package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/sockpath"
)

// MaxMessage is the largest request or response, in bytes.
const MaxMessage = 256 << 10

// MaxFDs is the most descriptors one message carries.
const MaxFDs = 8

// Error is a failed request's error as the client sees it.
type Error struct {
	Op      string
	Code    ErrorCode
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("sentry %s: %s", e.Op, e.Message) }

// send writes one message with fds on a SOCK_SEQPACKET socket.
func send(fd int, v any, fds []int) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(data) > MaxMessage {
		return fmt.Errorf("message of %d bytes exceeds %d", len(data), MaxMessage)
	}
	if len(fds) > MaxFDs {
		return fmt.Errorf("%d descriptors exceed %d", len(fds), MaxFDs)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for {
		err = unix.Sendmsg(fd, data, oob, nil, 0)
		if err != unix.EINTR {
			return err
		}
	}
}

// recv reads one message and the descriptors that came with it, which
// the caller owns. It returns io.EOF-like errors as ErrHangup.
func recv(fd int, v any) ([]*os.File, error) {
	buf := make([]byte, MaxMessage+1)
	oob := make([]byte, unix.CmsgSpace(MaxFDs*4))
	var n, oobn, flags int
	var err error
	for {
		n, oobn, flags, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	files, ferr := parseRights(oob[:oobn])
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	if ferr != nil {
		closeAll()
		return nil, ferr
	}
	if flags&unix.MSG_CTRUNC != 0 {
		closeAll()
		return nil, errors.New("control message truncated: too many descriptors")
	}
	if n == 0 {
		closeAll()
		return nil, ErrHangup
	}
	if n > MaxMessage || flags&unix.MSG_TRUNC != 0 {
		closeAll()
		return nil, fmt.Errorf("message exceeds %d bytes", MaxMessage)
	}
	if err := json.Unmarshal(buf[:n], v); err != nil {
		closeAll()
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	return files, nil
}

// ErrHangup is returned when the peer closed the connection.
var ErrHangup = errors.New("connection closed by peer")

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "control-fd"))
		}
	}
	return files, nil
}

// Client talks to one sentry's control socket.
type Client struct {
	// Path is the control socket's path.
	Path string
}

// Call sends req with files and waits for the response. Cancelling ctx
// abandons the request (the connection is closed; the sentry drops a
// Wait or Attach then). A response with Error set becomes an *Error.
func (c *Client) Call(ctx context.Context, req *Request, files ...*os.File) (*Response, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	closed := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// Shutdown wakes the blocked recvmsg; the descriptor is
			// closed below once Call returns.
			_ = unix.Shutdown(fd, unix.SHUT_RDWR)
		case <-done:
		}
		close(closed)
	}()
	defer func() {
		// done first: the watcher exits, then the descriptor closes.
		close(done)
		<-closed
		unix.Close(fd)
	}()
	if err := connect(fd, c.Path); err != nil {
		return nil, fmt.Errorf("sentry %s: connecting to %s: %w", req.Op, c.Path, err)
	}
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	if err := send(fd, req, fds); err != nil {
		return nil, fmt.Errorf("sentry %s: sending: %w", req.Op, err)
	}
	var resp Response
	got, err := recv(fd, &resp)
	for _, f := range got {
		f.Close() // responses carry no descriptors
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if err != nil {
		return nil, fmt.Errorf("sentry %s: %w", req.Op, err)
	}
	if resp.Error != "" {
		return &resp, &Error{Op: req.Op, Code: resp.Code, Message: resp.Error}
	}
	return &resp, nil
}

func connect(fd int, path string) error {
	addr, done, err := sockpath.Short(path)
	if err != nil {
		return err
	}
	defer done()
	sa := &unix.SockaddrUnix{Name: addr}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.Connect(fd, sa)
		// A full backlog answers EAGAIN on a unix socket: the sentry
		// is busy accepting; retry briefly.
		if err == unix.EINTR || (err == unix.EAGAIN && time.Now().Before(deadline)) {
			time.Sleep(time.Millisecond)
			continue
		}
		return err
	}
}

// Listen creates the listening control socket at path (removing a stale
// one) and returns its descriptor, for the daemon to hand to a sentry.
func Listen(path string) (*os.File, error) {
	_ = os.Remove(path)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	addr, done, err := sockpath.Short(path)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: addr})
	done()
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Listen(fd, 64); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Conn is the server's side of one request's connection.
type Conn struct {
	fd int
}

// Accept waits for the next request on the listening socket lfd and
// returns its connection, request and descriptors.
func Accept(lfd int) (*Conn, *Request, []*os.File, error) {
	var nfd int
	var err error
	for {
		nfd, _, err = unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		if err != unix.EINTR && err != unix.ECONNABORTED {
			break
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	c := &Conn{fd: nfd}
	var req Request
	files, err := recv(nfd, &req)
	if err != nil {
		unix.Close(nfd)
		// A broken request is that client's problem; the caller goes
		// on accepting.
		return nil, nil, nil, &BadRequestError{Err: err}
	}
	return c, &req, files, nil
}

// BadRequestError is Accept's error for a connection whose request could
// not be read; the listener is still fine.
type BadRequestError struct{ Err error }

func (e *BadRequestError) Error() string { return "bad control request: " + e.Err.Error() }
func (e *BadRequestError) Unwrap() error { return e.Err }

// Reply sends resp and closes the connection.
func (c *Conn) Reply(resp *Response) error {
	defer unix.Close(c.fd)
	return send(c.fd, resp, nil)
}

// Fail replies with an error.
func (c *Conn) Fail(code ErrorCode, format string, args ...any) error {
	return c.Reply(&Response{Code: code, Error: fmt.Sprintf(format, args...)})
}

// HungUp returns a channel closed when the client hangs up (or sends
// more data, which no request does), for long requests to notice an
// abandoned wait. It must be called at most once per connection.
func (c *Conn) HungUp() <-chan struct{} {
	ch := make(chan struct{})
	// Dup so that Reply closing fd cannot race with this poll reusing a
	// recycled descriptor number.
	dup, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		close(ch)
		return ch
	}
	go func() {
		defer close(ch)
		defer unix.Close(dup)
		fds := []unix.PollFd{{Fd: int32(dup), Events: unix.POLLIN | unix.POLLRDHUP}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == unix.EINTR {
				continue
			}
			return
		}
	}()
	return ch
}
