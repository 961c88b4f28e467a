package main

import (
	"fmt"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// raceCases race path walks against renames that swap a directory for a
// symlink to "/": a gofer that opened by host path, or followed the last
// component's symlink, would land on the host's root.
func raceCases() {
	if len(cfg.Volumes) > 0 {
		sandboxSwapRace(cfg.Volumes[0])
	}
	if cfg.RaceDir != "" {
		hostSwapRace(cfg.RaceDir)
		movedOutDir()
	}
}

// readers opens paths until stop, counting attempts and marking k on the
// canary.
func readers(k *c, n int, stop *atomic.Bool, paths ...string) (tries int64, outcomes map[string]int) {
	var wg sync.WaitGroup
	var mu sync.Mutex // guards outcomes
	outcomes = map[string]int{}
	var total atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]int{}
			for j := i; !stop.Load(); j++ {
				p := paths[j%len(paths)]
				local[tryCanary(k, p)]++
				total.Add(1)
			}
			mu.Lock()
			for r, n := range local {
				outcomes[r] += n
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total.Load(), outcomes
}

// sandboxSwapRace: one thread of the container swaps dir "d" (a real
// directory) and "l" (a symlink to "/") with RENAME_EXCHANGE, or with
// plain renames where that is refused, while others open
// d/<canary's host path>.
func sandboxSwapRace(v string) {
	k := newCase("rename-race-in-sandbox", fmt.Sprintf("the host canary through %s/race-sandbox/d while the container swaps d with a symlink to / (the gofer renames on the host)", v))
	dir := path.Join(v, "race-sandbox")
	os.RemoveAll(dir)
	if err := os.MkdirAll(path.Join(dir, "d"), 0o755); err != nil {
		k.note("mkdir: %s", errno(err))
		k.done()
		return
	}
	if err := os.Symlink("/", path.Join(dir, "l")); err != nil {
		k.note("symlink: %s", errno(err))
	}
	var stop atomic.Bool
	var swaps atomic.Int64
	var swapErr atomic.Value
	go func() {
		d, l, t := path.Join(dir, "d"), path.Join(dir, "l"), path.Join(dir, "t")
		exchange := true
		for !stop.Load() {
			var err error
			if exchange {
				err = unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, l, unix.RENAME_EXCHANGE)
				if err == unix.EINVAL || err == unix.ENOSYS {
					exchange = false
					continue
				}
			} else {
				// d -> t, l -> d, t -> l: d is a symlink for a while.
				if err = os.Rename(d, t); err == nil {
					if err = os.Rename(l, d); err == nil {
						err = os.Rename(t, l)
					}
				}
			}
			if err != nil {
				swapErr.Store(errno(err))
			}
			swaps.Add(1)
		}
	}()
	target := path.Join(dir, "d", hostRel())
	time.AfterFunc(time.Duration(cfg.RaceMillis)*time.Millisecond, func() { stop.Store(true) })
	tries, outcomes := readers(k, 2, &stop, target, path.Join(dir, "d")+"/"+ups(6)+hostRel())
	k.note("%d swaps, %d opens: %v", swaps.Load(), tries, outcomes)
	if e := swapErr.Load(); e != nil {
		k.note("a swap failed: %v", e)
	}
	k.done()
}

// hostSwapRace opens through dir/d while the host swaps it with a
// symlink to "/" on its side (as another tenant of a shared hostPath
// could).
func hostSwapRace(dir string) {
	k := newCase("rename-race-by-host", fmt.Sprintf("the host canary through %s/d while the host swaps d with a symlink to / under the gofer", dir))
	var stop atomic.Bool
	time.AfterFunc(time.Duration(cfg.RaceMillis)*time.Millisecond, func() { stop.Store(true) })
	target := path.Join(dir, "d", hostRel())
	var dirfdTries atomic.Int64
	go func() {
		// A descriptor taken while d is a directory, then walked from
		// while it may be a symlink.
		for !stop.Load() {
			fd, err := unix.Open(path.Join(dir, "d"), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			tryCanaryAt(k, fd, hostRel(), "a descriptor of "+dir+"/d")
			tryCanaryAt(k, fd, ups(8)+hostRel(), "a descriptor of "+dir+"/d")
			unix.Close(fd)
			dirfdTries.Add(1)
		}
	}()
	tries, outcomes := readers(k, 2, &stop, target, path.Join(dir, "d", "sub", ups(8)+hostRel()))
	k.note("%d opens: %v; %d walks from descriptors", tries, outcomes, dirfdTries.Load())
	k.done()
}

// movedOutDir holds a descriptor of dir/escapee while the host moves
// that directory out of the volume, next to the canary's directory, then
// walks ".." from it: the sandbox must not follow the host's new parent.
func movedOutDir() {
	k := newCase("moved-out-directory-dotdot", "the host canary by \"..\" from a volume directory the host moved out of the volume")
	esc := path.Join(cfg.RaceDir, "escapee")
	fd, err := unix.Open(esc, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		k.note("open %s: %s", esc, errno(err))
		k.done()
		return
	}
	defer unix.Close(fd)
	// Tell the host, which moves escapee out and then creates "moved"
	// in it.
	if f, err := os.Create(path.Join(cfg.RaceDir, "ready")); err == nil {
		f.Close()
	}
	deadline := time.Now().Add(time.Duration(4*cfg.RaceMillis) * time.Millisecond)
	moved := false
	for time.Now().Before(deadline) {
		if err := unix.Faccessat(fd, "moved", unix.F_OK, 0); err == nil {
			moved = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.note("the host moved it: %v", moved)
	// On the host, escapee is now two levels below the canary's
	// directory.
	base := path.Base(cfg.CanaryPath)
	for _, p := range []string{"../../" + base, "../" + base, ups(8) + hostRel()} {
		k.note("openat(fd, %s): %s", p, tryCanaryAt(k, fd, p, "the moved directory"))
	}
	p := fmt.Sprintf("/proc/self/fd/%d/../../%s", fd, base)
	k.note("open %s: %s", p, tryCanary(k, p))
	if err := unix.Fchdir(fd); err == nil {
		os.Chdir("../..")
		k.note("after fchdir and chdir(../..), getcwd = %s, open %s: %s", mustGetwd(), base, tryCanary(k, base))
		os.Chdir("/")
	}
	k.done()
}
