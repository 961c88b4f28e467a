package goferfs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// heldUnder counts this process's descriptors that refer to files below
// dir.
func heldUnder(t *testing.T, dir string) int {
	return fdsWhere(t, func(target string) bool { return strings.HasPrefix(target, dir+"/") })
}

// TestWalkOverManyFilesStaysInsideTheGofersLimit stats far more files than
// a small descriptor limit allows FIDs, as find(1) over a large tree does,
// and checks the gofer's descriptors stay inside the limit all along: a
// walk makes little garbage, so the FIDs of forgotten inodes come back
// only because the reaper collects.
func TestWalkOverManyFilesStaysInsideTheGofersLimit(t *testing.T) {
	const limit, files = 600, 3000
	goferfs.FitDescriptorLimit(limit)
	t.Cleanup(func() { goferfs.FitDescriptorLimit(20000) })

	dir := t.TempDir()
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := serveWritable(t, dir)
	most := 0
	for i := range files {
		if _, err := vfs.Resolve(root, root, fmt.Sprintf("f%04d", i), vfs.ResolveOpts{}); err != nil {
			t.Fatalf("f%04d: %v", i, err)
		}
		if i%50 == 0 {
			most = max(most, heldUnder(t, dir))
		}
	}
	if most > limit*3/4 {
		t.Fatalf("the gofer held up to %d descriptors for a limit of %d", most, limit)
	}
	t.Logf("at most %d descriptors held for %d files", most, files)
}
