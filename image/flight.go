package image

import (
	"context"
	"slices"
	"sync"
)

// flightGroup runs one operation per key at a time and lets every
// caller asking for the same key wait for it. The operation runs in its
// own context: a caller whose ctx ends stops waiting, and the operation
// is cancelled when no caller waits any more.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	img     *Image
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do runs fn for key or joins the run in progress. fn's ctx keeps the
// values of the first caller's ctx, not its cancellation.
func (g *flightGroup) do(ctx context.Context, key string, fn func(context.Context) (*Image, error)) (*Image, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	f := g.m[key]
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.m[key] = f
		go func() {
			img, err := fn(fctx)
			g.mu.Lock()
			f.img, f.err = img, err
			if g.m[key] == f {
				delete(g.m, key)
			}
			g.mu.Unlock()
			cancel()
			close(f.done)
		}()
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		if f.img == nil {
			return nil, f.err
		}
		// Each caller gets its own copy.
		return cloneImage(f.img), f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody waits: stop the work, and let a later caller start
			// afresh rather than join a cancelled run.
			f.cancel()
			if g.m[key] == f {
				delete(g.m, key)
			}
		}
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}

// cloneImage copies img deeply.
func cloneImage(img *Image) *Image {
	c := *img
	c.RepoTags = slices.Clone(img.RepoTags)
	c.RepoDigests = slices.Clone(img.RepoDigests)
	c.Config = slices.Clone(img.Config)
	c.ChainIDs = slices.Clone(img.ChainIDs)
	if img.UID != nil {
		u := *img.UID
		c.UID = &u
	}
	return &c
}
