package boot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
	glog "gvisor.dev/gvisor/pkg/log"
)

// gvisorLog takes the log lines of the gVisor packages the sentry uses
// (its TCP/IP stack and nftables interpreter) into the sentry's log, one
// level down (their warnings are the library's diagnostics, not the
// pod's: Info, which a pod's log keeps and `cocoon do` does not print),
// and rate-limited: some are written per packet, and a program in the
// sandbox must not be able to fill the node's disk with them.
type gvisorLog struct {
	log     *slog.Logger
	limiter *rate.Limiter

	// mu protects dropped, the lines the limiter refused since the last
	// one written.
	mu      sync.Mutex
	dropped int
}

// gvisorLogRate and gvisorLogBurst bound the lines a second, and at once.
const (
	gvisorLogRate  = 1
	gvisorLogBurst = 20
)

// routeGvisorLog sends gVisor's log to log from now on.
func routeGvisorLog(log *slog.Logger) {
	glog.SetTarget(&gvisorLog{log: log, limiter: rate.NewLimiter(gvisorLogRate, gvisorLogBurst)})
}

// Emit implements glog.Emitter.
func (g *gvisorLog) Emit(_ int, level glog.Level, _ time.Time, format string, args ...any) {
	l := slog.LevelDebug
	if level == glog.Warning {
		l = slog.LevelInfo
	}
	ctx := context.Background()
	if !g.log.Enabled(ctx, l) {
		return
	}
	g.mu.Lock()
	if !g.limiter.Allow() {
		g.dropped++
		g.mu.Unlock()
		return
	}
	dropped := g.dropped
	g.dropped = 0
	g.mu.Unlock()
	if dropped > 0 {
		g.log.Log(ctx, l, "gvisor: lines dropped by the rate limit", "count", dropped)
	}
	g.log.Log(ctx, l, "gvisor: "+fmt.Sprintf(format, args...))
}
