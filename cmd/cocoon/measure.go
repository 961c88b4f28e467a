package main

import (
	"fmt"
	"os"

	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// measureMain is the internal command the daemon measures the sentry
// platforms in (probe.MeasureApart): it prints the report as JSON.
func measureMain([]string) int {
	if err := probe.ServeMeasure(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "cocoon %s: %v\n", probe.Command, err)
		return 1
	}
	return 0
}
