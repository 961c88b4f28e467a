package image

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Registry configuration follows containerd's hosts.toml
// (<HostsDir>/<registry host>/hosts.toml, falling back to
// <HostsDir>/_default/hosts.toml), this subset:
//
//	server = "https://registry.example.com"   # the upstream; default https://<host>
//	ca = "ca.pem"                              # or a list; relative to the file's dir
//	skip_verify = false
//	[host."https://mirror.example.com"]       # mirrors, tried in file order
//	  capabilities = ["pull", "resolve"]       # default: pull, resolve, push
//	  ca = "/etc/ssl/mirror.pem"
//	  skip_verify = true
//	  override_path = false                    # true: the URL path replaces /v2
//	  [host."https://mirror.example.com".header]
//	    x-custom = "value"
//
// A "http://" URL talks plain HTTP to that host. Mirrors are tried in
// order, the upstream last; a mirror that fails falls through to the
// next host.

// Capabilities of a host.
const (
	capPull = 1 << iota
	capResolve
	capPush
)

// registryHost is one host a registry's content can be fetched from.
type registryHost struct {
	// URL is scheme://host[:port]/path, the path being what replaces
	// "/v2" in request paths.
	URL          *url.URL
	Capabilities int
	SkipVerify   bool
	CAs          []string // absolute paths of PEM files
	Header       http.Header
	// Mirror is set for [host] entries (requests carry ?ns=<registry>).
	Mirror bool
	// Rewrite is false for the implicit upstream, whose requests go
	// where go-containerregistry sends them.
	Rewrite bool
}

type hostFileEntry struct {
	Capabilities []string       `toml:"capabilities"`
	CA           any            `toml:"ca"`
	SkipVerify   *bool          `toml:"skip_verify"`
	OverridePath bool           `toml:"override_path"`
	Header       map[string]any `toml:"header"`
	Client       any            `toml:"client"`
}

type hostFile struct {
	Server       string                   `toml:"server"`
	Capabilities []string                 `toml:"capabilities"`
	CA           any                      `toml:"ca"`
	SkipVerify   *bool                    `toml:"skip_verify"`
	OverridePath bool                     `toml:"override_path"`
	Header       map[string]any           `toml:"header"`
	Client       any                      `toml:"client"`
	Host         map[string]hostFileEntry `toml:"host"`
}

