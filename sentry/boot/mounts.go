package boot

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/fs/mqueue"
	"github.com/cocoonrt/cocoon/sentry/fs/proc"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Mount is one mount of the container's spec, after the host side turned
// host paths into gofer trees.
type Mount struct {
	// Destination is the absolute path in the sandbox.
	Destination string `json:"destination"`
	// Type is "bind" or "tmpfs".
	Type string `json:"type"`
	// Tree names the gofer tree a bind mount serves; SubPath, when set,
	// is the one file of that tree to mount (a file bind mount such as
	// /etc/hosts).
	Tree    string `json:"tree,omitempty"`
	SubPath string `json:"subPath,omitempty"`
	// Options are the OCI mount options.
	Options []string `json:"options,omitempty"`
}

// mountOptions are the options the sandbox honours.
type mountOptions struct {
	readOnly, noExec, noSuid bool
	// tmpfs is a tmpfs mount's size, mode and owner.
	tmpfs tmpfs.Options
}

// flagOptions are options that need nothing from the sandbox: every
// sandbox mount is already private and nodev (it has no host devices),
// and atime policy is the file system's.
var flagOptions = map[string]bool{
	"rw": true, "bind": true, "rbind": true, "nodev": true,
	"private": true, "rprivate": true, "slave": true, "rslave": true,
	"relatime": true, "norelatime": true, "noatime": true, "strictatime": true,
	"nodiratime": true, "dev": true, "exec": true,
}

// parseMountOptions checks every option of m, refusing one the sandbox
// cannot honour with an error that names it.
func parseMountOptions(m Mount) (mountOptions, error) {
	o := mountOptions{tmpfs: tmpfs.Options{Mode: 0o1777}}
	for _, opt := range m.Options {
		key, _, _ := strings.Cut(opt, "=")
		switch {
		case opt == "ro":
			o.readOnly = true
		case opt == "noexec":
			o.noExec = true
		case opt == "nosuid":
			o.noSuid = true
		case opt == "suid":
			o.noSuid = false
		case flagOptions[opt]:
		case m.Type == "tmpfs":
			known, err := o.tmpfs.ParseOption(opt)
			if err != nil {
				return o, fmt.Errorf("mount %s: %v", m.Destination, err)
			}
			if !known {
				return o, fmt.Errorf("mount %s: option %q is not supported", m.Destination, opt)
			}
		case m.Type == "devpts" && (opt == "newinstance" || key == "ptmxmode" || key == "mode" || key == "gid"):
			// The sandbox's devpts is always a new instance with
			// Linux's default modes and the tty group.
		default:
			return o, fmt.Errorf("mount %s: option %q is not supported", m.Destination, opt)
		}
	}
	return o, nil
}

