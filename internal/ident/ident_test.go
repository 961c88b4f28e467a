package ident

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidMatchesPattern checks Valid against the regular expression it
// replaces.
func TestValidMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,9}$`)
	for _, id := range []string{
		"", "a", "A9", "0", ".a", "_a", "-a", "a.b_c-d", "a/b", "a b", "a\x00", "é",
		"abcdefghij", "abcdefghijk", strings.Repeat("x", 10), strings.Repeat("x", 11), "a..", "a:b",
	} {
		if got, want := Valid(id, 10), re.MatchString(id); got != want {
			t.Errorf("Valid(%q, 10) = %v, the pattern says %v", id, got, want)
		}
	}
}
