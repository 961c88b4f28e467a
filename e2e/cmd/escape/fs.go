package main

import (
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// ups is "../" n times.
func ups(n int) string { return strings.Repeat("../", n) }

// fsCases walk out of the rootfs and out of volumes with "..", symlinks
// and directory descriptors.
func fsCases() {
	k := newCase("rootfs-dotdot", "the host canary "+cfg.CanaryPath+" by walking above the container's root")
	for _, p := range []string{"/" + ups(20) + hostRel(), "/.." + cfg.CanaryPath, "/./../" + ups(3) + hostRel()} {
		k.note("open %s: %s", p, tryCanary(k, p))
	}
	k.done()

	k = newCase("rootfs-symlink", "the host canary through symlinks in the rootfs (absolute, relative, chained)")
	dir, _ := os.MkdirTemp("/tmp", "links")
	links := map[string]string{
		"abs":   cfg.CanaryPath,
		"rel":   ups(30) + hostRel(),
		"root":  "/",
		"dots":  ups(30),
		"chain": "rel",
	}
	for name, target := range links {
		if err := os.Symlink(target, path.Join(dir, name)); err != nil {
			k.note("symlink %s: %s", name, errno(err))
		}
	}
	for _, p := range []string{"abs", "rel", "chain", "root/" + hostRel(), "dots/" + hostRel(), "dots/" + ups(10) + hostRel()} {
		k.note("open %s: %s", p, tryCanary(k, path.Join(dir, p)))
	}
	k.done()

	k = newCase("rootfs-cwd-dotdot", "the host canary by chdir(\"..\") from / many times, then a relative open")
	if err := os.Chdir("/"); err == nil {
		for range 40 {
			os.Chdir("..")
		}
		k.note("after chdir(..) x40 getcwd = %s", mustGetwd())
		k.note("open %s: %s", hostRel(), tryCanary(k, hostRel()))
		os.Chdir("/")
	}
	k.done()

	for i, v := range cfg.Volumes {
		volumeWalks(i, v)
	}
	plantedLinks()
	fileVolume()
}

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		return errno(err)
	}
	return wd
}

// volumeWalks tries to leave volume v (the host directory
// cfg.HostVolumes[i]) for its host neighbours: the canary is two
// directories above it on the host.
func volumeWalks(i int, v string) {
	hostVol := cfg.HostVolumes[i]
	// The canary's path relative to the volume's host directory.
	rel := relPath(hostVol, cfg.CanaryPath)
	k := newCase(fmt.Sprintf("volume%d-dotdot", i), fmt.Sprintf("the host canary %s from the volume %s (host %s) by \"..\"", cfg.CanaryPath, v, hostVol))
	for n := 1; n <= 8; n++ {
		p := v + "/" + ups(n) + path.Base(cfg.CanaryPath)
		if r := tryCanary(k, p); r != "ENOENT" || n == 1 {
			k.note("open %s: %s", p, r)
		}
	}
	k.note("open %s: %s", v+"/"+rel, tryCanary(k, v+"/"+rel))
	k.done()

	k = newCase(fmt.Sprintf("volume%d-own-symlinks", i), "the host canary through symlinks the container makes in volume "+v+" (the gofer creates them on the host)")
	for name, target := range map[string]string{"esc-rel": rel, "esc-abs": cfg.CanaryPath, "esc-root": "/", "esc-up": ups(10)} {
		p := path.Join(v, name)
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			k.note("symlink %s -> %s: %s", name, target, errno(err))
			continue
		}
		k.note("open %s: %s", name, tryCanary(k, p))
		k.note("open %s/%s: %s", name, hostRel(), tryCanary(k, p+"/"+hostRel()))
	}
	k.done()

	k = newCase(fmt.Sprintf("volume%d-dirfd-dotdot", i), "the host canary by openat from a descriptor of volume "+v+" and /proc/self/fd/N/..")
	fd, err := unix.Open(v, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		k.note("open %s: %s", v, errno(err))
	} else {
		k.note("openat(fd, %s): %s", rel, tryCanaryAt(k, fd, rel, "a descriptor of "+v))
		k.note("openat(fd, %s): %s", ups(8)+hostRel(), tryCanaryAt(k, fd, ups(8)+hostRel(), "a descriptor of "+v))
		p := fmt.Sprintf("/proc/self/fd/%d/%s", fd, rel)
		k.note("open %s: %s", p, tryCanary(k, p))
		// openat2 without RESOLVE_BENEATH: ".." is the sandbox's to resolve.
		how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC}
		if nfd, err := unix.Openat2(fd, rel, &how); err != nil {
			k.note("openat2(fd, %s): %s", rel, errno(err))
		} else {
			f := os.NewFile(uintptr(nfd), rel)
			if isCanary(f) {
				k.escape("openat2(fd of %s, %s) is the host canary", v, rel)
			} else {
				k.note("openat2(fd, %s): a sandbox file", rel)
			}
			f.Close()
		}
		unix.Close(fd)
	}
	k.done()
}

