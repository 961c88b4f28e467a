package cri

// Resolving a container's user against the /etc/passwd and /etc/group
// of its image. The files are read from the image's layers (the
// overlayfs lower directories, topmost first) with the overlay rules
// (whiteouts, opaque directories), and every open goes through an
// os.Root per layer: a symlink is resolved inside the container's root
// as the kernel would resolve it there, never on the host.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/control"
)

const (
	// maxIDFile bounds how much of /etc/passwd or /etc/group is read.
	maxIDFile = 4 << 20
	// maxLinks bounds symlink resolution (the kernel's limit is 40).
	maxLinks = 40
	// opaqueXattr marks a directory that hides the layers below it
	// (image/unpack writes it for ".wh..wh..opq").
	opaqueXattr = "trusted.overlay.opaque"
)

// errNoFile is readLayered's error for a path the union does not have.
var errNoFile = errors.New("no such file in the container's root")

// readLayered reads the regular file at name (absolute, in the
// container's root) from the union of layers (topmost first).
func readLayered(layers []string, name string) ([]byte, error) {
	roots := make([]*os.Root, 0, len(layers))
	defer func() {
		for _, r := range roots {
			r.Close()
		}
	}()
	for _, l := range layers {
		r, err := os.OpenRoot(l)
		if err != nil {
			return nil, err
		}
		roots = append(roots, r)
	}
	p := path.Clean("/" + name)
	for range maxLinks {
		found, target, err := lookupLayered(roots, p)
		if err != nil {
			return nil, err
		}
		if target == "" {
			f, err := found.Open(strings.TrimPrefix(p, "/"))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return nil, err
			}
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%s is not a regular file", p)
			}
			return io.ReadAll(io.LimitReader(f, maxIDFile))
		}
		// A symlink: resolve its target inside the container's root
		// (path.Join of "/" and ".." stays at "/", as at a chroot's
		// root), then look that up in the union again.
		if path.IsAbs(target) {
			p = path.Clean(target)
		} else {
			p = path.Join(path.Dir(p), target)
		}
	}
	return nil, fmt.Errorf("%s: too many levels of symbolic links", name)
}

// lookupLayered finds p in the union: the root of the topmost layer
// that has it, or the symlink target when it is a symlink there.
func lookupLayered(roots []*os.Root, p string) (*os.Root, string, error) {
	rel := strings.TrimPrefix(p, "/")
	for _, r := range roots {
		fi, err := r.Lstat(rel)
		if err == nil {
			switch {
			case isWhiteout(fi):
				return nil, "", errNoFile
			case fi.Mode()&fs.ModeSymlink != 0:
				t, err := r.Readlink(rel)
				if err != nil {
					return nil, "", err
				}
				return r, t, nil
			case fi.Mode().IsRegular():
				return r, "", nil
			}
			return nil, "", fmt.Errorf("%s is not a regular file", p)
		}
		// Not here (or not reachable inside this layer): the layers
		// below count only if no directory on the way is a whiteout,
		// a file, or opaque in this layer.
		if hidesBelow(r, rel) {
			return nil, "", errNoFile
		}
	}
	return nil, "", errNoFile
}

// hidesBelow reports whether layer r hides rel in the layers below it:
// one of rel's parent directories is whited out, is not a directory, or
// is an opaque directory.
func hidesBelow(r *os.Root, rel string) bool {
	dir := ""
	for _, c := range strings.Split(path.Dir(rel), "/") {
		if c == "." || c == "" {
			break
		}
		dir = path.Join(dir, c)
		fi, err := r.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return false
		}
		if err != nil {
			return false
		}
		if !fi.IsDir() {
			// A whiteout, a file, or a symlink (which the union would
			// follow; this lookup does not, and treats it as hiding).
			return true
		}
		if isOpaque(r, dir) {
			return true
		}
	}
	return false
}

// isWhiteout reports whether fi is an overlayfs whiteout (a character
// device 0/0).
func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// isOpaque reports whether the directory dir of r is marked opaque.
func isOpaque(r *os.Root, dir string) bool {
	f, err := r.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	var buf [1]byte
	n, err := unix.Fgetxattr(int(f.Fd()), opaqueXattr, buf[:])
	return err == nil && n == 1 && buf[0] == 'y'
}

