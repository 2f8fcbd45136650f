package policy

import "time"

var testNow = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