// relPath is target relative to dir (both absolute and clean).
func relPath(dir, target string) string {
	d := strings.Split(strings.Trim(dir, "/"), "/")
	t := strings.Split(strings.Trim(target, "/"), "/")
	n := 0
	for n < len(d) && n < len(t) && d[n] == t[n] {
		n++
	}
	return ups(len(d)-n) + strings.Join(t[n:], "/")
}

// plantedLinks follows symlinks the host put in the hostPath volume:
// the gofer must not follow them on the host.
func plantedLinks() {
	if len(cfg.Volumes) == 0 {
		return
	}
	v := cfg.Volumes[0]
	k := newCase("volume-host-planted-symlinks", "the host canary through symlinks the host left in "+v+": abs-link -> "+cfg.CanaryPath+", rel-link -> the canary relatively, root-link -> /")
	for _, p := range []string{"abs-link", "rel-link", "root-link/" + hostRel(), "root-link/" + ups(5) + hostRel()} {
		k.note("open %s: %s", p, tryCanary(k, path.Join(v, p)))
	}
	for _, name := range []string{"abs-link", "rel-link"} {
		// O_NOFOLLOW|O_PATH opens the link itself; reading through
		// /proc/self/fd/N then follows it as the sandbox resolves.
		fd, err := unix.Open(path.Join(v, name), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			k.note("O_PATH|O_NOFOLLOW %s: %s", name, errno(err))
			continue
		}
		p := fmt.Sprintf("/proc/self/fd/%d", fd)
		k.note("open %s (the link %s): %s", p, name, tryCanary(k, p))
		unix.Close(fd)
	}
	k.done()
}

// fileVolume walks from a single-file volume: its host directory holds
// the canary next to it.
func fileVolume() {
	if cfg.FileVolume == "" {
		return
	}
	k := newCase("file-volume-dotdot", "the host canary next to the single-file volume "+cfg.FileVolume+" on the host")
	base := path.Base(cfg.CanaryPath)
	for _, p := range []string{cfg.FileVolume + "/../" + base, cfg.FileVolume + "/" + base, path.Dir(cfg.FileVolume) + "/" + base} {
		k.note("open %s: %s", p, tryCanary(k, p))
	}
	if f, err := os.Open(cfg.FileVolume); err == nil {
		p := fmt.Sprintf("/proc/self/fd/%d/../%s", f.Fd(), base)
		k.note("open %s: %s", p, tryCanary(k, p))
		k.note("openat(file fd, ../%s): %s", base, tryCanaryAt(k, int(f.Fd()), "../"+base, "the file volume's descriptor"))
		f.Close()
	}
	ents, _ := os.ReadDir(path.Dir(cfg.FileVolume))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		if e.Name() == base {
			k.escape("the canary is listed next to the file volume")
		}
	}
	k.note("%s lists %v", path.Dir(cfg.FileVolume), names)
	k.done()
}
