package registry

import (
	"archive/tar"
	"errors"
	"io"
	"net/http"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func fetch(t *testing.T, ref string, opts ...remote.Option) (v1.Image, error) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return remote.Image(r, opts...)
}

func layerFiles(t *testing.T, l v1.Layer) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func TestPushAndFetch(t *testing.T) {
	r := Start(t)
	img, err := RandomImage(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	dig, ref, err := r.Push("x/y:1", img)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fetch(t, ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != dig {
		t.Errorf("fetched %s, pushed %s", d, dig)
	}
	cf, _ := got.ConfigFile()
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config %s/%s", cf.OS, cf.Architecture)
	}
}

func TestBasicAuth(t *testing.T) {
	r := Start(t, WithBasicAuth("u", "p"))
	img, err := RandomImage(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, ref, err := r.Push("priv/img:1", img)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fetch(t, ref)
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Errorf("fetch without credentials: %v", err)
	}
	if _, err := fetch(t, ref, remote.WithAuth(&authn.Basic{Username: "u", Password: "x"})); err == nil {
		t.Error("fetch with a wrong password worked")
	}
	if _, err := fetch(t, ref, remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})); err != nil {
		t.Errorf("fetch with credentials: %v", err)
	}
}

func TestMultiArch(t *testing.T) {
	r := Start(t)
	m, err := MultiArchIndex()
	if err != nil {
		t.Fatal(err)
	}
	_, ref, err := r.PushIndex("multi:1", m.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		got, err := fetch(t, ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ConfigDigest(m.Images[arch])
		if id, _ := ConfigDigest(got); id != want {
			t.Errorf("%s: got %s, want %s", arch, id, want)
		}
	}
}

func TestWhiteoutImage(t *testing.T) {
	img, err := WhiteoutImage()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil || len(ls) != 2 {
		t.Fatalf("layers: %d, %v", len(ls), err)
	}
	if got := layerFiles(t, ls[1]); !slices.Contains(got, "a/.wh.b") || !slices.Contains(got, "c/.wh..wh..opq") {
		t.Errorf("second layer = %v", got)
	}
	// Deterministic: building it again gives the same image.
	again, _ := WhiteoutImage()
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds differ: %s %s", d1, d2)
	}
}

func TestBusyboxImage(t *testing.T) {
	img, err := BusyboxImage()
	if errors.Is(err, ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	if len(ls) != 1 {
		t.Fatalf("%d layers", len(ls))
	}
	got := layerFiles(t, ls[0])
	for _, f := range []string{"bin/busybox", "bin/sh", "etc/passwd"} {
		if !slices.Contains(got, f) {
			t.Errorf("no %s in %v", f, got)
		}
	}
}
