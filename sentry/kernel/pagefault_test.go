package kernel

import (
	"testing"

	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

// TestPageFaultErrorCode checks the error codes signal frames carry for
// the faults Linux reports them for: the access the platform saw, else
// the one the memory manager inferred, else a fetch at the instruction
// pointer; the protection bit unless nothing was mapped.
func TestPageFaultErrorCode(t *testing.T) {
	const rip = 0x401000
	accErr := mm.FaultResult{Signo: 11, Code: mm.SegvAccErr}
	mapErr := mm.FaultResult{Signo: 11, Code: mm.SegvMapErr}
	inferred := accErr
	inferred.Access = platform.Write
	for _, tc := range []struct {
		name string
		trap platform.Trap
		res  mm.FaultResult
		want uint64
	}{
		{"write to a hole", platform.Trap{Addr: 0x1000, Access: platform.Write, NotPresent: true}, mapErr, pfUser | pfWrite},
		{"read of a hole", platform.Trap{Addr: 0x1000, Access: platform.Read, NotPresent: true}, mapErr, pfUser},
		{"write to a present read-only page", platform.Trap{Addr: 0x1000, Access: platform.Write}, accErr, pfUser | pfWrite | pfProtection},
		{"unreported write, inferred", platform.Trap{Addr: 0x1000}, inferred, pfUser | pfWrite | pfProtection},
		{"unreported access at rip", platform.Trap{Addr: rip}, accErr, pfUser | pfInstr | pfProtection},
		{"unreported access to a hole", platform.Trap{Addr: 0x1000, NotPresent: true}, mapErr, pfUser},
		{"fetch", platform.Trap{Addr: 0x2000, Access: platform.Execute}, accErr, pfUser | pfInstr | pfProtection},
	} {
		if got := pageFaultErrorCode(tc.trap, tc.res, rip); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
}
