package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestPullZstdLayer pulls an OCI image whose layer is zstd-compressed and
// checks the unpacked file.
func TestPullZstdLayer(t *testing.T) {
	if !realUnpack(t) {
		return
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := []byte("compressed with zstd\n")
	if err := tw.WriteHeader(&tar.Header{Name: "etc/zstd", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	b := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := layer.MediaType(); mt != types.OCILayerZStd {
		t.Fatalf("layer media type %s, want zstd", mt)
	}
	reg := newRegistry(t, nil)
	reg.push(t, "test/zstd:v1", imageOf(t, "", layer))
	s := newTestStore(t, t.TempDir(), nil)
	img, err := s.Pull(context.Background(), reg.host+"/test/zstd:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.snapshotDir(img.ChainIDs[0]), "etc", "zstd"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("unpacked etc/zstd = %q, %v; want %q", got, err, data)
	}
}
