package sysfuzz

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cocoonrt/cocoon/test/internal/cocoonbin"
)

// regressions are generator batches that once crashed, hung or leaked the
// sandbox; each replays exactly (call i depends only on the seed and i).
var regressions = []struct {
	name, seed, start, what string
	// notInLog must not appear in the generator's output.
	notInLog string
}{
	{
		name:  "sendfile-unkillable",
		seed:  "1795895552534566169",
		start: "211600",
		what:  "a sendfile whose output refused the write while reporting itself writable spun unkillably in the sentry (writeKernel)",
		// The batch's child must be killable: no HANG line.
		notInLog: "HANG",
	},
}

func TestFuzzRegressions(t *testing.T) {
	dir := t.TempDir()
	cocoon, err := cocoonbin.Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "sysfuzz")
	build := exec.Command("go", "build", "-o", gen, "./gen")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the generator: %v\n%s", err, out)
	}
	for _, r := range regressions {
		t.Run(r.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			args := append(cocoonbin.Do(), "--", gen, "-seed", r.seed, "-start", r.start, "-count", "200", "-batch", "200")
			cmd := exec.CommandContext(ctx, cocoon, args...)
			cmd.Dir = "/"
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil || err != nil || strings.Contains(string(out), r.notInLog) || !strings.Contains(string(out), "sysfuzz: done") {
				t.Errorf("%s: replay -seed %s -start %s: %v\n%s", r.what, r.seed, r.start, err, out)
			}
		})
	}
}
