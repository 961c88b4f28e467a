package systrap

import (
	"time"

	"github.com/cocoonrt/cocoon/sentry/platform"
)

// BoundUserTime implements platform.UserTimeBounder with the ledger of the
// stub process that ran the last Switch (cpuledger.Ledger).
func (c *context) BoundUserTime(wall time.Duration) time.Duration {
	t := c.last
	if t == nil {
		return wall
	}
	return t.as.cpu.Charge(wall)
}

var _ platform.UserTimeBounder = (*context)(nil)
