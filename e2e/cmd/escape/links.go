package main

import (
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// linkCases make hard links across mounts, out of volumes and of host
// files into volumes, and device nodes; the host checks that no file of
// a volume has a second name and no device node appeared.
func linkCases() {
	if len(cfg.Volumes) < 2 {
		return
	}
	v0, v1 := cfg.Volumes[0], cfg.Volumes[1]
	for _, v := range cfg.Volumes {
		os.WriteFile(path.Join(v, "mine"), []byte("a volume file"), 0o644)
	}
	k := newCase("hardlink-out-of-volume", "a second host name for a volume's file outside it (rootfs, the other volume): the host checks link counts")
	link := func(old, new string, flags int) {
		err := unix.Linkat(unix.AT_FDCWD, old, unix.AT_FDCWD, new, flags)
		if err == nil {
			k.passedInside("link %s -> %s: ok", old, new)
		} else {
			k.note("link %s -> %s: %s", old, new, errno(err))
		}
	}
	link(path.Join(v0, "mine"), "/tmp/from-volume", 0)
	link(path.Join(v0, "mine"), path.Join(v1, "from-volume0"), 0)
	link(path.Join(v1, "mine"), path.Join(v0, "from-volume1"), 0)
	link(path.Join(v0, "mine"), path.Join(cfg.ReadOnlyVolume, "from-volume0"), 0)
	link(path.Join(v0, "mine"), "/dev/shm/from-volume", 0)
	if fd, err := unix.Open(path.Join(v0, "mine"), unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		err := unix.Linkat(fd, "", unix.AT_FDCWD, path.Join(v1, "by-fd"), unix.AT_EMPTY_PATH)
		k.note("linkat(fd of volume0 file, AT_EMPTY_PATH, volume1): %s", errno(err))
		if err == nil {
			k.passedInside("linked by descriptor across volumes")
		}
		link(fmt.Sprintf("/proc/self/fd/%d", fd), path.Join(v1, "by-proc-fd"), unix.AT_SYMLINK_FOLLOW)
		unix.Close(fd)
	}
	k.done()

	k = newCase("hardlink-host-files-in", "a name in a volume for a host file: the canary (through the host's symlinks), the rootfs, /proc/self/exe, the read-only volume")
	link(path.Join(v0, "abs-link"), path.Join(v0, "stolen-abs"), unix.AT_SYMLINK_FOLLOW)
	link(path.Join(v0, "rel-link"), path.Join(v0, "stolen-rel"), unix.AT_SYMLINK_FOLLOW)
	link(path.Join(v0, "root-link", hostRel()), path.Join(v0, "stolen-root"), 0)
	link(path.Join(v0, "..", "..", path.Base(cfg.CanaryPath)), path.Join(v0, "stolen-up"), 0)
	link("/proc/self/exe", path.Join(v0, "exe"), unix.AT_SYMLINK_FOLLOW)
	link("/proc/1/exe", path.Join(v0, "exe1"), unix.AT_SYMLINK_FOLLOW)
	link("/etc/passwd", path.Join(v0, "passwd"), 0)
	link(path.Join(cfg.ReadOnlyVolume, cfg.ReadOnlyFile), path.Join(v0, "ro-file"), 0)
	if fd, err := unix.Open("/proc/self/exe", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		err := unix.Linkat(fd, "", unix.AT_FDCWD, path.Join(v0, "exe-by-fd"), unix.AT_EMPTY_PATH)
		k.note("linkat(fd of /proc/self/exe, AT_EMPTY_PATH): %s", errno(err))
		if err == nil {
			k.passedInside("linked the rootfs executable into the volume by descriptor")
		}
		unix.Close(fd)
	}
	// An O_TMPFILE in the volume linked elsewhere.
	if fd, err := unix.Open(v0, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600); err == nil {
		link(fmt.Sprintf("/proc/self/fd/%d", fd), "/tmp/tmpfile-from-volume", unix.AT_SYMLINK_FOLLOW)
		unix.Close(fd)
	} else {
		k.note("O_TMPFILE in %s: %s", v0, errno(err))
	}
	k.done()

	k = newCase("device-nodes", "host devices (mem, kmem, port, kmsg, sda, vda, nvme0n1, loop0, kvm, tty0) through mknod in the rootfs and in a volume (the host checks no device node appeared)")
	devs := []struct {
		name string
		mode uint32
		dev  int
	}{
		{"mem", unix.S_IFCHR, int(unix.Mkdev(1, 1))},
		{"kmem", unix.S_IFCHR, int(unix.Mkdev(1, 2))},
		{"port", unix.S_IFCHR, int(unix.Mkdev(1, 4))},
		{"kmsg", unix.S_IFCHR, int(unix.Mkdev(1, 11))},
		{"sda", unix.S_IFBLK, int(unix.Mkdev(8, 0))},
		{"vda", unix.S_IFBLK, int(unix.Mkdev(253, 0))},
		{"nvme0n1", unix.S_IFBLK, int(unix.Mkdev(259, 0))},
		{"loop0", unix.S_IFBLK, int(unix.Mkdev(7, 0))},
		{"kvm", unix.S_IFCHR, int(unix.Mkdev(10, 232))},
		{"tty0", unix.S_IFCHR, int(unix.Mkdev(4, 0))},
	}
	for _, dir := range []string{"/tmp", v0} {
		for _, d := range devs {
			p := path.Join(dir, "dev-"+d.name)
			err := unix.Mknod(p, d.mode|0o666, d.dev)
			if err != nil {
				k.note("mknod %s: %s", p, errno(err))
				continue
			}
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
			if err != nil {
				k.passedInside("mknod %s: ok, open: %s", p, errno(err))
				continue
			}
			buf := make([]byte, 64)
			n, err := unix.Read(fd, buf)
			unix.Close(fd)
			if n > 0 {
				k.escape("read %d bytes from the host device %s (%x)", n, p, buf[:n])
			} else {
				k.passedInside("mknod and open %s: ok, read: %s", p, errno(err))
			}
		}
	}
	k.done()
}
