package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/policy"
	"github.com/optguard/optguard/policy/keywords"
	"github.com/optguard/optguard/smpp"
	"github.com/optguard/optguard/smpp/pdu"
)

// This file adapts the consent policy to the proxy: policy.Engine decides
// in its own types, the proxy asks through smpp.Interceptor, and what the
// policy originates goes out through smpp.Server.Inject. Wiring only.

// interceptor is policy.Engine as an smpp.Interceptor.
type interceptor struct{ e *policy.Engine }

// MT is the verdict of an MT that the bind session's policy.Session could
// not decide from memory, or of a submit_multi.
func (i interceptor) MT(c *smpp.Call, m *pdu.Message) smpp.Verdict {
	return i.verdict(c, i.e.MT(policy.Bind{SystemID: c.SystemID, Session: c.Session}, m, c.PDU))
}

// SessionMT gives the relay the bind session's policy.Session, which is
// an smpp.SessionMT as it is: the relay calls it directly for each MT.
func (i interceptor) SessionMT(c *smpp.Call) smpp.SessionMT {
	return i.e.Session(policy.Bind{SystemID: c.SystemID, Session: c.Session})
}

func (i interceptor) MO(c *smpp.Call, m *pdu.Message) smpp.Verdict {
	return i.verdict(c, i.e.MO(policy.Bind{SystemID: c.SystemID, Session: c.Session}, m, c.PDU))
}

func (i interceptor) verdict(c *smpp.Call, d policy.Decision) smpp.Verdict {
	if d.Action == policy.Forward && d.Unsuccess == nil && d.InjectBefore == nil && d.Inject == nil {
		return smpp.Verdict{} // the common answer, without building one
	}
	if d.Action != policy.Defer {
		return toVerdict(d)
	}
	def := c.Defer()
	if def == nil {
		return smpp.Verdict{Action: smpp.ActReject, Status: pdu.ESME_RSYSERR}
	}
	i.e.Run(d, responder{def})
	return smpp.Verdict{Action: smpp.ActDefer}
}

// responder answers a deferred PDU with the policy's decision.
type responder struct{ d *smpp.Deferred }

func (r responder) Finish(d policy.Decision) error { return r.d.Finish(toVerdict(d)) }

var actions = [...]smpp.Action{
	policy.Forward: smpp.ActForward,
	policy.Reject:  smpp.ActReject,
	policy.Hold:    smpp.ActHold,
	policy.Replace: smpp.ActReplace,
}

func toVerdict(d policy.Decision) smpp.Verdict {
	v := smpp.Verdict{Status: d.Status, MessageID: d.MessageID, Replace: d.Replace, Unsuccess: d.Unsuccess}
	if int(d.Action) < len(actions) {
		v.Action = actions[d.Action]
	} else {
		v.Action = smpp.ActReject
		v.Status = pdu.ESME_RSYSERR
	}
	v.InjectBefore = injections(d.InjectBefore)
	v.Inject = injections(d.Inject)
	return v
}

func injections(out []policy.Outgoing) []smpp.Injection {
	if len(out) == 0 {
		return nil
	}
	inj := make([]smpp.Injection, len(out))
	for i, o := range out {
		inj[i] = smpp.Injection{Leg: legOf(o), PDU: o.PDU, OnResponse: o.OnResponse}
		if len(o.SystemIDs) > 0 {
			inj[i].SystemID = o.SystemIDs[0]
		}
	}
	return inj
}

func legOf(o policy.Outgoing) smpp.Leg {
	if o.ToHandset {
		return smpp.Upstream
	}
	return smpp.Downstream
}

// transport sends what the policy originates on a bind of the account.
type transport struct{ srv *smpp.Server }

func (t transport) Send(o policy.Outgoing) error {
	for _, id := range o.SystemIDs {
		err := t.srv.Inject(smpp.Injection{Leg: legOf(o), SystemID: id, PDU: o.PDU, OnResponse: o.OnResponse})
		if err == nil {
			return nil
		}
		if !errors.Is(err, smpp.ErrNoRoute) && !errors.Is(err, smpp.ErrWindowFull) {
			return err
		}
	}
	return policy.ErrNoBind
}

