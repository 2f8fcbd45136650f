package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Eventually polls cond every 5 ms until it returns true, and fails the test
// (t.Fatal) with the message when timeout passes first. msgAndArgs is an
// optional format string and its arguments. Call it from the test's goroutine.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: condition not met within %s: %s", timeout, message(msgAndArgs))
		}
		<-tick.C
	}
}

func message(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return "(no message)"
	}
	if format, ok := msgAndArgs[0].(string); ok {
		return fmt.Sprintf(format, msgAndArgs[1:]...)
	}
	return fmt.Sprint(msgAndArgs...)
}

// LeakOptions are the goleak options VerifyNoLeaks uses: besides goleak's own
// defaults, they ignore goroutines of the testing package that wait for
// parallel tests. Pass them to goleak.VerifyTestMain in a TestMain.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("testing.(*T).Parallel"),
		goleak.IgnoreTopFunction("testing.(*testState).waitParallel"),
		goleak.IgnoreTopFunction("testing.tRunner.func1"),
	}
}

// VerifyNoLeaks fails the test if goroutines other than the runtime's and the
// testing package's are still running (goleak retries for a while, so
// goroutines that are ending get the time to end). It sees every goroutine of
// the process: call it at the end of a test that does not run in parallel with
// others, or register it with t.Cleanup before anything else so that it runs
// after every other cleanup (Close calls included).
func VerifyNoLeaks(t testing.TB) {
	t.Helper()
	goleak.VerifyNone(t, LeakOptions()...)
}

// Context returns a context canceled after d or when the test ends, whichever
// comes first.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
