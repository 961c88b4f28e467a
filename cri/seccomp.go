package cri

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/sentry/control"
	"github.com/cocoonrt/cocoon/sentry/seccomp"
	"github.com/cocoonrt/cocoon/sentry/seccomp/profile"
)

// Container seccomp profiles are applied inside the sentry: the daemon
// resolves the profile a container asks for (its own, else the pod's,
// else Unconfined, as in containerd), compiles it to classic BPF
// (sentry/seccomp/profile) for the container's capabilities, and the
// sentry installs the filter on the container's processes before their
// first instruction, as runc does. The sentry's own host filter is a
// separate, fixed one; this one is the application's view (Seccomp: 2 in
// /proc/self/status, EPERM from blocked calls).

// annSeccomp holds the pod-level profile reference (seccompRef's form),
// the default of the pod's containers: podsandbox.PodConfig has no field
// for it.
const annSeccomp = internalPrefix + "seccomp"

// Profile references, in the form of the deprecated
// seccomp_profile_path ("" when the request names none).
const (
	seccompUnconfined     = "unconfined"
	seccompRuntimeDefault = "runtime/default"
	seccompLocalhost      = "localhost/"
)

// seccompRef returns the profile reference of a security context: the
// structured field, which wins, or the deprecated path ("docker/default"
// is an old name of "runtime/default"). A Localhost profile must be an
// absolute path on the host (kubelet sends one under its seccomp root).
func seccompRef(where string, p *runtimeapi.SecurityProfile, path string) (string, error) {
	if p != nil {
		switch p.GetProfileType() {
		case runtimeapi.SecurityProfile_RuntimeDefault:
			return seccompRuntimeDefault, nil
		case runtimeapi.SecurityProfile_Unconfined:
			return seccompUnconfined, nil
		case runtimeapi.SecurityProfile_Localhost:
			ref := p.GetLocalhostRef()
			if !filepath.IsAbs(ref) {
				return "", fmt.Errorf("%s.seccomp: Localhost profile %q is not an absolute path", where, trunc(ref))
			}
			return seccompLocalhost + filepath.Clean(ref), nil
		}
		return "", fmt.Errorf("%s.seccomp: unknown profile type %d", where, p.GetProfileType())
	}
	switch path {
	case "":
		return "", nil
	case "runtime/default", "docker/default":
		return seccompRuntimeDefault, nil
	case "unconfined":
		return seccompUnconfined, nil
	}
	if ref, ok := strings.CutPrefix(path, seccompLocalhost); ok {
		if !filepath.IsAbs(ref) {
			return "", fmt.Errorf("%s.seccomp_profile_path %q: the Localhost profile is not an absolute path", where, trunc(path))
		}
		return seccompLocalhost + filepath.Clean(ref), nil
	}
	return "", fmt.Errorf("%s.seccomp_profile_path %q is not a profile cocoon knows", where, trunc(path))
}

// checkSeccomp checks a security context's profile reference.
func checkSeccomp(where string, p *runtimeapi.SecurityProfile, path string) error {
	_, err := seccompRef(where, p, path)
	return err
}

// containerSeccomp returns the compiled profile of a container whose own
// reference is ref ("" for none) in a pod whose default is podRef, for
// a process with capabilities caps (the bounding set the profile's
// includes/excludes test); nil is Unconfined.
func containerSeccomp(ref, podRef string, caps []string) (*control.SeccompProgram, error) {
	if ref == "" {
		ref = podRef
	}
	var (
		sp  = profile.Default()
		err error
	)
	switch {
	case ref == "" || ref == seccompUnconfined:
		return nil, nil
	case ref == seccompRuntimeDefault:
	case strings.HasPrefix(ref, seccompLocalhost):
		path := strings.TrimPrefix(ref, seccompLocalhost)
		if sp, err = profile.Load(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("seccomp Localhost profile %s does not exist", path)
			}
			return nil, fmt.Errorf("seccomp Localhost profile: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown seccomp profile %q", trunc(ref))
	}
	p, err := profile.Compile(sp, caps)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", ref, err)
	}
	if p == nil {
		return nil, nil
	}
	return &control.SeccompProgram{Filter: seccomp.EncodeInstructions(p.Instructions), Log: p.Log}, nil
}