// loadHosts returns the hosts to fetch from registry (a reference's
// domain, "docker.io", "localhost:5000"), mirrors first, upstream last.
func loadHosts(hostsDir, registry string) ([]registryHost, error) {
	var data []byte
	var dir string
	if hostsDir != "" {
		for _, d := range []string{registry, strings.ReplaceAll(registry, ":", "_"), "_default"} {
			p := filepath.Join(hostsDir, d, "hosts.toml")
			b, err := os.ReadFile(p)
			if err == nil {
				data, dir = b, filepath.Dir(p)
				break
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	if data == nil {
		return []registryHost{defaultUpstream(registry)}, nil
	}
	hosts, err := parseHostsFile(data, dir, registry)
	if err != nil {
		return nil, fmt.Errorf("%s/hosts.toml: %w", dir, err)
	}
	return hosts, nil
}

// defaultUpstream is the registry itself, as go-containerregistry
// reaches it.
func defaultUpstream(registry string) registryHost {
	scheme := "https"
	if isLoopback(registry) {
		scheme = "http"
	}
	return registryHost{
		URL:          &url.URL{Scheme: scheme, Host: registry, Path: "/v2"},
		Capabilities: capPull | capResolve | capPush,
	}
}

func parseHostsFile(data []byte, dir, registry string) ([]registryHost, error) {
	var f hostFile
	if err := toml.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	var out []registryHost
	for _, u := range hostOrder(data, f.Host) {
		e := f.Host[u]
		h, err := makeHost(u, e.Capabilities, e.CA, e.SkipVerify, e.OverridePath, e.Header, dir)
		if err != nil {
			return nil, fmt.Errorf("host %q: %w", u, err)
		}
		h.Mirror = true
		out = append(out, h)
	}
	if f.Server != "" {
		h, err := makeHost(f.Server, f.Capabilities, f.CA, f.SkipVerify, f.OverridePath, f.Header, dir)
		if err != nil {
			return nil, fmt.Errorf("server %q: %w", f.Server, err)
		}
		out = append(out, h)
	} else {
		h := defaultUpstream(registry)
		if f.CA != nil || f.SkipVerify != nil || f.Header != nil {
			var err error
			if h, err = makeHost(h.URL.Scheme+"://"+registry, f.Capabilities, f.CA, f.SkipVerify, false, f.Header, dir); err != nil {
				return nil, err
			}
		}
		out = append(out, h)
	}
	return out, nil
}

func makeHost(rawURL string, caps []string, ca any, skip *bool, overridePath bool, header map[string]any, dir string) (registryHost, error) {
	var h registryHost
	if !strings.Contains(rawURL, "://") {
		rawURL = "https://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return h, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return h, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return h, errors.New("no host")
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !overridePath && !strings.HasSuffix(p, "/v2") {
		p += "/v2"
	}
	u.Path, u.RawQuery, u.Fragment = p, "", ""
	h.URL = u
	h.Rewrite = true
	if caps == nil {
		h.Capabilities = capPull | capResolve | capPush
	}
	for _, c := range caps {
		switch c {
		case "pull":
			h.Capabilities |= capPull
		case "resolve":
			h.Capabilities |= capResolve
		case "push":
			h.Capabilities |= capPush
		default:
			return h, fmt.Errorf("unknown capability %q", c)
		}
	}
	if skip != nil {
		h.SkipVerify = *skip
	}
	switch ca := ca.(type) {
	case nil:
	case string:
		h.CAs = []string{ca}
	case []any:
		for _, c := range ca {
			s, ok := c.(string)
			if !ok {
				return h, fmt.Errorf("ca: want a string or a list of strings")
			}
			h.CAs = append(h.CAs, s)
		}
	default:
		return h, fmt.Errorf("ca: want a string or a list of strings")
	}
	for i, c := range h.CAs {
		if !filepath.IsAbs(c) {
			h.CAs[i] = filepath.Join(dir, c)
		}
	}
	if len(header) > 0 {
		h.Header = http.Header{}
		for k, v := range header {
			switch v := v.(type) {
			case string:
				h.Header.Add(k, v)
			case []any:
				for _, s := range v {
					h.Header.Add(k, fmt.Sprint(s))
				}
			default:
				return h, fmt.Errorf("header %q: want a string or a list of strings", k)
			}
		}
	}
	return h, nil
}

// hostOrder lists the [host."..."] tables in the order the file has
// them (a map does not keep it).
func hostOrder(data []byte, m map[string]hostFileEntry) []string {
	var order []string
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.Table {
			continue
		}
		it := e.Key()
		var parts []string
		for it.Next() {
			parts = append(parts, string(it.Node().Data))
		}
		if len(parts) == 2 && parts[0] == "host" && !slices.Contains(order, parts[1]) {
			if _, ok := m[parts[1]]; ok {
				order = append(order, parts[1])
			}
		}
	}
	// Hosts defined otherwise (inline tables) come after, sorted.
	var rest []string
	for k := range m {
		if !slices.Contains(order, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(order, rest...)
}

// isLoopback reports whether a registry host[:port] is this machine:
// localhost, 127.0.0.0/8 or ::1. Such registries are used over plain
// HTTP, as containerd and go-containerregistry do.
func isLoopback(hostport string) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// transports caches one http.Transport per TLS setting so that
// connections are reused between pulls.
type transports struct {
	mu sync.Mutex
	m  map[string]*http.Transport
}

func (t *transports) get(skipVerify bool, cas []string) (*http.Transport, error) {
	key := fmt.Sprint(skipVerify, cas)
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.m[key]; ok {
		return tr, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if skipVerify || len(cas) > 0 {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify}
		if len(cas) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			for _, c := range cas {
				pem, err := os.ReadFile(c)
				if err != nil {
					return nil, fmt.Errorf("ca: %w", err)
				}
				if !pool.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("ca %s: no PEM certificate", c)
				}
			}
			cfg.RootCAs = pool
		}
		tr.TLSClientConfig = cfg
	}
	if t.m == nil {
		t.m = map[string]*http.Transport{}
	}
	t.m[key] = tr
	return tr, nil
}

// hostTransport sends the requests go-containerregistry makes for
// registry (its host name, e.g. index.docker.io) to host, and others
// (token servers, blob redirects) through def.
type hostTransport struct {
	registry string // the host go-containerregistry addresses
	ns       string // the reference's domain, for ?ns= on mirrors
	host     registryHost
	base     http.RoundTripper
	def      http.RoundTripper
}

func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.registry {
		return t.def.RoundTrip(req)
	}
	if !t.host.Rewrite {
		if req.URL.Scheme == "http" && !isLoopback(req.URL.Host) {
			return nil, fmt.Errorf("refusing plain HTTP to registry %s (configure a http:// server in hosts.toml)", req.URL.Host)
		}
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = t.host.URL.Scheme, t.host.URL.Host
	u.Path = t.host.URL.Path + strings.TrimPrefix(req.URL.Path, "/v2")
	u.RawPath = ""
	if t.host.Mirror && t.ns != "" {
		q := u.Query()
		q.Set("ns", t.ns)
		u.RawQuery = q.Encode()
	}
	r.URL, r.Host = &u, u.Host
	for k, v := range t.host.Header {
		r.Header[k] = v
	}
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		// go-containerregistry must not see the rewrite (it picks the
		// scheme of later requests from the response's request).
		resp.Request = req
	}
	return resp, err
}