// policyOrganizations maps the configuration's resolved organizations to
// the policy's.
func policyOrganizations(cfg *config.Config) []policy.Organization {
	var out []policy.Organization
	for _, r := range cfg.ResolvedOrganizations() {
		mode, _ := policy.ParseMode(string(r.Mode))
		o := policy.Organization{
			Name:                r.Name,
			Main:                r.Main,
			DisplayName:         r.DisplayName,
			SystemIDs:           r.SystemIDs,
			SenderPrefixes:      r.SenderPrefixes,
			Mode:                mode,
			RevokeAll:           r.RevokeAll,
			HoldOnPossibleOpt:   r.PossibleOptOut == config.PossibleOptOutHold,
			RelayKeywordMO:      r.RelayKeywordMO,
			NumericReplies:      r.NumericReplies,
			HelpContact:         r.HelpContact,
			DefaultSenderName:   r.DefaultSenderName,
			SenderNames:         r.SenderNames,
			ReplaceKeywords:     r.Keywords.ReplaceDefaults,
			Keywords:            map[string]policy.KeywordList{},
			Templates:           r.Templates,
			HoldMax:             r.Hold.MaxPerScope,
			HoldExpiry:          time.Duration(r.Hold.Expiry),
			ResendInterval:      time.Duration(r.ConsentRequests.ResendInterval),
			MaxRequests:         r.ConsentRequests.Max,
			RefusedStatus:       pdu.Status(r.RefusedStatus),
			HoldFullStatus:      pdu.Status(r.HoldFullStatus),
			AllowedCountries:    r.Countries.Allowed,
			DefaultCountry:      r.Countries.Default,
			ServiceBindSystemID: r.ServiceBind.SystemID,
		}
		if r.ConsentScope == config.ScopeSender {
			o.Scope = policy.ScopeSender
		}
		switch r.MessageIDs {
		case config.MessageIDsHex:
			o.MessageIDs = policy.IDHex
		case config.MessageIDsDecimal:
			o.MessageIDs = policy.IDDecimal
		}
		for lang, kl := range r.Keywords.Languages {
			o.Keywords[lang] = policy.KeywordList{OptOut: kl.OptOut, OptIn: kl.OptIn, Help: kl.Help, Intent: kl.Intent, Negative: kl.Negative}
		}
		out = append(out, o)
	}
	return out
}

func policySettings(cfg *config.Config) policy.Settings {
	p := cfg.Policy
	return policy.Settings{
		NoticeTag:            pdu.Tag(p.NoticeTLVTag),
		ReassemblyTimeout:    time.Duration(p.ReassemblyTimeout),
		ReassemblyMax:        p.ReassemblyMaxMessages,
		ExpiryScanInterval:   time.Duration(p.ExpiryScanInterval),
		ConfirmationDeadline: time.Duration(p.ConfirmationDeadline),
		PINDigits:            p.PIN.Digits,
		PINExpiry:            time.Duration(p.PIN.Expiry),
		PINAttempts:          p.PIN.Attempts,
	}
}

// policyError turns an organization the policy refused into a
// configuration error that names the file, line and key of the entry.
func policyError(cfg *config.Config, err error) error {
	var oe *policy.OrgError
	var ke *keywords.EntryError
	if errors.As(err, &oe) && errors.As(err, &ke) {
		if key := cfg.KeywordKey(oe.Org, ke.Lang, ke.Entry); key != "" {
			return cfg.KeyError(key, err)
		}
	}
	return fmt.Errorf("organizations: %w", err)
}

// serviceBinds lists the service binds the organizations ask for.
func serviceBinds(cfg *config.Config) []smpp.ServiceBind {
	var out []smpp.ServiceBind
	for _, r := range cfg.ResolvedOrganizations() {
		if r.Parent == "" && r.ServiceBind.SystemID != "" {
			out = append(out, smpp.ServiceBind{SystemID: r.ServiceBind.SystemID, Password: r.ServiceBind.Password, SystemType: r.ServiceBind.SystemType})
		}
	}
	return out
}
