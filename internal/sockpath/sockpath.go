// Package sockpath lets unix sockets live at paths longer than sun_path
// (108 bytes, counting the terminating NUL): the daemon's per-pod
// sockets sit under a configurable run directory followed by a 64-digit
// pod ID, which a deep run_dir pushes past the limit.
package sockpath

import (
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxPath is the longest path a sockaddr_un holds with its NUL.
const maxPath = len(unix.RawSockaddrUnix{}.Path) - 1

// Short returns an address for path that fits a sockaddr_un, and a
// function to call once the address has been used (bound or connected).
// A path that fits is returned as it is; a longer one is reached through
// an O_PATH descriptor of its directory, as /proc/self/fd/N/NAME, which
// the kernel resolves like any path when binding or connecting.
func Short(path string) (string, func(), error) {
	if len(path) <= maxPath {
		return path, func() {}, nil
	}
	dir, name := filepath.Split(path)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("socket path %s: opening its directory: %w", path, err)
	}
	short := "/proc/self/fd/" + strconv.Itoa(fd) + "/" + name
	if len(short) > maxPath {
		unix.Close(fd)
		return "", nil, fmt.Errorf("socket path %s: the name %q alone is too long for a unix socket", path, name)
	}
	return short, func() { unix.Close(fd) }, nil
}
