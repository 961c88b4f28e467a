// Package unpack applies image layers to snapshot directories safely.
//
// A layer is an uncompressed OCI/Docker tar stream. Apply extracts it into
// its own, initially empty directory, which later becomes one lower
// directory of an overlayfs mount stacked over the parent layers'
// directories (containerd's overlay snapshotter model). Whiteouts are
// therefore stored in overlayfs format: ".wh.NAME" becomes a character
// device 0/0 named NAME and ".wh..wh..opq" sets trusted.overlay.opaque="y"
// on its directory, so the kernel applies them when the layers are stacked.
//
// The layer is hostile input. Every entry is resolved relative to a
// directory file descriptor of dir: names are cleaned lexically and refused
// if they would leave dir, parent directories are opened with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|
// RESOLVE_NO_XDEV) (or a component walk with O_NOFOLLOW where openat2 is
// missing), and the final component is created with *at system calls on
// that parent descriptor without following symlinks. A symlink created by
// the layer is stored as is and never traversed while unpacking.
package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Limits on a single entry.
const (
	// MaxNameLen is the longest entry name or link target accepted.
	MaxNameLen = 4096
	// MaxPAXHeader is the largest PAX extended header accepted. The
	// archive/tar reader enforces this bound itself (it refuses PAX and
	// GNU long-name headers over 1 MiB with tar.ErrFieldTooLong); the
	// constant documents it.
	MaxPAXHeader = 1 << 20
	// MaxSparseHoles bounds how many bytes the sparse files of one layer
	// may add beyond the size of the layer's tar stream. archive/tar
	// expands a sparse entry's holes into zeros that must be read, so a
	// few kilobytes of tar can describe exabytes of file; without a bound
	// such a layer keeps the unpacker busy for ever. Docker and BuildKit
	// never write sparse entries.
	MaxSparseHoles = 4 << 30
)

// Overlayfs whiteout conventions.
const (
	whiteoutPrefix   = ".wh."
	whiteoutMeta     = ".wh..wh."
	whiteoutOpaque   = ".wh..wh..opq"
	opaqueXattr      = "trusted.overlay.opaque"
	paxXattrPrefix   = "SCHILY.xattr."
	copyBufferSize   = 128 << 10
	ctxCheckInterval = 8 << 20
)

// ErrEscape is wrapped by the errors returned for entries that would
// write, link or resolve outside the layer directory.
var ErrEscape = errors.New("escapes the layer")

