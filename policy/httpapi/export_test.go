package httpapi

// SetOptInWindow makes a page of the opt-in report read at most n ledger
// events, so that a test sees pages cut by the window; 0 restores the
// default.
func SetOptInWindow(n uint64) { optInWindow.Store(n) }