// mountAll mounts the spec's mounts in order, creating missing mount
// points on a writable root. It returns what /proc/mounts lists and the
// mounts it made.
func mountAll(root *vfs.Dentry, mounts []Mount, client *gofer.Client, mf *memfile.File, idsFromGofer bool) ([]proc.Mount, []subMount, error) {
	var listed []proc.Mount
	var subs []subMount
	for i, m := range mounts {
		if !path.IsAbs(m.Destination) || path.Clean(m.Destination) == "/" {
			return nil, nil, fmt.Errorf("mount %q: destination must be an absolute path below /", m.Destination)
		}
		opts, err := parseMountOptions(m)
		if err != nil {
			return nil, nil, err
		}
		var inode vfs.Inode
		var fsType, source string
		switch m.Type {
		case "bind":
			// Volumes may change on the host side: revalidate.
			in, err := goferfs.Attach(client, m.Tree, goferfs.Options{MemFile: mf, IDsFromGofer: idsFromGofer, ReadOnly: opts.readOnly})
			if err != nil {
				return nil, nil, fmt.Errorf("mount %s: attaching %q: %w", m.Destination, m.Tree, err)
			}
			inode, fsType, source = in, "goferfs", m.Tree
			if m.SubPath != "" {
				if inode, err = in.Lookup(m.SubPath); err != nil {
					return nil, nil, fmt.Errorf("mount %s: %s: %w", m.Destination, m.SubPath, err)
				}
			}
		case "tmpfs":
			topts := opts.tmpfs
			topts.Dev = tmpfsDevBase + uint64(i)
			fs := tmpfs.New(mf, topts)
			inode, fsType, source = fs.Root(), "tmpfs", "tmpfs"
		case "proc", "sysfs", "devpts", "cgroup", "cgroup2":
			// The sandbox mounts its own proc, sys (with the pod's
			// cgroup files) and devpts at their usual places; a spec
			// asking for them there gets those.
			want := map[string]string{"proc": "/proc", "sysfs": "/sys", "devpts": "/dev/pts", "cgroup": "/sys/fs/cgroup", "cgroup2": "/sys/fs/cgroup"}[m.Type]
			if path.Clean(m.Destination) != want {
				return nil, nil, fmt.Errorf("mount %s: %s is only mounted at %s", m.Destination, m.Type, want)
			}
			continue
		case "mqueue":
			// The sandbox's POSIX message queues (its one IPC
			// namespace's), which mq_open(3) and every mqueue mount
			// share.
			inode, fsType, source = mqueue.BootRoot(), "mqueue", "mqueue"
		default:
			return nil, nil, fmt.Errorf("mount %s: type %q is not supported", m.Destination, m.Type)
		}
		parent, name, err := mountPoint(root, m.Destination, inode)
		if err != nil {
			return nil, nil, fmt.Errorf("mount %s: %w", m.Destination, err)
		}
		mnt := parent.MountChild(name, inode)
		mode := "rw"
		if opts.readOnly {
			mnt.SetReadOnly()
			mode = "ro"
		}
		if opts.noExec {
			mnt.SetNoExec()
			mode += ",noexec"
		}
		if opts.noSuid {
			mnt.SetNoSuid(true)
			mode += ",nosuid"
		}
		listed = append(listed, proc.MountOf(source, path.Clean(m.Destination), fsType, mode+",relatime", true, inode))
		subs = append(subs, subMount{path: path.Clean(m.Destination), root: mnt, source: source, fsType: fsType})
	}
	return listed, subs, nil
}

// tmpfsDevBase numbers the device IDs of spec tmpfs mounts.
const tmpfsDevBase = 0x40

// mountPoint returns the directory to mount on and the name in it, making
// the mount point (and missing parents) on a writable root: a directory,
// or an empty file for a file mount, as runc does.
func mountPoint(root *vfs.Dentry, dest string, inode vfs.Inode) (*vfs.Dentry, string, error) {
	dest = path.Clean(dest)
	dir := root
	parts := strings.Split(strings.TrimPrefix(dest, "/"), "/")
	for i, name := range parts {
		last := i == len(parts)-1
		next, err := vfs.Resolve(root, dir, name, vfs.ResolveOpts{FollowFinal: true})
		if err == nil {
			if last {
				return dir, name, nil
			}
			dir = next
			continue
		}
		if err != unix.ENOENT {
			return nil, "", err
		}
		if _, mutable := dir.Inode().(vfs.DirOps); dir.ReadOnly() || !mutable {
			// On a read-only root (or in the sandbox's own /dev) the
			// mount point exists only in the sandbox's view.
			if last {
				return dir, name, nil
			}
			return nil, "", fmt.Errorf("%s does not exist on the read-only root", path.Join(append([]string{"/"}, parts[:i+1]...)...))
		}
		st, serr := inode.Stat()
		if last && serr == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if _, err := dir.Mknod(name, unix.S_IFREG|0o644, vfs.Owner{}, nil); err != nil {
				return nil, "", err
			}
			return dir, name, nil
		}
		if next, err = dir.Mkdir(name, 0o755, vfs.Owner{}, nil); err != nil {
			return nil, "", err
		}
		if last {
			return dir, name, nil
		}
		dir = next
	}
	return dir, parts[len(parts)-1], nil
}
