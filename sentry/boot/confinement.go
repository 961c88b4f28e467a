package boot

import (
	"log/slog"

	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/platform/stubproc"
)

// logStubConfinement says how the platform's stub processes are confined,
// when it runs application code in host processes: a warning where the
// host refused the namespaces, since a way around the platform's seccomp
// filter would then land in the node's namespaces.
func logStubConfinement(p platform.Platform, log *slog.Logger) {
	s, ok := p.(interface{ StubConfinement() stubproc.Confinement })
	if !ok {
		return
	}
	c := s.StubConfinement()
	if c.Namespaces {
		log.Debug("application stubs confined", "platform", p.Name(), "confinement", c.String())
		return
	}
	log.Warn("application stubs run in the host's namespaces", "platform", p.Name(), "uid", c.UID, "reason", c.Reason)
}
