package main

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mountCases play with bind mounts, propagation, file system types and
// read-only volumes.
func mountCases() {
	bindOut()
	propagation()
	fsTypes()
	readOnlyVolume()
}

func mkdirTemp(prefix string) string {
	d, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		panic(err)
	}
	return d
}

// bindOut bind mounts what would be the host's root or the volume's host
// parent, and reads the canary through the new mount.
func bindOut() {
	k := newCase("bind-mount-out", "the host canary through bind mounts of /, of a volume's \"..\", of a host-planted symlink to / and of the host path itself")
	type attempt struct{ src, rel string }
	atts := []attempt{
		{"/", hostRel()},
		{cfg.CanaryDir, path.Base(cfg.CanaryPath)},
		{"/proc/self/root", hostRel()},
		{"/proc/1/root/..", hostRel()},
	}
	for i, v := range cfg.Volumes {
		atts = append(atts, attempt{v + "/../..", relPath(path.Dir(path.Dir(cfg.HostVolumes[i])), cfg.CanaryPath)})
	}
	if len(cfg.Volumes) > 0 {
		atts = append(atts, attempt{cfg.Volumes[0] + "/root-link", hostRel()}, attempt{cfg.Volumes[0] + "/rel-link", ""})
	}
	for _, a := range atts {
		dst := mkdirTemp("bind")
		err := unix.Mount(a.src, dst, "", unix.MS_BIND|unix.MS_REC, "")
		if err != nil {
			k.note("bind %s: %s", a.src, errno(err))
			continue
		}
		k.note("bind %s: mounted, open %s in it: %s", a.src, a.rel, tryCanary(k, path.Join(dst, a.rel)))
		unix.Unmount(dst, unix.MNT_DETACH)
	}
	k.done()
}

// propagation makes the volume's mount shared and mounts on it: a mount
// event reaching the host would show as a mount (or the file) under the
// host's volume directory, which the host checks.
func propagation() {
	k := newCase("mount-propagation", "a mount in the host's volume directory through shared/slave propagation (host checks for the file propagated/flag and new mounts)")
	if len(cfg.Volumes) == 0 {
		k.done()
		return
	}
	v := cfg.Volumes[0]
	for _, flags := range []struct {
		target string
		flags  uintptr
		name   string
	}{{"/", unix.MS_SHARED | unix.MS_REC, "rshared /"}, {v, unix.MS_SHARED, "shared " + v}, {v, unix.MS_SLAVE, "slave " + v}, {v, unix.MS_SHARED, "shared again"}} {
		k.note("make %s: %s", flags.name, errno(unix.Mount("", flags.target, "", flags.flags, "")))
	}
	sub := path.Join(v, "propagated")
	os.Mkdir(sub, 0o755)
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		k.note("mount tmpfs on %s: %s", sub, errno(err))
	} else {
		err := os.WriteFile(path.Join(sub, "flag"), []byte("propagated"), 0o644)
		k.passedInside("mounted a tmpfs on %s and wrote flag (%s); left mounted for the host to look", sub, errno(err))
	}
	// A bind of a volume subdirectory over another, in the other direction.
	other := path.Join(v, "bind-target")
	os.Mkdir(other, 0o755)
	if err := unix.Mount("/etc", other, "", unix.MS_BIND, ""); err == nil {
		k.passedInside("bound /etc over %s (the host must still see an empty directory)", other)
	} else {
		k.note("bind /etc on %s: %s", other, errno(err))
	}
	k.done()
}

// sandboxFS are the file systems the sentry serves itself.
var sandboxFS = []string{"tmpfs", "proc", "sysfs", "devpts", "mqueue"}

