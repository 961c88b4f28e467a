package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// defaultDomain is the registry that names without one refer to, as
// containerd and kubelet spell it (ggcr calls it index.docker.io).
const defaultDomain = "docker.io"

var (
	anchoredHex = regexp.MustCompile(`^[a-f0-9]{64}$`)
	digestRE    = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	// pathComponentRE is a repository path component (distribution's
	// reference grammar).
	pathComponentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
)

// reference is a parsed, normalised image reference.
type reference struct {
	// Domain is the registry host ("docker.io", "localhost:5000").
	Domain string
	// Repo is the full normalised repository
	// ("docker.io/library/busybox").
	Repo string
	// Tag is the tag, "" when the reference has only a digest.
	Tag string
	// Digest is "sha256:...", or "".
	Digest string
}

// String is the normalised reference: repo:tag, repo@digest or
// repo:tag@digest.
func (r reference) String() string {
	s := r.Repo
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// tagName is repo:tag, or "" without a tag.
func (r reference) tagName() string {
	if r.Tag == "" {
		return ""
	}
	return r.Repo + ":" + r.Tag
}

// digestName is repo@digest for digest d.
func (r reference) digestName(d string) string { return r.Repo + "@" + d }

// ggcrRepo is the repository in go-containerregistry's terms.
func (r reference) ggcrRepo() (name.Repository, error) {
	return name.NewRepository(r.Repo)
}

// Normalize returns ref normalised as kubelet and containerd do:
// "busybox" becomes "docker.io/library/busybox:latest", "foo/bar"
// becomes "docker.io/foo/bar:latest", a name with a registry keeps it, a
// digest reference keeps its digest and a reference with both a tag and
// a digest keeps both ("repo:tag@sha256:...").
func Normalize(ref string) (string, error) {
	r, err := parseReference(ref)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// parseReference parses and normalises ref.
func parseReference(ref string) (reference, error) {
	var r reference
	if ref == "" {
		return r, fmt.Errorf("invalid image reference: empty")
	}
	if strings.TrimSpace(ref) != ref {
		return r, fmt.Errorf("invalid image reference %q: surrounding white space", ref)
	}
	if anchoredHex.MatchString(ref) {
		return r, fmt.Errorf("invalid image reference %q: cannot specify a 64-byte hexadecimal string (an image ID)", ref)
	}
	rest := ref
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		r.Digest = rest[i+1:]
		rest = rest[:i]
		if !digestRE.MatchString(r.Digest) {
			return r, fmt.Errorf("invalid image reference %q: digest %q is not sha256:<64 lower-case hex>", ref, r.Digest)
		}
	}
	// A tag is after the last ':' that follows the last '/'.
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i+1:], "/") {
		r.Tag = rest[i+1:]
		rest = rest[:i]
		if r.Tag == "" {
			return r, fmt.Errorf("invalid image reference %q: empty tag", ref)
		}
	}
	if rest == "" {
		return r, fmt.Errorf("invalid image reference %q: empty name", ref)
	}
	domain, remainder := splitDomain(rest)
	if remainder != strings.ToLower(remainder) {
		return r, fmt.Errorf("invalid image reference %q: repository name must be lowercase", ref)
	}
	for _, c := range strings.Split(remainder, "/") {
		if !pathComponentRE.MatchString(c) {
			return r, fmt.Errorf("invalid image reference %q: bad repository path component %q", ref, c)
		}
	}
	r.Domain = domain
	r.Repo = domain + "/" + remainder
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	// Let go-containerregistry check the characters of each part.
	if _, err := name.NewRepository(r.Repo, name.StrictValidation); err != nil {
		return r, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	if r.Tag != "" {
		if _, err := name.NewTag(r.Repo+":"+r.Tag, name.StrictValidation); err != nil {
			return r, fmt.Errorf("invalid image reference %q: %w", ref, err)
		}
	}
	if r.Digest != "" {
		if _, err := name.NewDigest(r.Repo+"@"+r.Digest, name.StrictValidation); err != nil {
			return r, fmt.Errorf("invalid image reference %q: %w", ref, err)
		}
	}
	return r, nil
}

// splitDomain splits a name into registry and path as the docker
// reference library does: the first component is a registry only if it
// has a '.' or ':' or is "localhost".
func splitDomain(n string) (domain, remainder string) {
	i := strings.IndexByte(n, '/')
	if i == -1 || (!strings.ContainsAny(n[:i], ".:") && n[:i] != "localhost" && strings.ToLower(n[:i]) == n[:i]) {
		domain, remainder = defaultDomain, n
	} else {
		domain, remainder = n[:i], n[i+1:]
	}
	if domain == "index.docker.io" {
		domain = defaultDomain
	}
	if domain == defaultDomain && !strings.Contains(remainder, "/") {
		remainder = "library/" + remainder
	}
	return domain, remainder
}