// EntryError reports the tar entry that could not be applied.
type EntryError struct {
	// Name is the entry name as it appears in the tar stream.
	Name string
	// Err is the reason.
	Err error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("unpack: layer entry %q: %v", e.Name, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

// Stats describe an applied layer.
type Stats struct {
	// Size is the bytes of file data written (the logical sizes of the
	// regular files; runs of zeros are stored as holes).
	Size int64
	// Entries is the number of tar entries applied: files, directories,
	// links, FIFOs, whiteouts and opaque markers. Skipped and ignored
	// entries are not counted.
	Entries int
	// Whiteouts is the number of overlayfs whiteouts (character devices
	// 0/0) created, from ".wh.NAME" entries or from character device 0/0
	// entries.
	Whiteouts int
	// Opaques is the number of directories marked opaque by a
	// ".wh..wh..opq" entry.
	Opaques int
	// SkippedDevices is the number of character and block device entries
	// that were not created.
	SkippedDevices int
	// Ignored is the number of entries with no effect: other ".wh..wh.*"
	// names (aufs metadata such as ".wh..wh..plnk") and PAX global headers.
	Ignored int
	// DroppedXattrs is the number of extended attributes not applied:
	// overlay metadata (trusted.overlay.*, user.overlay.*), namespaces
	// outside user.*, trusted.* and security.capability, and attributes
	// the file system or file type does not support.
	DroppedXattrs int
}

// Options tune ApplyWith.
type Options struct {
	// NoSameOwner leaves files owned by the calling process instead of
	// the uid/gid recorded in the layer (for unprivileged callers such as
	// tests; the daemon, which runs as root, keeps ownership).
	NoSameOwner bool
	// MaxSparseHoles overrides the package's MaxSparseHoles when positive.
	MaxSparseHoles int64
}

// Apply extracts the uncompressed tar stream r into dir, an empty
// directory that becomes the layer's snapshot (an overlayfs lower
// directory stacked over its parents' snapshots).
//
// On error, dir is left partially populated and must be discarded by the
// caller; nothing outside dir has been modified.
func Apply(ctx context.Context, dir string, r io.Reader) (Stats, error) {
	return ApplyWith(ctx, dir, r, Options{})
}

// ApplyWith is Apply with options.
func ApplyWith(ctx context.Context, dir string, r io.Reader, opts Options) (Stats, error) {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stats{}, fmt.Errorf("unpack: open layer dir %s: %w", dir, err)
	}
	a := &applier{
		root:     root,
		opts:     opts,
		cacheFd:  -1,
		dirTimes: map[string][]unix.Timespec{},
		buf:      make([]byte, copyBufferSize),
	}
	defer a.close()

	a.maxHoles = MaxSparseHoles
	if opts.MaxSparseHoles > 0 {
		a.maxHoles = opts.MaxSparseHoles
	}
	a.in = &countingReader{r: r}
	tr := tar.NewReader(a.in)
	for {
		if err := ctx.Err(); err != nil {
			return a.stats, fmt.Errorf("unpack: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, tar.ErrInsecurePath) {
			// GODEBUG=tarinsecurepath=0: our own checks decide.
			err = nil
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return a.stats, fmt.Errorf("unpack: read layer: %w", err)
		}
		if err := a.apply(ctx, hdr, tr); err != nil {
			var ee *EntryError
			if errors.As(err, &ee) {
				return a.stats, err
			}
			return a.stats, &EntryError{Name: hdr.Name, Err: err}
		}
	}
	if err := a.finishDirTimes(); err != nil {
		return a.stats, err
	}
	return a.stats, nil
}

type applier struct {
	root  int
	opts  Options
	stats Stats
	buf   []byte

	// A one-entry cache of the last parent directory opened; consecutive
	// entries usually share their parent. Invalidated whenever a
	// directory is removed.
	cachePath string
	cacheFd   int

	// Directory times are applied at the end, after all entries inside
	// them were created. Keyed by cleaned relative path ("" is dir).
	dirTimes map[string][]unix.Timespec
	dirOrder []string

	// in counts the bytes of the tar stream read, and data the bytes of
	// file data extracted from it, so that copyData can tell holes of
	// sparse files from data the stream holds; maxHoles bounds the
	// difference.
	in       *countingReader
	data     int64
	maxHoles int64
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (a *applier) close() {
	a.dropCache()
	unix.Close(a.root)
}

func (a *applier) dropCache() {
	if a.cacheFd >= 0 {
		unix.Close(a.cacheFd)
	}
	a.cacheFd = -1
	a.cachePath = ""
}

// cleanName turns an entry name into a path relative to the layer root.
// A leading "/" is dropped (names are relative to the layer's root), "."
// components and empty components are dropped, ".." removes the previous
// component. A name whose ".." would go above the root is refused rather
// than clamped. The root itself is "".
func cleanName(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	if len(name) > MaxNameLen {
		return "", fmt.Errorf("name is %d bytes, over the limit of %d", len(name), MaxNameLen)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("name contains a NUL byte")
	}
	var parts []string
	for c := range strings.SplitSeq(name, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(parts) == 0 {
				return "", ErrEscape
			}
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, "/"), nil
}

func splitRel(rel string) (dir, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

func (a *applier) apply(ctx context.Context, hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		a.stats.Ignored++
		return nil
	}
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if len(hdr.Linkname) > MaxNameLen {
		return fmt.Errorf("link target is %d bytes, over the limit of %d", len(hdr.Linkname), MaxNameLen)
	}
	if strings.IndexByte(hdr.Linkname, 0) >= 0 {
		return errors.New("link target contains a NUL byte")
	}
	dirRel, base := splitRel(rel)

	// Whiteouts, whatever the entry type (as docker and containerd do).
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteoutEntry(hdr, dirRel, base)
	}

	if rel == "" {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the layer root can only be a directory")
		}
		return a.rootDir(hdr)
	}

	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		return a.regular(ctx, hdr, r, rel, dirRel, base)
	case tar.TypeDir:
		return a.directory(hdr, rel, dirRel, base)
	case tar.TypeSymlink:
		return a.symlink(hdr, rel, dirRel, base)
	case tar.TypeLink:
		return a.hardlink(hdr, rel, dirRel, base)
	case tar.TypeFifo:
		return a.fifo(hdr, rel, dirRel, base)
	case tar.TypeChar:
		if hdr.Devmajor == 0 && hdr.Devminor == 0 {
			// Already an overlayfs whiteout; same effect as ".wh.NAME".
			return a.whiteout(hdr, rel, dirRel, base)
		}
		a.stats.SkippedDevices++
		return nil
	case tar.TypeBlock:
		a.stats.SkippedDevices++
		return nil
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
}

func (a *applier) whiteoutEntry(hdr *tar.Header, dirRel, base string) error {
	if base == whiteoutOpaque {
		pfd, err := a.openDir(dirRel)
		if err != nil {
			return err
		}
		if err := unix.Fsetxattr(pfd, opaqueXattr, []byte{'y'}, 0); err != nil {
			return fmt.Errorf("mark directory opaque: %w", err)
		}
		a.stats.Opaques++
		a.stats.Entries++
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		a.stats.Ignored++
		return nil
	}
	name := base[len(whiteoutPrefix):]
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("invalid whiteout name %q", base)
	}
	return a.whiteout(hdr, path.Join(dirRel, name), dirRel, name)
}