// fsTypes mounts host file system types: any that mounts is a host file
// system the sentry passed through, unless it is one of its own.
func fsTypes() {
	k := newCase("mount-host-fs-types", "host file systems: cgroup (release_agent), overlay of the canary's directory, block devices, 9p, nfs, fuse, bpf, debugfs, binfmt_misc, ...")
	types := []struct{ src, typ, data string }{
		{"cgroup", "cgroup", "memory"},
		{"cgroup", "cgroup", "none,name=escape"},
		{"cgroup2", "cgroup2", ""},
		{"overlay", "overlay", "lowerdir=" + cfg.CanaryDir},
		{"/dev/sda", "ext4", ""},
		{"/dev/vda", "ext4", ""},
		{"/dev/sda1", "xfs", ""},
		{"none", "9p", "trans=fd,rfdno=0,wfdno=1"},
		{"127.0.0.1:/", "nfs", "vers=4"},
		{"fuse", "fuse", "fd=0,rootmode=40000,user_id=0,group_id=0"},
		{"bpf", "bpf", ""},
		{"debugfs", "debugfs", ""},
		{"tracefs", "tracefs", ""},
		{"securityfs", "securityfs", ""},
		{"configfs", "configfs", ""},
		{"binfmt_misc", "binfmt_misc", ""},
		{"devtmpfs", "devtmpfs", ""},
		{"hugetlbfs", "hugetlbfs", ""},
		{"pstore", "pstore", ""},
		{"efivarfs", "efivarfs", ""},
		{"proc", "proc", ""},
		{"sysfs", "sysfs", ""},
	}
	for _, t := range types {
		dst := mkdirTemp("fs")
		err := unix.Mount(t.src, dst, t.typ, 0, t.data)
		if err != nil {
			k.note("%s: %s", t.typ, errno(err))
			continue
		}
		ents, _ := os.ReadDir(dst)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		switch {
		case t.typ == "proc":
			for _, hp := range cfg.HostPIDs {
				if isCocoonBinary(fmt.Sprintf("%s/%d/exe", dst, hp)) {
					k.escape("a new proc shows the host's cocoon process %d", hp)
				}
			}
			k.note("proc: mounted the sandbox's own (%d entries)", len(names))
		case t.typ == "sysfs":
			k.note("sysfs: mounted the sandbox's own: %v", names)
			checkNetIfaces(k, dst+"/class/net")
		case slices.Contains(sandboxFS, t.typ):
			k.note("%s: mounted", t.typ)
		case strings.HasPrefix(t.typ, "cgroup"):
			err := writeFile(dst+"/release_agent", "/tmp/escape-release-agent")
			k.passedInside("%s mounted (%v); writing release_agent: %s", t.typ, names, errno(err))
		case t.typ == "overlay":
			if tryCanary(k, path.Join(dst, path.Base(cfg.CanaryPath))) != "READ THE CANARY" {
				k.passedInside("overlay of the host path mounted but shows %v", names)
			}
		default:
			k.escape("%s mounted, a file system the sentry does not serve: %v", t.typ, names)
		}
		unix.Unmount(dst, unix.MNT_DETACH)
	}
	k.done()
}

// readOnlyVolume tries every way to write to a read-only volume; the host
// checks its directory is unchanged.
func readOnlyVolume() {
	v := cfg.ReadOnlyVolume
	if v == "" {
		return
	}
	f := path.Join(v, cfg.ReadOnlyFile)
	k := newCase("read-only-volume-writes", "the host files of the read-only volume "+v+" (write, truncate, chmod, create, rename, unlink, xattrs, reopen through /proc, remount rw, rw bind)")
	attempt := func(what string, err error) {
		if err == nil {
			k.passedInside("%s: ok", what)
		} else {
			k.note("%s: %s", what, errno(err))
		}
	}
	writes := func(prefix, vol string) {
		file := path.Join(vol, cfg.ReadOnlyFile)
		_, err := os.OpenFile(file, os.O_WRONLY, 0)
		attempt(prefix+"open O_WRONLY", err)
		_, err = os.OpenFile(file, os.O_RDONLY|os.O_TRUNC, 0)
		attempt(prefix+"O_TRUNC", err)
		attempt(prefix+"truncate", os.Truncate(file, 0))
		attempt(prefix+"chmod", os.Chmod(file, 0o777))
		attempt(prefix+"chown", os.Lchown(file, 1234, 1234))
		attempt(prefix+"utimes", unix.UtimesNano(file, []unix.Timespec{{Sec: 1}, {Sec: 1}}))
		attempt(prefix+"setxattr", unix.Setxattr(file, "user.escape", []byte("x"), 0))
		attempt(prefix+"create", os.WriteFile(path.Join(vol, "created"), []byte("x"), 0o644))
		attempt(prefix+"mkdir", os.Mkdir(path.Join(vol, "made"), 0o755))
		attempt(prefix+"symlink", os.Symlink("/", path.Join(vol, "linked")))
		attempt(prefix+"rename", os.Rename(file, path.Join(vol, "renamed")))
		attempt(prefix+"unlink", os.Remove(file))
		attempt(prefix+"mknod fifo", unix.Mknod(path.Join(vol, "fifo"), unix.S_IFIFO|0o644, 0))
	}
	writes("", v)
	if fd, err := unix.Open(f, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		_, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDWR, 0)
		attempt("reopen a read-only descriptor O_RDWR through /proc/self/fd", err)
		x := []byte("x")
		_, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&x[0])), 1)
		k.note("write on the O_RDONLY descriptor: %s", rawErr(e))
		_, _, e = unix.Syscall(unix.SYS_FCHMOD, uintptr(fd), 0o777, 0)
		attempt("fchmod on the descriptor", errOf(e))
		unix.Close(fd)
	}
	attempt("remount rw", unix.Mount("", v, "", unix.MS_REMOUNT|unix.MS_BIND, ""))
	writes("after remount: ", v)
	dst := mkdirTemp("rwbind")
	if err := unix.Mount(v, dst, "", unix.MS_BIND, ""); err == nil {
		attempt("remount the bind rw", unix.Mount("", dst, "", unix.MS_REMOUNT|unix.MS_BIND, ""))
		writes("through a rw bind: ", dst)
		unix.Unmount(dst, unix.MNT_DETACH)
	} else {
		k.note("bind %s: %s", v, errno(err))
	}
	k.done()
}

