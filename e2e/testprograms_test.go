package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

// buildProgram builds e2e/cmd/NAME, static, into a temp dir.
func buildProgram(t *testing.T, name string) string {
	t.Helper()
	return buildPackage(t, name, "./cmd/"+name)
}

// buildPackage builds the static Go program pkg (a path in the module)
// as name.
func buildPackage(t *testing.T, name, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(goCommand(), "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, b)
	}
	return out
}

// busyboxWith is the busybox test image with the program bin added as
// /bin/NAME.
func busyboxWith(t *testing.T, name, bin string) v1.Image {
	t.Helper()
	base, err := registry.BusyboxImage()
	if err != nil {
		t.Skip(err)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "bin/" + name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return withLayer(t, base, buf.Bytes())
}

// withLayer is base with the tar archive layer added on top.
func withLayer(t *testing.T, base v1.Image, layer []byte) v1.Image {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