func (a *applier) whiteout(hdr *tar.Header, rel, dirRel, base string) error {
	pfd, err := a.prepare(rel, dirRel, base)
	if err != nil {
		return err
	}
	if err := unix.Mknodat(pfd, base, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("create whiteout: %w", err)
	}
	if err := a.lchown(pfd, base, hdr); err != nil {
		return err
	}
	a.stats.Whiteouts++
	a.stats.Entries++
	return nil
}

// prepare opens the parent of rel and removes whatever exists at rel in
// this layer (a directory with its contents, never following symlinks) so
// that a new entry can be created there. It returns the parent's
// descriptor, which belongs to the applier.
func (a *applier) prepare(rel, dirRel, base string) (int, error) {
	fd, _, err := a.prepareDir(rel, dirRel, base, false)
	return fd, err
}

// prepareDir is prepare; with keepDir an existing directory is kept (a
// directory entry updates it in place) and isDir reports it.
func (a *applier) prepareDir(rel, dirRel, base string, keepDir bool) (pfd int, isDir bool, err error) {
	pfd, err = a.openDir(dirRel)
	if err != nil {
		return -1, false, err
	}
	var st unix.Stat_t
	err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return pfd, false, nil
	}
	if err != nil {
		return -1, false, fmt.Errorf("stat existing entry: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if keepDir {
			return pfd, true, nil
		}
		if err := removeAllAt(pfd, base); err != nil {
			return -1, false, fmt.Errorf("replace existing directory: %w", err)
		}
		// pfd (the parent, dirRel) is neither rel nor below it, so it
		// survives the invalidation.
		a.forgetDir(rel)
		return pfd, false, nil
	}
	if err := unix.Unlinkat(pfd, base, 0); err != nil {
		return -1, false, fmt.Errorf("replace existing entry: %w", err)
	}
	return pfd, false, nil
}

// forgetDir drops cached state about the directory rel and everything
// below it after it was removed.
func (a *applier) forgetDir(rel string) {
	if a.cachePath == rel || strings.HasPrefix(a.cachePath, rel+"/") {
		a.dropCache()
	}
	prefix := rel + "/"
	delete(a.dirTimes, rel)
	for k := range a.dirTimes {
		if strings.HasPrefix(k, prefix) {
			delete(a.dirTimes, k)
		}
	}
}

