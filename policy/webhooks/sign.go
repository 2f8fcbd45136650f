package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of every request besides Content-Type.
const (
	// HeaderTimestamp is when the request was signed, in Unix seconds.
	HeaderTimestamp = "Optguard-Timestamp"
	// HeaderSignature is "v1=" and the hex HMAC-SHA256, under the
	// endpoint's secret, of the timestamp, ".", and the body.
	HeaderSignature = "Optguard-Signature"
	// HeaderAttempt counts the tries of the request's events, from 1.
	HeaderAttempt = "Optguard-Attempt"
)

// Sign is the HeaderSignature value of body signed at timestamp.
func Sign(secret []byte, timestamp int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhooks: no v1 signature")
	ErrBadSignature = errors.New("webhooks: signature does not match")
	ErrStale        = errors.New("webhooks: timestamp too far from now")
)

// Verify checks a request as a receiver should: signature is the
// HeaderSignature value (a comma-separated list; one matching v1 entry
// suffices), timestamp the HeaderTimestamp value, which must be within
// tolerance of now so that a recorded request cannot be replayed later.
// The comparison takes constant time.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := mac(secret, timestamp, body)
	found := false
	for _, part := range strings.Split(signature, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		found = true
		if got, err := hex.DecodeString(v); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	if !found {
		return ErrNoSignature
	}
	return ErrBadSignature
}
