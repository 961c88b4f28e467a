package systrap

import (
	"time"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// BoundUserTime implements platform.UserTimeBounder with the stub process's
// CPU clock (stubproc.CPUMark).
func (c *context) BoundUserTime(wall time.Duration) time.Duration {
	t := c.last
	if t == nil {
		return wall
	}
	return t.cpu.Bound(t.as.first.tgid, wall)
}

var _ platform.UserTimeBounder = (*context)(nil)
