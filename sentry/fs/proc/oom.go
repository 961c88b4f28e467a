package proc

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/sysctl"
)

// /proc/[pid]/oom_score_adj, oom_adj and oom_score.

// OOMSource is implemented by Sources that keep processes' OOM score
// adjustments. Without it, oom_score_adj reads 0 and cannot be written.
type OOMSource interface {
	// OOMScoreAdj returns process pid's oom_score_adj, or its legacy
	// oom_adj.
	OOMScoreAdj(pid int32, legacy bool) (int, error)
	// SetOOMScoreAdj sets it on behalf of the caller, with Linux's
	// errors.
	SetOOMScoreAdj(pid int32, value int, legacy bool) error
	// OOMScore returns process pid's oom_score.
	OOMScore(pid int32) (int, error)
}

// procNumBuf is PROC_NUMBUF: a write takes at most this many bytes less
// one.
const procNumBuf = 13

// parseProcInt parses a number written to a proc file as kstrtoint does
// after strstrip: an optional sign, then decimal, octal after a leading
// 0, or hexadecimal after 0x.
func parseProcInt(p []byte) (int, error) {
	s := string(bytes.TrimSpace(p[:min(len(p), procNumBuf-1)]))
	if strings.HasPrefix(s, "+") {
		s = s[1:]
		if strings.HasPrefix(s, "-") {
			return 0, unix.EINVAL
		}
	}
	v, err := sysctl.ParseCInt(s)
	if err != nil || v < math.MinInt32 || v > math.MaxInt32 {
		return 0, unix.EINVAL
	}
	return int(v), nil
}

// oomEntries returns the OOM files of a process directory.
func (fs *filesystem) oomEntries(v *view) []entry {
	src, ok := fs.src.(OOMSource)
	if !ok {
		return []entry{{"oom_score_adj", func(k string) *node {
			return fs.file(k, 0o444, v.attr, func() ([]byte, error) { return []byte("0\n"), nil })
		}}}
	}
	adjFile := func(name string, legacy bool) entry {
		return entry{name, func(k string) *node {
			n := fs.file(k, 0o644, v.attr, func() ([]byte, error) {
				adj, err := src.OOMScoreAdj(v.pid, legacy)
				if err != nil {
					return nil, err
				}
				return fmt.Appendf(nil, "%d\n", adj), nil
			})
			n.write = func(p []byte) (int, error) {
				value, err := parseProcInt(p)
				if err != nil {
					return 0, err
				}
				if err := src.SetOOMScoreAdj(v.pid, value, legacy); err != nil {
					return 0, err
				}
				return len(p), nil
			}
			return n
		}}
	}
	return []entry{
		adjFile("oom_adj", true),
		{"oom_score", func(k string) *node {
			return fs.file(k, 0o444, v.attr, func() ([]byte, error) {
				score, err := src.OOMScore(v.pid)
				if err != nil {
					return nil, err
				}
				return fmt.Appendf(nil, "%d\n", score), nil
			})
		}},
		adjFile("oom_score_adj", false),
	}
}