func errOf(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// checkNetIfaces marks k when a directory of interfaces (sysfs
// class/net) lists one with a host interface's MAC address.
func checkNetIfaces(k *c, dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, _ := os.ReadFile(path.Join(dir, e.Name(), "address"))
		mac := strings.TrimSpace(string(b))
		for _, h := range cfg.HostIfaces {
			if h.MAC != "" && h.MAC != "00:00:00:00:00:00" && h.MAC == mac {
				k.escape("%s/%s has the host interface %s's MAC %s", dir, e.Name(), h.Name, mac)
			}
		}
	}
}

// subChrootBreak is the classic chroot escape (chroot into a
// subdirectory, walk ".." from a cwd outside it, chroot "."), run in a
// process of its own: it must end at the sandbox's root.
func subChrootBreak() {
	k := newCase("chroot-break", "the host canary after the classic chroot escape (chroot into a subdirectory, chdir .. past it, chroot .)")
	jail := mkdirTemp("jail")
	os.MkdirAll(jail+"/a/b", 0o755)
	os.Chdir(jail + "/a")
	if err := unix.Chroot(jail + "/a/b"); err != nil {
		k.note("chroot: %s", errno(err))
	} else {
		for range 40 {
			unix.Chdir("..")
		}
		k.note("chroot(.): %s", errno(unix.Chroot(".")))
		k.note("getcwd %s", mustGetwd())
		k.note("open %s: %s", cfg.CanaryPath, tryCanary(k, cfg.CanaryPath))
		k.note("open /proc/1/root/%s: %s", hostRel(), tryCanary(k, "/proc/1/root/"+hostRel()))
	}
	k.done()
}

// subPivotRoot runs in a new mount namespace: pivot_root into a tmpfs,
// walk up from the old root; then pivot_root(".", ".") and detach the old
// root. Both must stay in the sandbox.
func subPivotRoot() {
	k := newCase("pivot-root", "the host canary after pivot_root into a tmpfs (walking .. from the old root) and after pivot_root(\".\", \".\") with the old root detached")
	nr := mkdirTemp("newroot")
	if err := unix.Mount("tmpfs", nr, "tmpfs", 0, "size=1m"); err != nil {
		k.note("mount tmpfs: %s", errno(err))
		k.done()
		return
	}
	os.Mkdir(nr+"/old", 0o755)
	if err := unix.PivotRoot(nr, nr+"/old"); err != nil {
		k.note("pivot_root(new, new/old): %s", errno(err))
	} else {
		unix.Chdir("/")
		for _, p := range []string{"/old/" + hostRel(), "/old/../../" + hostRel(), "/old/proc/1/root/" + hostRel()} {
			k.note("open %s: %s", p, tryCanary(k, p))
		}
		unix.Chdir("/old")
		for range 20 {
			unix.Chdir("..")
		}
		k.note("open %s from getcwd %s: %s", hostRel(), mustGetwd(), tryCanary(k, hostRel()))
		// Back to the old root as "/", then pivot_root(".", ".").
		unix.Chdir("/old")
		if err := unix.PivotRoot(".", "."); err != nil {
			k.note("pivot_root(., .): %s", errno(err))
		} else {
			k.note("umount the stacked old root: %s", errno(unix.Unmount(".", unix.MNT_DETACH)))
			unix.Chdir("/")
			k.note("open %s: %s", cfg.CanaryPath, tryCanary(k, cfg.CanaryPath))
			k.note("open ../../%s: %s", hostRel(), tryCanary(k, "../../"+hostRel()))
		}
	}
	k.done()
}
