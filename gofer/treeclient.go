package gofer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/internal/sockpath"
)

// This file is the daemon's side of the tree socket (treesocket.go).

// ListenTreeSocket creates a listening SOCK_SEQPACKET unix socket at path
// for a gofer's --tree-socket, replacing a stale socket file left there by
// an earlier gofer (but refusing to remove anything else). The socket file
// is mode 0600: only root, the daemon, can connect. The returned file is
// close-on-exec; pass it to the gofer as an extra file and close it here.
// The path stays bound as long as the gofer holds the socket, which
// cannot remove the file once confined; the daemon removes it when the pod
// is gone.
func ListenTreeSocket(path string) (*os.File, error) {
	var st unix.Stat_t
	switch err := unix.Lstat(path, &st); {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK:
		if err := unix.Unlink(path); err != nil && err != unix.ENOENT {
			return nil, fmt.Errorf("gofer: removing stale tree socket %s: %w", path, err)
		}
	case err == nil:
		return nil, fmt.Errorf("gofer: tree socket path %s exists and is not a socket", path)
	case err != unix.ENOENT:
		return nil, fmt.Errorf("gofer: tree socket path %s: %w", path, err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("gofer: tree socket: %w", err)
	}
	// bind(2) creates the file with the socket inode's mode less the
	// umask, so setting the mode first leaves no moment in which the
	// file is more open than 0600; the chmod below then undoes a umask
	// that took more than group and other bits.
	if err := unix.Fchmod(fd, 0o600); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: tree socket: fchmod: %w", err)
	}
	addr, done, err := sockpath.Short(path)
	if err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: tree socket: %w", err)
	}
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: addr})
	done()
	if err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("gofer: binding tree socket %s: %w", path, err)
	}
	fail := func(what string, err error) (*os.File, error) {
		_ = unix.Close(fd)
		_ = unix.Unlink(path)
		return nil, fmt.Errorf("gofer: tree socket %s: %s: %w", path, what, err)
	}
	if err := unix.Chmod(path, 0o600); err != nil {
		return fail("chmod", err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		return fail("listen", err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// AddTree asks the gofer whose tree socket is at socketPath to serve the
// directory dir as the tree name (1 to 128 characters of [A-Za-z0-9_.-]),
// read-only if readOnly. The sentry then attaches it by name.
//
// It does not send dir itself but a detached clone of its mount tree
// (open_tree(2) with OPEN_TREE_CLONE|AT_RECURSIVE) marked nodev and nosuid,
// and read-only when readOnly, recursively and with private propagation,
// as the gofer's static trees are mounted; the gofer refuses a mount that
// is not nodev,nosuid. That needs root (CAP_SYS_ADMIN), Linux 5.12 or later
// (mount_setattr), and dir on a mount of the caller's own mount namespace.
// dir stays the caller's.
func AddTree(ctx context.Context, socketPath, name string, dir *os.File, readOnly bool) error {
	if err := checkTreeName(name); err != nil {
		return fmt.Errorf("gofer: add tree: %w", err)
	}
	raw, err := dir.SyscallConn()
	if err != nil {
		return fmt.Errorf("gofer: add tree %q: %w", name, err)
	}
	mfd := -1
	var cerr error
	if err := raw.Control(func(fd uintptr) { mfd, cerr = cloneTreeMount(int(fd), readOnly) }); err != nil {
		return fmt.Errorf("gofer: add tree %q: %w", name, err)
	}
	if cerr != nil {
		return fmt.Errorf("gofer: add tree %q from %s: %w", name, dir.Name(), cerr)
	}
	defer unix.Close(mfd)
	return treeCall(ctx, socketPath, &treeRequest{Op: "add", Name: name, ReadOnly: readOnly}, mfd)
}

// RemoveTree asks the gofer whose tree socket is at socketPath to stop
// serving the tree name. Files of it the sentry holds stay usable until
// it closes them.
func RemoveTree(ctx context.Context, socketPath, name string) error {
	if err := checkTreeName(name); err != nil {
		return fmt.Errorf("gofer: remove tree: %w", err)
	}
	return treeCall(ctx, socketPath, &treeRequest{Op: "remove", Name: name}, -1)
}

// cloneTreeMount returns a detached clone of the mount tree at dirFD, as
// AddTree describes.
func cloneTreeMount(dirFD int, readOnly bool) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(dirFD, &st); err != nil {
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return -1, unix.ENOTDIR
	}
	fd, err := unix.OpenTree(dirFD, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH)
	if err != nil {
		if err == unix.ENOSYS {
			return -1, errors.New("cloning the mount: open_tree is unavailable (Linux before 5.2)")
		}
		return -1, fmt.Errorf("cloning the mount: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID, Propagation: unix.MS_PRIVATE}
	if readOnly {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		_ = unix.Close(fd)
		if err == unix.ENOSYS {
			return -1, errors.New("setting mount flags: mount_setattr is unavailable (Linux before 5.12)")
		}
		return -1, fmt.Errorf("setting mount flags: %w", err)
	}
	return fd, nil
}

// treeCall sends req, with fd attached when it is not negative, over a new
// connection to the tree socket at socketPath and returns the gofer's
// verdict.
func treeCall(ctx context.Context, socketPath string, req *treeRequest, fd int) error {
	fail := func(err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return fmt.Errorf("gofer: %s tree %q: %w", req.Op, req.Name, err)
	}
	addr, done, err := sockpath.Short(socketPath)
	if err != nil {
		return fail(err)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixpacket", addr)
	done()
	if err != nil {
		return fail(err)
	}
	conn := c.(*net.UnixConn)
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancellation wakes a blocked write or read.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	payload, err := json.Marshal(req)
	if err != nil {
		return fail(err)
	}
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	if _, _, err := conn.WriteMsgUnix(payload, oob, nil); err != nil {
		return fail(err)
	}
	buf := make([]byte, maxTreeRequest)
	n, _, flags, _, err := conn.ReadMsgUnix(buf, nil)
	switch {
	case err != nil:
		return fail(err)
	case n == 0:
		return fail(errors.New("the gofer closed the connection without a reply"))
	case flags&unix.MSG_TRUNC != 0:
		return fail(errors.New("reply too long"))
	}
	var rep treeReply
	if err := json.Unmarshal(buf[:n], &rep); err != nil {
		return fail(fmt.Errorf("bad reply: %w", err))
	}
	if rep.Error != "" {
		return fail(errors.New(rep.Error))
	}
	return nil
}
