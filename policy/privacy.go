package policy

import (
	"context"
	"fmt"

	"github.com/optguard/optguard/store"
)

// EraseNumber erases what optguard holds about number (E.164) in every
// organization, as actor through method: the store's crypto-erasure
// (store.Privacy), where an opted-out scope stays opted out as a
// suppression entry. The engine then forgets what it keeps of the number
// itself: its scopes under review, whose later MTs would otherwise stay
// held for a decision about a reply nobody can read any more, and its
// double opt-ins in progress, whose PIN would otherwise answer the YES of
// a later request. It fails with an error wrapping store.ErrNotFound when
// the number has no subject (never seen, or erased already).
func (e *Engine) EraseNumber(ctx context.Context, number string, method store.Method, actor string) (store.ErasureReport, error) {
	var scopes []store.Scope
	for f := (store.ConsentFilter{NumberPrefix: number, Limit: 1000}); ; {
		page, err := e.st.ListConsents(ctx, f)
		if err != nil {
			return store.ErasureReport{}, fmt.Errorf("policy: erasing: %w", err)
		}
		for _, c := range page.Items {
			scopes = append(scopes, c.Scope)
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	rep, err := e.st.EraseNumber(ctx, number, method, actor)
	if err != nil {
		return rep, fmt.Errorf("policy: %w", err)
	}
	if k, ok := packDigits([]byte(number[1:])); ok {
		e.rev.removeNumber(k)
	}
	for _, s := range scopes {
		if rec, err := e.loadPIN(s); err == nil && rec.phase != pinNone {
			if err := e.savePIN(s, &pinRecord{}); err != nil {
				e.log.Error().Err(err).Stringer("scope", s).Msg("the erased number's double opt-in could not be ended; a YES to a later request may get its PIN")
			}
		}
	}
	e.log.Info().Str("number", store.MaskNumber(number)).Str("actor", actor).Stringer("method", method).
		Int("scopes", rep.Scopes).Int("suppressed", rep.Suppressed).Int("held", rep.Held).Msg("number erased")
	return rep, nil
}
