package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrNoPlatform is wrapped by the error of a pull whose index has no
// manifest for the store's platform.
var ErrNoPlatform = errors.New("no manifest for platform")

// maxManifestSize bounds manifests, indexes and configs read into memory.
const maxManifestSize = 16 << 20

// Pull fetches ref and unpacks it. Concurrent pulls of one normalised
// reference share one download.
func (s *Store) Pull(ctx context.Context, ref string, auth *Auth) (*Image, error) {
	r, err := parseReference(ref)
	if err != nil {
		return nil, err
	}
	key := r.String()
	return s.flights.do(ctx, key, func(ctx context.Context) (*Image, error) {
		start := time.Now()
		img, err := s.pull(ctx, r, auth)
		if err != nil {
			s.log.Warn("image pull failed", "image", key, "err", err)
			return nil, err
		}
		s.log.Info("image pulled", "image", key, "id", img.ID, "duration", time.Since(start).Round(time.Millisecond).String())
		return img, nil
	})
}

// fetched is a manifest or index as a registry served it.
type fetched struct {
	mediaType types.MediaType
	digest    string
	raw       []byte
}

// pull resolves r on the registry's hosts (mirrors first) and ingests
// the image for the store's platform.
func (s *Store) pull(ctx context.Context, r reference, auth *Auth) (*Image, error) {
	hosts, err := loadHosts(s.hostsDir, r.Domain)
	if err != nil {
		return nil, err
	}
	repo, err := r.ggcrRepo()
	if err != nil {
		return nil, err
	}
	cache := map[string]*fetched{}

	// Resolve the tag to a digest, unless the reference has one.
	top := r.Digest
	if top == "" {
		var errs []error
		for _, h := range hosts {
			if h.Capabilities&capResolve == 0 {
				continue
			}
			opts, err := s.remoteOptions(ctx, repo, r.Domain, h, auth)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f, err := s.getManifest(ctx, repo.Tag(r.Tag), opts)
			if err == nil {
				top = f.digest
				cache[f.digest] = f
				break
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("%s: %w", h.URL.Host, err))
		}
		if top == "" {
			return nil, fmt.Errorf("resolve %s: %w", r, errors.Join(errs...))
		}
	}

	var errs []error
	for _, h := range hosts {
		if h.Capabilities&capPull == 0 {
			continue
		}
		opts, err := s.remoteOptions(ctx, repo, r.Domain, h, auth)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		img, err := s.pullFrom(ctx, r, repo, top, opts, cache)
		if err == nil {
			return img, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, ErrNoPlatform) || len(hosts) == 1 {
			return nil, err
		}
		s.log.Warn("pull from host failed", "image", r.String(), "host", h.URL.String(), "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", h.URL.Host, err))
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("pull %s: no host with the pull capability", r)
	}
	return nil, fmt.Errorf("pull %s: %w", r, errors.Join(errs...))
}

