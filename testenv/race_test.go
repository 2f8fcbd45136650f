//go:build race

package testenv

// raceEnabled: under the race detector sync.Pool drops a share of what is
// put back on purpose, so allocation counts that rely on a pool do not hold.
const raceEnabled = true