// passwdEntry is a line of /etc/passwd.
type passwdEntry struct {
	name     string
	uid, gid uint32
}

// groupEntry is a line of /etc/group.
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// parsePasswd parses /etc/passwd; malformed lines are skipped, as libc
// does.
func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxIDFile)
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) < 4 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)})
	}
	return out
}

// parseGroup parses /etc/group; malformed lines are skipped.
func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxIDFile)
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) < 3 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		g := groupEntry{name: f[0], gid: uint32(gid)}
		if len(f) > 3 && f[3] != "" {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					g.members = append(g.members, m)
				}
			}
		}
		out = append(out, g)
	}
	return out
}

// resolveUser turns u into IDs, looking names up in the image's
// /etc/passwd and /etc/group (read from layers only when needed). A
// numeric user takes its primary group from /etc/passwd when listed
// there (0 otherwise); a name must be listed. Additional groups are the
// primary group, the groups that list the user as a member (unless
// strict, CRI's SupplementalGroupsPolicy Strict), then extra.
func resolveUser(layers []string, u userSpec, extra []int64, strict bool) (control.User, error) {
	var out control.User
	var passwd []passwdEntry
	var groups []groupEntry
	var passwdErr, groupErr error
	passwdRead, groupRead := false, false
	readPasswd := func() ([]passwdEntry, error) {
		if !passwdRead {
			passwdRead = true
			b, err := readLayered(layers, "/etc/passwd")
			if err != nil && !errors.Is(err, errNoFile) && !errors.Is(err, fs.ErrNotExist) {
				passwdErr = fmt.Errorf("reading /etc/passwd: %w", err)
			}
			passwd = parsePasswd(b)
		}
		return passwd, passwdErr
	}
	readGroup := func() ([]groupEntry, error) {
		if !groupRead {
			groupRead = true
			b, err := readLayered(layers, "/etc/group")
			if err != nil && !errors.Is(err, errNoFile) && !errors.Is(err, fs.ErrNotExist) {
				groupErr = fmt.Errorf("reading /etc/group: %w", err)
			}
			groups = parseGroup(b)
		}
		return groups, groupErr
	}

	username := ""
	user := u.user
	if user == "" {
		user = "0"
	}
	if n, err := strconv.ParseUint(user, 10, 32); err == nil {
		out.UID = uint32(n)
		pw, err := readPasswd()
		if err != nil {
			return out, err
		}
		for _, e := range pw {
			if e.uid == out.UID {
				username, out.GID = e.name, e.gid
				break
			}
		}
	} else {
		pw, err := readPasswd()
		if err != nil {
			return out, err
		}
		i := slices.IndexFunc(pw, func(e passwdEntry) bool { return e.name == user })
		if i < 0 {
			return out, fmt.Errorf("user %q is not in the image's /etc/passwd", trunc(user))
		}
		username, out.UID, out.GID = pw[i].name, pw[i].uid, pw[i].gid
	}

	if u.group != "" {
		if n, err := strconv.ParseUint(u.group, 10, 32); err == nil {
			out.GID = uint32(n)
		} else {
			gr, err := readGroup()
			if err != nil {
				return out, err
			}
			i := slices.IndexFunc(gr, func(g groupEntry) bool { return g.name == u.group })
			if i < 0 {
				return out, fmt.Errorf("group %q is not in the image's /etc/group", trunc(u.group))
			}
			out.GID = gr[i].gid
		}
	}

	add := func(g uint32) {
		if !slices.Contains(out.AdditionalGIDs, g) {
			out.AdditionalGIDs = append(out.AdditionalGIDs, g)
		}
	}
	add(out.GID)
	if username != "" && !strict {
		gr, err := readGroup()
		if err != nil {
			return out, err
		}
		for _, g := range gr {
			if slices.Contains(g.members, username) {
				add(g.gid)
			}
		}
	}
	for _, g := range extra {
		if g < 0 || g > 1<<32-2 {
			return out, fmt.Errorf("supplemental group %d is out of range", g)
		}
		add(uint32(g))
	}
	return out, nil
}
