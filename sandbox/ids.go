package sandbox

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
)

// Each confined sentry runs as root of a user namespace of its own,
// mapped to a host user no other pod's sentry uses (and no one else
// should: the range is far above where distributions allocate users),
// and its stub processes as that namespace's nobody, mapped to the next
// host user. Two pods' sentries are then different users on the host as
// well as in different namespaces: neither may signal, trace or read the
// other even through a hole in the PID namespaces.
const (
	// SentryIDBase is the first host ID of the range.
	SentryIDBase = 0x70000000
	// sentryIDSlots is how many pods the range holds; each takes two
	// IDs.
	sentryIDSlots = 1 << 16
)

// idsMu serializes allocations in this process, from the scan for free
// IDs until the sentry runs as them.
var idsMu sync.Mutex

// allocateSentryIDs returns a host ID pair (sentry, stubs) that no
// process on the host runs as, starting from a random slot. The caller
// must hold idsMu until the sentry started: a concurrent allocation
// would not see it yet.
func allocateSentryIDs() (int, error) {
	used, err := hostUIDsInRange()
	if err != nil {
		return 0, err
	}
	start := rand.IntN(sentryIDSlots)
	for i := 0; i < sentryIDSlots; i++ {
		id := SentryIDBase + 2*((start+i)%sentryIDSlots)
		if !used[id] && !used[id+1] {
			return id, nil
		}
	}
	return 0, fmt.Errorf("no free sentry user IDs: all %d slots from %d are in use", sentryIDSlots, SentryIDBase)
}

// hostUIDsInRange returns the real user IDs in the sentry range of the
// host's processes.
func hostUIDsInRange() (map[int]bool, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	used := make(map[int]bool)
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue // gone
		}
		if uid, ok := statusUID(b); ok && uid >= SentryIDBase && uid < SentryIDBase+2*sentryIDSlots {
			used[uid] = true
		}
	}
	return used, nil
}

// statusUID returns the real user ID of a /proc/PID/status.
func statusUID(status []byte) (int, bool) {
	i := bytes.Index(status, []byte("\nUid:\t"))
	if i < 0 {
		return 0, false
	}
	rest := status[i+len("\nUid:\t"):]
	if j := bytes.IndexAny(rest, "\t\n"); j >= 0 {
		rest = rest[:j]
	}
	uid, err := strconv.Atoi(string(rest))
	return uid, err == nil
}