// pullFrom fetches the content of digest top through opts.
func (s *Store) pullFrom(ctx context.Context, r reference, repo name.Repository, top string, opts []remote.Option, cache map[string]*fetched) (*Image, error) {
	get := func(d string) (*fetched, error) {
		if f, ok := cache[d]; ok {
			return f, nil
		}
		f, err := s.getManifest(ctx, repo.Digest(d), opts)
		if err != nil {
			return nil, err
		}
		if f.digest != d {
			return nil, fmt.Errorf("manifest %s: %w: expected %s, got %s", d, ErrDigestMismatch, d, f.digest)
		}
		cache[d] = f
		return f, nil
	}
	f, err := get(top)
	if err != nil {
		return nil, err
	}
	raw := map[string][]byte{f.digest: f.raw}
	if f.mediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(strings.NewReader(string(f.raw)))
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", f.digest, err)
		}
		child, err := s.pickPlatform(idx)
		if err != nil {
			return nil, fmt.Errorf("%s (index %s): %w", r, f.digest, err)
		}
		if f, err = get(child.Digest.String()); err != nil {
			return nil, err
		}
		if f.mediaType.IsIndex() {
			return nil, fmt.Errorf("%s: nested index %s is not supported", r, f.digest)
		}
		raw[f.digest] = f.raw
	}
	if !f.mediaType.IsImage() {
		if f.mediaType == types.DockerManifestSchema1 || f.mediaType == types.DockerManifestSchema1Signed {
			return nil, fmt.Errorf("%s: Docker schema 1 images are not supported", r)
		}
		return nil, fmt.Errorf("%s: unsupported manifest media type %q", r, f.mediaType)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(f.raw)))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", f.digest, err)
	}

	// The config.
	cfgDigest := m.Config.Digest.String()
	if !digestRE.MatchString(cfgDigest) {
		return nil, fmt.Errorf("manifest %s: unsupported config digest %q", f.digest, cfgDigest)
	}
	config, err := s.blobs.read(cfgDigest)
	if err != nil {
		err = s.retry(ctx, s.opts.RetryAttempts, "fetch config "+cfgDigest, func() error {
			config, err = s.fetchSmallBlob(ctx, repo.Digest(cfgDigest), cfgDigest, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if err := s.checkConfigPlatform(config); err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}

	src := &imageSource{
		repoDigests:  []string{r.digestName(top)},
		raw:          raw,
		config:       config,
		configDigest: cfgDigest,
		retry:        true,
		what:         r.String(),
	}
	if t := r.tagName(); t != "" {
		src.tags = []string{t}
	}
	for _, l := range m.Layers {
		d := l.Digest.String()
		if !digestRE.MatchString(d) {
			return nil, fmt.Errorf("manifest %s: unsupported layer digest %q", f.digest, d)
		}
		switch l.MediaType {
		case types.DockerForeignLayer, types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer:
			return nil, fmt.Errorf("manifest %s: non-distributable layer %s is not supported", f.digest, d)
		}
		src.layers = append(src.layers, layerSource{
			digest:    d,
			size:      l.Size,
			mediaType: l.MediaType,
			open: func(ctx context.Context) (io.ReadCloser, error) {
				o := append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
				rl, err := remote.Layer(repo.Digest(d), o...)
				if err != nil {
					return nil, err
				}
				return rl.Compressed()
			},
		})
	}
	return s.ingest(ctx, src)
}

// getManifest fetches a manifest or index, retrying transient errors.
func (s *Store) getManifest(ctx context.Context, ref name.Reference, opts []remote.Option) (*fetched, error) {
	var f *fetched
	err := s.retry(ctx, s.opts.RetryAttempts, "get manifest "+ref.String(), func() error {
		d, err := remote.Get(ref, opts...)
		if err != nil {
			return err
		}
		if len(d.Manifest) > maxManifestSize {
			return fmt.Errorf("manifest %s: too large (%d bytes)", ref, len(d.Manifest))
		}
		// The digest of what was served, whatever the registry says.
		h, _, err := v1.SHA256(strings.NewReader(string(d.Manifest)))
		if err != nil {
			return err
		}
		f = &fetched{mediaType: d.MediaType, digest: h.String(), raw: d.Manifest}
		return nil
	})
	return f, err
}

// fetchSmallBlob fetches a config blob and checks its digest.
func (s *Store) fetchSmallBlob(ctx context.Context, ref name.Digest, digest string, opts []remote.Option) ([]byte, error) {
	l, err := remote.Layer(ref, opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxManifestSize {
		return nil, fmt.Errorf("config %s: too large", digest)
	}
	h, _, _ := v1.SHA256(strings.NewReader(string(b)))
	if h.String() != digest {
		return nil, fmt.Errorf("config: %w: expected %s, got %s", ErrDigestMismatch, digest, h)
	}
	return b, nil
}

// pickPlatform chooses the manifest of the store's platform.
func (s *Store) pickPlatform(idx *v1.IndexManifest) (*v1.Descriptor, error) {
	var seen []string
	var best *v1.Descriptor
	for i := range idx.Manifests {
		d := &idx.Manifests[i]
		if d.Platform == nil {
			continue
		}
		p := d.Platform
		seen = append(seen, platformString(*p))
		if p.OS != s.platform.OS || p.Architecture != s.platform.Architecture {
			continue
		}
		if s.platform.Variant != "" && p.Variant != "" && p.Variant != s.platform.Variant {
			continue
		}
		if best == nil {
			best = d
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w %s (the index has: %s)", ErrNoPlatform, platformString(s.platform), strings.Join(seen, ", "))
	}
	return best, nil
}

// checkConfigPlatform rejects a single-platform image built for
// another platform (an image with no platform in its config passes).
func (s *Store) checkConfigPlatform(config []byte) error {
	cf, err := v1.ParseConfigFile(strings.NewReader(string(config)))
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	if (cf.OS != "" && cf.OS != s.platform.OS) || (cf.Architecture != "" && cf.Architecture != s.platform.Architecture) {
		return fmt.Errorf("%w %s: the image is %s/%s", ErrNoPlatform, platformString(s.platform), cf.OS, cf.Architecture)
	}
	return nil
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// remoteOptions are the go-containerregistry options to reach host h
// for repo: the transport that routes to h with its TLS settings, the
// credentials, and no retries of ggcr's own (we retry).
func (s *Store) remoteOptions(ctx context.Context, repo name.Repository, domain string, h registryHost, auth *Auth) ([]remote.Option, error) {
	base, err := s.tr.get(h.SkipVerify, h.CAs)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.URL, err)
	}
	def, _ := s.tr.get(false, nil)
	rt := &hostTransport{
		registry: repo.RegistryStr(),
		ns:       domain,
		host:     h,
		base:     base,
		def:      def,
	}
	a := authn.Anonymous
	if auth != nil && authApplies(auth, domain, h) {
		a = authn.FromConfig(authn.AuthConfig{
			Username:      auth.Username,
			Password:      auth.Password,
			Auth:          auth.Auth,
			IdentityToken: auth.IdentityToken,
			RegistryToken: auth.RegistryToken,
		})
		if auth.Auth != "" && auth.Username == "" {
			// Check it early for a clear error.
			if _, err := base64.StdEncoding.DecodeString(auth.Auth); err != nil {
				return nil, fmt.Errorf("auth for %s: invalid base64: %w", domain, err)
			}
		}
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(rt),
		remote.WithAuth(a),
		remote.WithPlatform(s.platform),
		remote.WithUserAgent("cocoon"),
		remote.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Steps: 1}),
	}, nil
}

// authApplies reports whether credentials are for host h of registry
// domain: credentials without a server address apply to every host,
// others to the host they name (as containerd's CRI does).
func authApplies(a *Auth, domain string, h registryHost) bool {
	if a.ServerAddress == "" {
		return true
	}
	sa := a.ServerAddress
	if !strings.Contains(sa, "://") {
		sa = "https://" + sa
	}
	u, err := url.Parse(sa)
	if err != nil {
		return false
	}
	host := u.Host
	dockerHub := func(s string) bool {
		return s == "docker.io" || s == "index.docker.io" || s == "registry-1.docker.io"
	}
	if h.Mirror {
		return host == h.URL.Host
	}
	if dockerHub(host) && dockerHub(domain) {
		return true
	}
	return host == domain || host == h.URL.Host
}

// retry runs fn up to attempts times while it fails transiently, with
// exponential backoff from RetryBackoff.
func (s *Store) retry(ctx context.Context, attempts int, what string, fn func() error) error {
	wait := s.opts.RetryBackoff
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(); err == nil || !transient(err) || ctx.Err() != nil {
			break
		}
		if i == attempts-1 {
			break
		}
		s.log.Warn("retrying registry request", "what", what, "attempt", i+1, "wait", wait.String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// transient reports whether a registry error may go away on retry:
// 5xx, 408 and 429 responses, timeouts, resets and truncated bodies.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}
