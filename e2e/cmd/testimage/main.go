// Command testimage writes the e2e busybox test image (registry.BusyboxImage:
// the host's busybox-static with applet links, /etc/passwd and /etc/group)
// as a docker-save tarball, for `cocoon image import` in `make demo`.
//
//	testimage -o busybox.tar -tag docker.io/library/busybox:demo
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cocoonrt/cocoon/e2e/registry"
)

func main() {
	out := flag.String("o", "busybox.tar", "the tarball to write")
	tag := flag.String("tag", "docker.io/library/busybox:demo", "the image's tag in the tarball")
	flag.Parse()
	if err := write(*out, *tag); err != nil {
		fmt.Fprintf(os.Stderr, "testimage: %v\n", err)
		os.Exit(1)
	}
}

func write(out, tag string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	img, err := registry.BusyboxImage()
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}
