package store

import (
	"encoding/hex"
	"time"
)

// The View types are the JSON form of the store's records, with stable
// field names: the subject access export and the operator API write them,
// so that a record reads the same wherever it is shown. Enums are their
// names, hashes and raw bytes hex, and a zero time is left out.

// MOView is an MO's text, its data_coding and its exact bytes.
type MOView struct {
	Text       string `json:"text"`
	DataCoding uint8  `json:"data_coding"`
	RawHex     string `json:"raw_hex"`
}

// EventView is one ledger event. Sender is the scope's (an account that
// keeps consent per sender), Via the sender of the event's conversation
// where the scope has none.
type EventView struct {
	Seq             uint64    `json:"seq"`
	Type            string    `json:"type"`
	Organization    string    `json:"organization"`
	Sender          string    `json:"sender,omitempty"`
	Via             string    `json:"via,omitempty"`
	Number          string    `json:"number,omitempty"`
	Erased          bool      `json:"erased,omitempty"`
	PrevState       string    `json:"prev_state"`
	NewState        string    `json:"new_state"`
	Mode            string    `json:"mode"`
	Method          string    `json:"method"`
	Actor           string    `json:"actor"`
	OccurredAt      time.Time `json:"occurred_at"`
	RecordedAt      time.Time `json:"recorded_at"`
	MO              *MOView   `json:"mo,omitempty"`
	Template        string    `json:"template,omitempty"`
	TemplateVersion uint32    `json:"template_version,omitempty"`
	MessageID       string    `json:"message_id,omitempty"`
	Note            string    `json:"note,omitempty"`
	Hash            string    `json:"hash"`
}

// ViewEvent is ev's EventView, without the number (the subject export
// names it once); callers that list several numbers set Number.
func ViewEvent(ev Event) EventView {
	e := EventView{Seq: ev.Seq, Type: ev.Type.String(), Organization: ev.Scope.Org, Sender: ev.Scope.Sender, Via: ev.Via,
		Erased: ev.Erased, PrevState: ev.PrevState.String(), NewState: ev.NewState.String(), Mode: ev.Mode.String(),
		Method: ev.Method.String(), Actor: ev.Actor, OccurredAt: ev.OccurredAt, RecordedAt: ev.RecordedAt, Template: ev.Template,
		TemplateVersion: ev.TemplateVersion, MessageID: ev.MessageID, Note: ev.Note, Hash: hex.EncodeToString(ev.Hash[:])}
	if ev.MO != nil {
		e.MO = &MOView{Text: ev.MO.Text, DataCoding: ev.MO.DataCoding, RawHex: hex.EncodeToString(ev.MO.Raw)}
	}
	return e
}

// ConsentView is one scope's consent record.
type ConsentView struct {
	Organization   string     `json:"organization"`
	Sender         string     `json:"sender,omitempty"`
	Number         string     `json:"number,omitempty"`
	State          string     `json:"state"`
	Mode           string     `json:"mode"`
	Erased         bool       `json:"erased"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
	LastEvent      string     `json:"last_event,omitempty"`
	OptedInAt      *time.Time `json:"opted_in_at,omitempty"`
	OptedInMethod  string     `json:"opted_in_method,omitempty"`
	OptedOutAt     *time.Time `json:"opted_out_at,omitempty"`
	OptedOutMethod string     `json:"opted_out_method,omitempty"`
}

// ViewConsent is c's ConsentView, without the number (see ViewEvent). An
// erased record (a suppression entry) has no last event to show.
func ViewConsent(c Consent) ConsentView {
	v := ConsentView{Organization: c.Scope.Org, Sender: c.Scope.Sender, State: c.State.String(), Mode: c.Mode.String(), Erased: c.Erased,
		CreatedAt: optTime(c.CreatedAt), UpdatedAt: optTime(c.UpdatedAt), OptedInAt: optTime(c.OptedInAt), OptedOutAt: optTime(c.OptedOutAt)}
	if !c.Erased {
		v.LastEvent = c.LastEvent.String()
	}
	if !c.OptedInAt.IsZero() {
		v.OptedInMethod = c.OptedInMethod.String()
	}
	if !c.OptedOutAt.IsZero() {
		v.OptedOutMethod = c.OptedOutMethod.String()
	}
	return v
}

// StatusView is one entry of a message's status history.
type StatusView struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// MessageView is one message log record with its history, oldest first.
type MessageView struct {
	ID           string       `json:"id"`
	Organization string       `json:"organization"`
	Sender       string       `json:"sender,omitempty"`
	Number       string       `json:"number,omitempty"`
	At           time.Time    `json:"at"`
	Status       string       `json:"status"` // the latest status
	History      []StatusView `json:"history"`
}

// ViewMessage is m's MessageView, without the number (see ViewEvent).
func ViewMessage(m Message) MessageView {
	v := MessageView{ID: m.ID, Organization: m.Org, Sender: m.Sender, At: m.At, History: []StatusView{}}
	for _, h := range m.History {
		v.History = append(v.History, StatusView{Status: h.Status.String(), At: h.At})
		v.Status = h.Status.String()
	}
	return v
}

// optTime is t, or nil for the zero time so that JSON leaves it out.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
