package boot

import (
	"bufio"
	"fmt"
	"io"
	"sync"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/strace"
)

// newStrace returns a kernel.StraceFunc that writes one line per system
// call to w: at exit with the decoded result, and at entry only for calls
// that do not return.
func newStrace(w io.Writer) kernel.StraceFunc {
	var mu sync.Mutex
	bw := bufio.NewWriter(w)
	return func(t *kernel.Task, nr uint64, exit bool, ret uint64) {
		args := t.State().Args()
		mu.Lock()
		defer mu.Unlock()
		switch {
		case exit && (nr == 60 || nr == 231):
			// Already printed at entry: these calls do not return.
			return
		case exit:
			fmt.Fprintf(bw, "[%4d] %s\n", t.RootTID(), strace.Exit(t.MM(), nr, args, ret))
		case nr == 60 || nr == 231: // exit, exit_group
			fmt.Fprintf(bw, "[%4d] %s\n", t.RootTID(), strace.Entry(t.MM(), nr, args))
		default:
			return
		}
		bw.Flush()
	}
}
