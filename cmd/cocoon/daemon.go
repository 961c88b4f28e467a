package main

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cocoonrt/cocoon/cni"
	"github.com/cocoonrt/cocoon/cri"
	"github.com/cocoonrt/cocoon/image"
	"github.com/cocoonrt/cocoon/netstack"
	"github.com/cocoonrt/cocoon/podsandbox"
	"github.com/cocoonrt/cocoon/podsandbox/netns"
)

// daemonMain is `cocoon daemon`: the CRI server (cri.DaemonMain) over the
// image store and the pod runtime.
func daemonMain(args []string) int {
	wireImageStore()
	wireRuntime()
	return cri.DaemonMain(args, version)
}

// wireRuntime links the CRI server to the pod runtime (podsandbox),
// whose state lives next to the image store under the daemon's state
// directory, and the runtime to the pod network (cni). Closing what it
// returns lets go of the pods without stopping them, so they outlive
// the daemon, and stops watching the CNI configuration.
func wireRuntime() {
	cri.NewRuntime = func(cfg cri.Config, _ image.Service, log *slog.Logger) (podsandbox.Manager, io.Closer, error) {
		network, err := cni.New(cni.Options{
			ConfDir:  cfg.CNI.ConfDir,
			BinDirs:  cfg.CNI.BinDirs,
			CacheDir: cfg.CNICacheDir(),
			Log:      log,
			// The pod's sentry took its interfaces' addresses
			// (netstack's take-over); DEL's plugins look for them.
			GiveBack: func(path string, addrs map[string][]netip.Prefix) error {
				return netns.Do(path, func() error { return netstack.GiveBackLinks(addrs) })
			},
		})
		if err != nil {
			return nil, nil, err
		}
		r, err := podsandbox.New(podsandbox.Options{
			StateDir:        cfg.Root,
			RunDir:          cfg.RunDir,
			CgroupDriver:    cfg.CgroupDriver,
			HostLayer:       cfg.WritableLayer == cri.WritableLayerHost,
			KernelPlacement: cfg.CPUPlacement == cri.CPUPlacementKernel,
			Log:             log,
			Network:         network,
		})
		if err != nil {
			network.Close()
			return nil, nil, err
		}
		return r, closers{r, network}, nil
	}
}

// closers closes each in turn and reports the first error.
type closers []io.Closer

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// imageMain is `cocoon image import FILE` (cri.ImageMain).
func imageMain(args []string) int {
	wireImageStore()
	return cri.ImageMain(args)
}

// wireImageStore links the CRI server to the image store under the
// daemon's state directory.
func wireImageStore() {
	open := func(cfg cri.Config, log *slog.Logger) (*image.Store, error) {
		return image.New(context.Background(), image.Options{
			Root:     cfg.Root + "/image",
			HostsDir: cfg.CertsDir,
			Logger:   log,
			Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		})
	}
	cri.NewImageService = func(cfg cri.Config, log *slog.Logger) (image.Service, io.Closer, error) {
		s, err := open(cfg, log)
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	}
	cri.ImportImage = func(ctx context.Context, cfg cri.Config, log *slog.Logger, file string) ([]*image.Image, error) {
		s, err := open(cfg, log)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return s.Import(ctx, f)
	}
}
