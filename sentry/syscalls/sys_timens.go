package syscalls

import (
	"time"

	"github.com/cocoonrt/cocoon/sentry/fs/timerfd"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// Clocks as a task in a time namespace reads them (sentry/kernel
// timens.go): the host's clock plus the namespace's offset.

// timensClock returns the timerfd clock of clock id for t: nil (the host's
// clock, timerfd's default) when t's time namespace does not offset it,
// else the host's clock shifted by the offset, so that absolute
// expirations and the times read back are in t's clock (Linux's
// timens_ktime_to_host in timerfd_settime).
func timensClock(t *kernel.Task, id int32) timerfd.Clock {
	off := t.ClockOffset(id)
	if off == 0 {
		return nil
	}
	return offsetClock{Clock: timerfd.HostClock(id), off: off}
}

// offsetClock is a timerfd clock read with an offset added.
type offsetClock struct {
	timerfd.Clock
	off time.Duration
}

func (c offsetClock) Now() time.Duration { return c.Clock.Now() + c.off }
