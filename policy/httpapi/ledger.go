package httpapi

import (
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/optguard/optguard/store"
)

func (a *API) ledgerHead(w http.ResponseWriter, r *http.Request) {
	seq, hash, err := a.st.Head(r.Context())
	if err != nil {
		writeError(w, r, a.log, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Seq  uint64 `json:"seq"`
		Hash string `json:"hash"`
	}{seq, hex.EncodeToString(hash[:])})
}

// verifyLedger walks the whole hash chain and says whether it checks out.
// It reads every event, so one runs at a time.
func (a *API) verifyLedger(w http.ResponseWriter, r *http.Request) {
	if !a.verifying.CompareAndSwap(false, true) {
		writeError(w, r, a.log, &Error{Status: http.StatusConflict, Code: "verification_running", Message: "a ledger verification is already running; retry when it has finished"})
		return
	}
	defer a.verifying.Store(false)
	rep, err := a.st.Verify(r.Context())
	type result struct {
		OK       bool   `json:"ok"`
		Events   uint64 `json:"events"`
		HeadHash string `json:"head_hash,omitempty"`
		TookMS   int64  `json:"took_ms"`
		BrokenAt uint64 `json:"broken_at,omitempty"`
		Problem  string `json:"problem,omitempty"`
	}
	var ce *store.ChainError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, result{OK: true, Events: rep.Events, HeadHash: hex.EncodeToString(rep.HeadHash[:]), TookMS: rep.Took.Milliseconds()})
	case errors.As(err, &ce):
		writeJSON(w, http.StatusOK, result{OK: false, Events: rep.Events, TookMS: rep.Took.Milliseconds(), BrokenAt: ce.Seq, Problem: ce.Reason})
	default:
		writeError(w, r, a.log, err)
	}
}