func (a *applier) regular(ctx context.Context, hdr *tar.Header, r io.Reader, rel, dirRel, base string) error {
	pfd, err := a.prepare(rel, dirRel, base)
	if err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	defer unix.Close(fd)
	n, err := a.copyData(ctx, fd, r)
	if err != nil {
		return err
	}
	if n != hdr.Size {
		return fmt.Errorf("file data truncated: %d of %d bytes", n, hdr.Size)
	}
	a.stats.Size += n
	if !a.opts.NoSameOwner {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	// After chown, which clears security.capability.
	if err := a.setXattrs(hdr, func(k string, v []byte) error { return unix.Fsetxattr(fd, k, v, 0) }, true); err != nil {
		return err
	}
	// After chown, which clears setuid/setgid.
	if err := unix.Fchmod(fd, tarMode(hdr)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := unix.UtimesNanoAt(pfd, base, times(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	a.stats.Entries++
	return nil
}

// copyData writes the entry's data to fd, leaving holes for runs of zeros
// (so sparse files stay sparse), and returns the number of bytes read.
func (a *applier) copyData(ctx context.Context, fd int, r io.Reader) (int64, error) {
	var off int64
	var sinceCheck int
	hole := false
	for {
		n, err := fill(r, a.buf)
		if n > 0 {
			chunk := a.buf[:n]
			if isZero(chunk) {
				hole = true
			} else {
				hole = false
				for w := 0; w < len(chunk); {
					m, werr := unix.Pwrite(fd, chunk[w:], off+int64(w))
					if werr == unix.EINTR {
						continue
					}
					if werr != nil {
						return off, fmt.Errorf("write file data: %w", werr)
					}
					if m == 0 {
						return off, fmt.Errorf("write file data: %w", io.ErrShortWrite)
					}
					w += m
				}
			}
			off += int64(n)
			a.data += int64(n)
			if a.data > a.in.n+a.maxHoles {
				return off, fmt.Errorf("sparse files add more than %d bytes of holes to the layer", a.maxHoles)
			}
			sinceCheck += n
			if sinceCheck >= ctxCheckInterval {
				sinceCheck = 0
				if err := ctx.Err(); err != nil {
					return off, err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return off, fmt.Errorf("read file data: %w", err)
		}
	}
	if hole {
		if err := unix.Ftruncate(fd, off); err != nil {
			return off, fmt.Errorf("extend sparse file: %w", err)
		}
	}
	return off, nil
}

// fill reads into buf until it is full or r fails; unlike io.ReadFull it
// passes io.ErrUnexpectedEOF (a truncated stream) through as is.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// zeros is compared against, never written: as an array it lies in the
// binary's zero-filled data, costing no process memory until read, where
// a slice made at init would be heap in every cocoon process.
var zeros [copyBufferSize]byte

func isZero(b []byte) bool { return bytes.Equal(b, zeros[:len(b)]) }

func (a *applier) directory(hdr *tar.Header, rel, dirRel, base string) error {
	pfd, exists, err := a.prepareDir(rel, dirRel, base, true)
	if err != nil {
		return err
	}
	if !exists {
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	}
	fd, err := openBeneath(pfd, base)
	if err != nil {
		return resolveErr(err)
	}
	defer unix.Close(fd)
	if err := a.dirMeta(fd, hdr); err != nil {
		return err
	}
	a.deferTimes(rel, hdr)
	a.stats.Entries++
	return nil
}

func (a *applier) rootDir(hdr *tar.Header) error {
	if err := a.dirMeta(a.root, hdr); err != nil {
		return err
	}
	a.deferTimes("", hdr)
	a.stats.Entries++
	return nil
}

func (a *applier) dirMeta(fd int, hdr *tar.Header) error {
	if !a.opts.NoSameOwner {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := a.setXattrs(hdr, func(k string, v []byte) error { return unix.Fsetxattr(fd, k, v, 0) }, true); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, tarMode(hdr)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
}

func (a *applier) deferTimes(rel string, hdr *tar.Header) {
	if _, ok := a.dirTimes[rel]; !ok {
		a.dirOrder = append(a.dirOrder, rel)
	}
	a.dirTimes[rel] = times(hdr)
}

func (a *applier) finishDirTimes() error {
	for _, rel := range a.dirOrder {
		ts, ok := a.dirTimes[rel]
		if !ok {
			continue // removed by a later entry
		}
		if err := a.setDirTimes(rel, ts); err != nil {
			return &EntryError{Name: rel, Err: fmt.Errorf("set directory times: %w", err)}
		}
	}
	return nil
}

func (a *applier) setDirTimes(rel string, ts []unix.Timespec) error {
	if rel == "" {
		return unix.UtimesNanoAt(a.root, ".", ts, 0)
	}
	dirRel, base := splitRel(rel)
	pfd := a.root
	if dirRel != "" {
		var err error
		pfd, err = openBeneath(a.root, dirRel)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return nil // a parent was replaced by a later entry
		}
		if err != nil {
			return resolveErr(err)
		}
		defer unix.Close(pfd)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil // replaced by a later non-directory entry
	}
	return unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func (a *applier) symlink(hdr *tar.Header, rel, dirRel, base string) error {
	if hdr.Linkname == "" {
		return errors.New("symlink with an empty target")
	}
	pfd, err := a.prepare(rel, dirRel, base)
	if err != nil {
		return err
	}
	// The target is stored verbatim and never followed here; the sandbox
	// resolves it inside its own root.
	if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	if err := a.finishSpecial(hdr, pfd, base, false); err != nil {
		return err
	}
	a.stats.Entries++
	return nil
}

func (a *applier) fifo(hdr *tar.Header, rel, dirRel, base string) error {
	pfd, err := a.prepare(rel, dirRel, base)
	if err != nil {
		return err
	}
	if err := unix.Mknodat(pfd, base, unix.S_IFIFO|0o600, 0); err != nil {
		return fmt.Errorf("create fifo: %w", err)
	}
	if err := a.finishSpecial(hdr, pfd, base, true); err != nil {
		return err
	}
	a.stats.Entries++
	return nil
}

// finishSpecial sets owner, xattrs, mode and times of a non-regular,
// non-directory entry that cannot be opened for writing, addressing it
// by name relative to its parent without following it.
func (a *applier) finishSpecial(hdr *tar.Header, pfd int, base string, chmod bool) error {
	if err := a.lchown(pfd, base, hdr); err != nil {
		return err
	}
	if hasXattrs(hdr) {
		// No *at xattr call before Linux 6.13: go through the parent's
		// descriptor in /proc; only the last component (not followed)
		// is looked up by name.
		p := "/proc/self/fd/" + strconv.Itoa(pfd) + "/" + base
		if err := a.setXattrs(hdr, func(k string, v []byte) error { return unix.Lsetxattr(p, k, v, 0) }, false); err != nil {
			return err
		}
	}
	if chmod {
		// The entry was just created by us in a directory reached
		// without symlinks and is not a symlink.
		if err := unix.Fchmodat(pfd, base, tarMode(hdr), 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := unix.UtimesNanoAt(pfd, base, times(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func (a *applier) lchown(pfd int, base string, hdr *tar.Header) error {
	if a.opts.NoSameOwner {
		return nil
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

func (a *applier) hardlink(hdr *tar.Header, rel, dirRel, base string) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if target == "" {
		return fmt.Errorf("hard link target %q is the layer root", hdr.Linkname)
	}
	if target == rel {
		// A link to itself changes nothing.
		a.stats.Entries++
		return nil
	}
	pfd, err := a.prepare(rel, dirRel, base)
	if err != nil {
		return err
	}
	tDir, tBase := splitRel(target)
	tfd := a.root
	if tDir != "" {
		if tDir == dirRel {
			tfd = pfd
		} else {
			tfd, err = openDirBeneath(a.root, tDir)
			if err != nil {
				return fmt.Errorf("hard link target %q: %w", hdr.Linkname, resolveErr(err))
			}
			defer unix.Close(tfd)
		}
	}
	// Flags 0: a symlink target is linked itself, never followed.
	if err := unix.Linkat(tfd, tBase, pfd, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	a.stats.Entries++
	return nil
}

// openDir returns a descriptor of the directory rel (relative to the
// layer root), creating missing directories with mode 0755. The
// descriptor belongs to the applier; callers must not close it.
func (a *applier) openDir(rel string) (int, error) {
	if rel == "" {
		return a.root, nil
	}
	if a.cacheFd >= 0 && a.cachePath == rel {
		return a.cacheFd, nil
	}
	fd, err := openDirBeneath(a.root, rel)
	if errors.Is(err, unix.ENOENT) {
		fd, err = a.mkdirAll(rel)
	}
	if err != nil {
		return -1, resolveErr(err)
	}
	a.dropCache()
	a.cacheFd, a.cachePath = fd, rel
	return fd, nil
}

func (a *applier) mkdirAll(rel string) (int, error) {
	cur := a.root
	closeCur := func() {
		if cur != a.root {
			unix.Close(cur)
		}
	}
	for c := range strings.SplitSeq(rel, "/") {
		fd, err := openDirBeneath(cur, c)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(cur, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				closeCur()
				return -1, err
			}
			fd, err = openDirBeneath(cur, c)
			if err == nil {
				// Independent of the umask.
				err = unix.Fchmod(fd, 0o755)
				if err != nil {
					unix.Close(fd)
				}
			}
		}
		closeCur()
		if err != nil {
			return -1, err
		}
		cur = fd
	}
	return cur, nil
}

var noOpenat2 atomic.Bool

var errThroughSymlink = errors.New("path goes through a symlink")

// openDirBeneath is openBeneath with ENOTDIR refined: opening a symlink
// with O_DIRECTORY|O_NOFOLLOW fails with ENOTDIR, which is reported as
// errThroughSymlink when a component of rel is a symlink.
func openDirBeneath(dirfd int, rel string) (int, error) {
	fd, err := openBeneath(dirfd, rel)
	if errors.Is(err, unix.ENOTDIR) && hasSymlink(dirfd, rel) {
		return -1, errThroughSymlink
	}
	return fd, err
}

// hasSymlink reports whether a component of rel below dirfd is a symlink,
// checking each component without following it. Only used to explain an
// error.
func hasSymlink(dirfd int, rel string) bool {
	cur := dirfd
	defer func() {
		if cur != dirfd {
			unix.Close(cur)
		}
	}()
	for c := range strings.SplitSeq(rel, "/") {
		var st unix.Stat_t
		if unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			return false
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			return true
		case unix.S_IFDIR:
		default:
			return false
		}
		fd, err := openBeneath(cur, c)
		if err != nil {
			return false
		}
		if cur != dirfd {
			unix.Close(cur)
		}
		cur = fd
	}
	return false
}

// openBeneath opens the directory rel below dirfd without following any
// symlink and without leaving dirfd.
func openBeneath(dirfd int, rel string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if !noOpenat2.Load() {
		how := &unix.OpenHow{
			Flags:   flags,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
		}
		for {
			fd, err := unix.Openat2(dirfd, rel, how)
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			if err == unix.ENOSYS {
				break
			}
			return fd, err
		}
		noOpenat2.Store(true)
	}
	// Component walk: every component is a plain name (never "." or
	// ".."), opened with O_NOFOLLOW, so a symlink fails with ELOOP.
	cur := dirfd
	for c := range strings.SplitSeq(rel, "/") {
		if c == "" || c == "." || c == ".." {
			if cur != dirfd {
				unix.Close(cur)
			}
			return -1, unix.EXDEV
		}
		fd, err := unix.Openat(cur, c, flags, 0)
		if cur != dirfd {
			unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur = fd
	}
	if cur == dirfd {
		return unix.Dup(dirfd)
	}
	return cur, nil
}

// resolveErr explains a failure to open a parent directory.
func resolveErr(err error) error {
	switch {
	case errors.Is(err, errThroughSymlink):
		return fmt.Errorf("%w: path goes through a symlink", ErrEscape)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%w: path goes through a symlink", ErrEscape)
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%w: path leaves the layer directory", ErrEscape)
	case errors.Is(err, unix.ENOTDIR):
		return errors.New("a parent is not a directory")
	}
	return err
}

// removeAllAt removes name below dirfd and, if it is a directory,
// everything in it, without following symlinks.
func removeAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	err = unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	names, err := f.Readdirnames(-1)
	if err != nil {
		f.Close()
		return err
	}
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil {
			f.Close()
			return err
		}
	}
	f.Close()
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

func tarMode(hdr *tar.Header) uint32 {
	return uint32(hdr.Mode) & 0o7777
}

func times(hdr *tar.Header) []unix.Timespec {
	mt := hdr.ModTime
	at := hdr.AccessTime
	if at.IsZero() {
		at = mt
	}
	// Seconds and nanoseconds separately: UnixNano overflows for times
	// a PAX record can express.
	return []unix.Timespec{
		{Sec: at.Unix(), Nsec: int64(at.Nanosecond())},
		{Sec: mt.Unix(), Nsec: int64(mt.Nanosecond())},
	}
}

func hasXattrs(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxXattrPrefix) {
			return true
		}
	}
	return false
}

// xattrAllowed decides which extended attributes a layer may set.
// Overlay metadata is never applied: a layer must not forge redirects,
// origins, metacopy or opaque markers (its only way to make a directory
// opaque is ".wh..wh..opq"). user.overlay.* is what overlayfs reads when
// mounted with "userxattr".
func xattrAllowed(name string) bool {
	switch {
	case strings.HasPrefix(name, "trusted.overlay."), strings.HasPrefix(name, "user.overlay."):
		return false
	case strings.HasPrefix(name, "user."), strings.HasPrefix(name, "trusted."):
		return true
	case name == "security.capability":
		return true
	}
	return false
}

// setXattrs applies the entry's allowed xattrs in name order. Attributes
// the file system or the file type does not support are dropped.
func (a *applier) setXattrs(hdr *tar.Header, set func(string, []byte) error, regularOrDir bool) error {
	var keys []string
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxXattrPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := k[len(paxXattrPrefix):]
		if !xattrAllowed(name) {
			a.stats.DroppedXattrs++
			continue
		}
		err := set(name, []byte(hdr.PAXRecords[k]))
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP):
			a.stats.DroppedXattrs++
		case !regularOrDir && errors.Is(err, unix.EPERM) && strings.HasPrefix(name, "user."):
			// user.* exists only on regular files and directories.
			a.stats.DroppedXattrs++
		default:
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}
