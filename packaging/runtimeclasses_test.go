package packaging

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cocoonrt/cocoon/cri"
)

// runtimeclasses.yaml has one RuntimeClass per runtime handler the daemon
// serves (all but the default ""), each named after its handler.
func TestRuntimeClasses(t *testing.T) {
	data, err := os.ReadFile("runtimeclasses.yaml")
	if err != nil {
		t.Fatal(err)
	}
	field := func(doc, key string) string {
		m := regexp.MustCompile(`(?m)^` + key + `: *(\S+)$`).FindStringSubmatch(doc)
		if m == nil {
			return ""
		}
		return m[1]
	}
	var handlers []string
	for i, doc := range strings.Split(string(data), "\n---\n") {
		if field(doc, "apiVersion") != "node.k8s.io/v1" || field(doc, "kind") != "RuntimeClass" {
			t.Errorf("document %d is not a node.k8s.io/v1 RuntimeClass:\n%s", i, doc)
		}
		name := field(doc, "  name")
		h := field(doc, "handler")
		if name == "" || name != h {
			t.Errorf("document %d: name %q, handler %q: want a RuntimeClass named after its handler", i, name, h)
		}
		handlers = append(handlers, h)
	}
	want := slices.DeleteFunc(cri.RuntimeHandlers(), func(h string) bool { return h == "" })
	if !slices.Equal(handlers, want) {
		t.Errorf("RuntimeClass handlers %q, want the daemon's %q", handlers, want)
	}
}
