package policy

import (
	"context"
	"fmt"

	"github.com/optguard/optguard/store"
)

// EraseNumber erases what optguard holds about number (E.164) in every
// organization, as actor through method: the store's crypto-erasure
// (store.Privacy), where an opted-out scope stays opted out as a
// suppression entry. The engine then forgets the number's scopes under
// review, whose later MTs would otherwise stay held for a decision about
// a reply nobody can read any more. It fails with an error wrapping
// store.ErrNotFound when the number has no subject (never seen, or erased
// already).
func (e *Engine) EraseNumber(ctx context.Context, number string, method store.Method, actor string) (store.ErasureReport, error) {
	rep, err := e.st.EraseNumber(ctx, number, method, actor)
	if err != nil {
		return rep, fmt.Errorf("policy: %w", err)
	}
	if k, ok := packDigits([]byte(number[1:])); ok {
		e.rev.removeNumber(k)
	}
	e.log.Info().Str("number", store.MaskNumber(number)).Str("actor", actor).Stringer("method", method).
		Int("scopes", rep.Scopes).Int("suppressed", rep.Suppressed).Int("held", rep.Held).Msg("number erased")
	return rep, nil
}
