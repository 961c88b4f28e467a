package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// TestReportPull prints how long `cocoon daemon` takes to pull and
// unpack a ~200 MB image of many files from a registry on 127.0.0.1,
// next to skopeo copy + umoci unpack of the same image on the same
// machine in the same run (Debian packages skopeo and umoci). With
// COCOON_BENCH=1 only.
func TestReportPull(t *testing.T) {
	if os.Getenv("COCOON_BENCH") == "" {
		t.Skip("set COCOON_BENCH=1 (make bench) to print the pull benchmark report")
	}
	const (
		layers     = 4
		files      = 2000 // per layer
		layerBytes = 50 << 20
		runs       = 2
	)
	start := time.Now()
	img, err := registry.BigImage(layers, files, layerBytes, 1)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var compressed int64
	for _, l := range ls {
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		compressed += n
	}
	t.Logf("built the image in %v", time.Since(start).Round(time.Millisecond))
	reg := registry.Start(t)
	start = time.Now()
	_, ref, err := reg.Push("bench/pull:1", img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed it in %v", time.Since(start).Round(time.Millisecond))
	id := mustID(t, img)

	// cocoon: a fresh root each run; the best run counts.
	var cocoon time.Duration
	var unpacked int64
	var nfiles int
	for i := range runs {
		root, sock := newDaemonDirs(t)
		d := startDaemon(t, root, sock)
		t0 := time.Now()
		resp, err := d.img.PullImage(ctx(t), &runtimeapi.PullImageRequest{Image: spec(ref)})
		dt := time.Since(t0)
		if err != nil {
			t.Fatalf("PullImage: %v", err)
		}
		if resp.ImageRef != id {
			t.Fatalf("PullImage: %s, want %s", resp.ImageRef, id)
		}
		if i == 0 || dt < cocoon {
			cocoon = dt
		}
		unpacked, nfiles = treeSize(t, snapshotsDir(root))
		d.stop()
		os.RemoveAll(root)
	}
	mb := float64(unpacked) / 1e6

	fmt.Printf("Cocoon image pull report (one machine; best of %d runs each; ratio = cocoon / baseline)\n\n", runs)
	fmt.Printf("image: %d layers, %d files, %.1f MB unpacked, %.1f MB gzip-compressed, from a registry on 127.0.0.1\n",
		layers, nfiles, mb, float64(compressed)/1e6)
	fmt.Printf("  cocoon daemon PullImage (fetch, verify, unpack)  %8.2f s   %7.1f MB/s\n", cocoon.Seconds(), mb/cocoon.Seconds())

	skopeo, errS := exec.LookPath("skopeo")
	umoci, errU := exec.LookPath("umoci")
	if errS != nil || errU != nil {
		fmt.Printf("  skopeo copy + umoci unpack                           n/a   (no skopeo or umoci on PATH: install the Debian packages skopeo and umoci)\n")
		return
	}
	var base, copyT, unpackT time.Duration
	for i := range runs {
		dir := t.TempDir()
		layout := filepath.Join(dir, "oci")
		t0 := time.Now()
		run := func(argv ...string) {
			t.Helper()
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", argv, err, out)
			}
		}
		run(skopeo, "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false", "docker://"+ref, "oci:"+layout+":bench")
		t1 := time.Now()
		run(umoci, "unpack", "--image", layout+":bench", filepath.Join(dir, "bundle"))
		t2 := time.Now()
		if dt := t2.Sub(t0); i == 0 || dt < base {
			base, copyT, unpackT = dt, t1.Sub(t0), t2.Sub(t1)
		}
		if n, _ := treeSize(t, filepath.Join(dir, "bundle", "rootfs")); n != unpacked {
			t.Errorf("umoci unpacked %d bytes of files, cocoon %d", n, unpacked)
		}
		os.RemoveAll(dir)
	}
	fmt.Printf("  skopeo copy + umoci unpack                       %8.2f s   %7.1f MB/s   (copy %.2f s, unpack %.2f s)\n",
		base.Seconds(), mb/base.Seconds(), copyT.Seconds(), unpackT.Seconds())
	fmt.Printf("  ratio                                            %8.2fx  (below 1: cocoon is faster)\n", cocoon.Seconds()/base.Seconds())
}

// treeSize is the bytes and count of the regular files under dir.
func treeSize(t *testing.T, dir string) (int64, int) {
	t.Helper()
	var size int64
	var n int
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			size += fi.Size()
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return size, n
}
