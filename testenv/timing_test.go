package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// attempt collects the failures of one attempt of a timing-sensitive check.
type attempt struct{ errs []string }

func (a *attempt) Errorf(format string, args ...any) {
	a.errs = append(a.errs, fmt.Sprintf(format, args...))
}

// timing runs f up to attempts times and fails the test only when every
// attempt reported a failure. It is for checks whose figures depend on the
// machine not stalling the process (a loaded runner, the race detector's
// pauses): a real defect fails every attempt, a stall rarely hits three in a
// row. Failures that do not depend on timing should use t as usual.
func timing(t *testing.T, attempts int, f func(a *attempt)) {
	t.Helper()
	var last []string
	for i := range attempts {
		a := &attempt{}
		f(a)
		if len(a.errs) == 0 {
			return
		}
		last = a.errs
		t.Logf("attempt %d/%d failed: %s", i+1, attempts, strings.Join(a.errs, "; "))
	}
	t.Errorf("all %d attempts failed; the last with: %s", attempts, strings.Join(last, "; "))
}
