package cri

// Runtime handlers and the sentry platform each one runs pods on.
//
// The daemon measures the platforms once, at start-up (MeasurePlatforms,
// package probe: a few hundred syscall round trips on each), and resolves
// every pod's platform to an explicit name when the pod is created: the
// name is stored with the pod (podsandbox.PodConfig.Platform), so the pod's
// sentry never measures, a daemon restart does not change a running pod's
// platform, and PodSandboxStatus reports it.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// handlerPlatformPrefix starts the handlers that force one platform:
// "cocoon-kvm", "cocoon-systrap", "cocoon-ptrace".
const handlerPlatformPrefix = handlerCocoon + "-"

// runtimeHandlers are the handlers cocoon serves, in the order Status
// lists them: the default "" and "cocoon" run the configured platform
// (Config.Platform), the others one platform each.
var runtimeHandlers = func() []string {
	hs := []string{"", handlerCocoon}
	for _, name := range probe.Names {
		hs = append(hs, handlerPlatformPrefix+name)
	}
	return hs
}()

// RuntimeHandlers returns the runtime handlers the daemon serves (the
// handler names of Kubernetes RuntimeClasses), the default "" first.
func RuntimeHandlers() []string { return slices.Clone(runtimeHandlers) }

// handlerPlatform returns the platform handler h asks for: the
// configured one (possibly "auto") for "" and "cocoon", the forced one
// for "cocoon-<platform>"; ok is false for a handler cocoon does not
// serve.
func (c Config) handlerPlatform(h string) (name string, ok bool) {
	if h == "" || h == handlerCocoon {
		return c.platform(), true
	}
	name, ok = strings.CutPrefix(h, handlerPlatformPrefix)
	if !ok || name == probe.Auto || !probe.Valid(name) {
		return "", false
	}
	return name, true
}

// platform is Platform with its default.
func (c Config) platform() string {
	if c.Platform == "" {
		return probe.Auto
	}
	return c.Platform
}

// MeasurePlatforms measures the platforms this host offers; Serve calls
// it once, before it serves. It runs the measurement in a child process of
// the daemon's own binary, never in the daemon: a platform's stub factory
// reaps the children of the process it runs in (probe.MeasureApart says
// why that matters). Tests replace it.
var MeasurePlatforms = func() probe.Report { return probe.MeasureApart("/proc/self/exe") }

// WithPlatforms gives the server the daemon's platform measurement: each
// pod then runs on the platform its handler resolves to here, and a
// handler whose platform is unavailable is refused. A server without one
// (tests, an image-only server) hands "auto" to the sentry as it is.
func WithPlatforms(r probe.Report) Option {
	return func(s *Server) { s.platforms = &r }
}

// resolveHandler returns the platform handler h asks for (want) and the
// one its pods run on here (name); known is false for a handler cocoon
// does not serve, and err says why this host cannot run want.
func (s *Server) resolveHandler(h string) (want, name string, known bool, err error) {
	want, known = s.cfg.handlerPlatform(h)
	if !known {
		return "", "", false, nil
	}
	if s.platforms == nil {
		return want, want, true, nil
	}
	name, err = s.platforms.Resolve(want)
	return want, name, true, err
}

// podPlatform returns the platform a new pod with handler h runs on.
// Its errors are gRPC statuses: InvalidArgument for a handler cocoon
// does not serve, FailedPrecondition for one whose platform this host
// cannot run.
func (s *Server) podPlatform(rpc, h string) (string, error) {
	want, name, known, err := s.resolveHandler(h)
	if !known {
		quoted := make([]string, len(runtimeHandlers))
		for i, name := range runtimeHandlers {
			quoted[i] = fmt.Sprintf("%q", name)
		}
		return "", status.Errorf(codes.InvalidArgument, "%s: unknown runtime handler %q: cocoon serves %s", rpc, trunc(h), strings.Join(quoted, ", "))
	}
	if err != nil {
		return "", status.Errorf(codes.FailedPrecondition, "%s: runtime handler %q needs the %s platform, which this host cannot run: %v", rpc, h, want, err)
	}
	return name, nil
}

// handlerStatus is one handler's line in the verbose Status.
type handlerStatus struct {
	Handler string `json:"handler"`
	// Requested is the platform the handler asks for ("auto" for the
	// default handlers with the default configuration).
	Requested string `json:"requested"`
	// Platform is the one its pods run on; empty when unavailable.
	Platform string `json:"platform,omitempty"`
	// Unavailable says why the handler's pods cannot run here.
	Unavailable string `json:"unavailable,omitempty"`
}

// platformStatus is Status's verbose info["platform"].
type platformStatus struct {
	// Configured is the daemon's platform setting.
	Configured string `json:"configured"`
	// Choice is what "auto" runs here; empty when unmeasured or when no
	// platform works.
	Choice string `json:"choice"`
	// Measured says whether the daemon measured (a server without a
	// pod runtime does not).
	Measured    bool            `json:"measured"`
	Measurement *probe.Report   `json:"measurement,omitempty"`
	Handlers    []handlerStatus `json:"handlers"`
}

// platformInfo returns the platform status as JSON.
func (s *Server) platformInfo() (string, error) {
	st := platformStatus{Configured: s.cfg.platform(), Measured: s.platforms != nil, Measurement: s.platforms}
	if s.platforms != nil {
		st.Choice = s.platforms.Choice
	}
	for _, h := range runtimeHandlers {
		want, name, _, err := s.resolveHandler(h)
		hs := handlerStatus{Handler: h, Requested: want, Platform: name}
		if err != nil {
			hs.Platform, hs.Unavailable = "", err.Error()
		}
		st.Handlers = append(st.Handlers, hs)
	}
	b, err := json.Marshal(st)
	return string(b), err
}

// defaultPlatformCondition returns why the default handlers cannot run
// pods here, or nil when they can (or when nothing was measured).
func (s *Server) defaultPlatformCondition() error {
	if s.platforms == nil {
		return nil
	}
	return s.platforms.Check(s.cfg.platform())
}

// handlerStatuses are the RuntimeHandlers Status lists: every handler,
// with the same features (none of them supports recursive read-only
// mounts or user namespaces).
func handlerStatuses() []*runtimeapi.RuntimeHandler {
	var out []*runtimeapi.RuntimeHandler
	for _, h := range runtimeHandlers {
		out = append(out, &runtimeapi.RuntimeHandler{
			Name:     h,
			Features: &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: false, UserNamespaces: false},
		})
	}
	return out
}
