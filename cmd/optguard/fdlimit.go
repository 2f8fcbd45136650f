package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/rs/zerolog"
)

// Open files serve needs: two per bind (the ESME's connection and the
// upstream one it opens), plus a fixed reserve for the store's files
// (badger's value log, tables and manifest), the listeners, the admin server
// and its clients, service binds and stdio.
const (
	filesPerBind = 2
	filesReserve = 1024
)

// filesNeeded is the open-file limit that binds binds need.
func filesNeeded(binds int) uint64 { return uint64(max(binds, 0))*filesPerBind + filesReserve }

// bindsAllowed is how many binds an open-file limit leaves room for.
func bindsAllowed(limit uint64) int {
	if limit <= filesReserve {
		return 0
	}
	return int(min((limit-filesReserve)/filesPerBind, math.MaxInt32))
}

// checkFileLimit raises the soft open-file limit to the hard limit and logs one
// warning when it is still below what maxConnections binds
// (listen.max_connections) need beside the storeFiles files the store holds
// open (store.OpenFiles: badger keeps every table and log file open, and a
// large store has thousands), naming how many binds it allows. It returns
// the soft limit in force, or 0 where the platform has none or it cannot be
// read.
func checkFileLimit(log zerolog.Logger, maxConnections, storeFiles int) uint64 {
	soft, hard, err := raiseFileLimit()
	if errors.Is(err, errors.ErrUnsupported) {
		return 0
	}
	if err != nil {
		log.Warn().Err(err).Int("max_connections", maxConnections).
			Msg("cannot read the open-file limit: binds beyond it will fail to connect")
		return 0
	}
	storeHeld := uint64(max(storeFiles, 0))
	need := filesNeeded(maxConnections) + storeHeld
	allowed := bindsAllowed(soft - min(soft, storeHeld))
	if soft >= need {
		log.Debug().Uint64("open_file_limit", soft).Int("store_files", storeFiles).Int("binds_allowed", allowed).Msg("open-file limit")
		return soft
	}
	log.Warn().Uint64("open_file_limit", soft).Uint64("hard_limit", hard).Int("binds_allowed", allowed).
		Int("max_connections", maxConnections).Int("store_files", storeFiles).Uint64("open_files_needed", need).
		Msg(fmt.Sprintf("the open-file limit (%d) allows about %d binds (%d descriptors each, %d kept for the store's %d files, the listeners and admin), "+
			"fewer than listen.max_connections (%d): binds beyond that fail to connect; raise the limit to %d "+
			"(ulimit -n %d before starting, or LimitNOFILE=%d in the systemd unit) or lower listen.max_connections",
			soft, allowed, filesPerBind, filesReserve+storeHeld, storeFiles, maxConnections, need, need, need))
	return soft
}
