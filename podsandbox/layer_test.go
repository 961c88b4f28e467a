package podsandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWritableLayer: what a container writes to its root reaches the
// node's disk, not the pod's memory, and counts as its writable layer:
// in the pod's store file by default, in the host overlay's upper
// directory with HostLayer.
func TestWritableLayer(t *testing.T) {
	for _, host := range []bool{false, true} {
		name := "store"
		if host {
			name = "host"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.hostLayer = host
			r := e.runtime()
			lower := busyboxLower(t)
			pod := mustRunPod(t, r, podConfig("layer-"+name))
			cfg := e.ctrConfig(pod, lower, "writer", "sleep", "1000")
			c := startContainer(t, r, cfg)
			const size = 8 << 20
			if _, errOut, code := execIn(t, r, c.Config.ID, "", "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=8 && echo small > /etc/small && sync"); code != 0 {
				t.Fatalf("writing in the container: %d %s", code, errOut)
			}
			out, _, _ := execIn(t, r, c.Config.ID, "", "sh", "-c", "wc -c < /big; cat /etc/small")
			if out != "8388608\nsmall\n" {
				t.Errorf("read back: %q", out)
			}
			cs, err := r.ContainerStats(context.Background(), c.Config.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cs.WritableLayerBytes < size || cs.WritableLayerInodes < 2 {
				t.Errorf("writable layer: %d bytes, %d inodes; want at least %d and 2", cs.WritableLayerBytes, cs.WritableLayerInodes, size)
			}
			_, upperErr := os.Stat(filepath.Join(cfg.Rootfs.Upper, "big"))
			var st unix.Stat_t
			storeErr := unix.Stat(filepath.Join(e.state, "pods", pod.Config.ID, podStoreName), &st)
			if host {
				if upperErr != nil {
					t.Errorf("the host layer's upper directory has no /big: %v", upperErr)
				}
				if storeErr == nil {
					t.Error("a host-layer pod has a store file")
				}
				return
			}
			if upperErr == nil {
				t.Error("/big reached the host overlay's upper directory")
			}
			if storeErr != nil {
				t.Fatalf("the pod's store: %v", storeErr)
			}
			if st.Blocks*512 < size {
				t.Errorf("the pod's store holds %d bytes of disk, want at least %d", st.Blocks*512, size)
			}
			// Removing the file gives the disk back.
			if _, errOut, code := execIn(t, r, c.Config.ID, "", "sh", "-c", "rm /big"); code != 0 {
				t.Fatalf("rm: %s", errOut)
			}
			if err := unix.Stat(filepath.Join(e.state, "pods", pod.Config.ID, podStoreName), &st); err != nil {
				t.Fatal(err)
			}
			if st.Blocks*512 >= size {
				t.Errorf("the pod's store keeps %d bytes of disk after the file was removed", st.Blocks*512)
			}
		})
	}
}
