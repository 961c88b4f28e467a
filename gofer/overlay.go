package gofer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlay mounts a host overlayfs with lower as its read-only layer
// and a writable layer in dir (dir/upper, dir/work), at dir/merged, and
// returns the merged path. The gofer must run in a mount namespace of its
// own (the sandbox starts it with CLONE_NEWNS), so the mount lives exactly
// as long as the gofer and is invisible to the host.
//
// This is what the daemon does with image snapshots; `cocoon do` uses it
// to give a host directory a writable layer whose files are real host
// files (so kubelet-style disk accounting of the upper directory works).
func mountOverlay(lower, dir string) (string, error) {
	for _, p := range []string{lower, dir} {
		// overlayfs options are comma- and colon-separated.
		if strings.ContainsAny(p, ",:") {
			return "", fmt.Errorf("overlay path %q contains ',' or ':'", p)
		}
	}
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	for _, p := range []string{upper, work, merged} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", err
		}
	}
	// A merged directory shows its upper directory's attributes: give the
	// new upper root the lower root's, so "/" looks as the image says.
	var st unix.Stat_t
	if err := unix.Stat(lower, &st); err != nil {
		return "", err
	}
	if err := unix.Chown(upper, int(st.Uid), int(st.Gid)); err != nil {
		return "", err
	}
	if err := unix.Chmod(upper, st.Mode&0o7777); err != nil {
		return "", err
	}
	if err := unix.UtimesNano(upper, []unix.Timespec{st.Atim, st.Mtim}); err != nil {
		return "", err
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_NODEV, opts); err != nil {
		return "", fmt.Errorf("mounting overlay of %s at %s: %w", lower, merged, err)
	}
	return merged, nil
}
