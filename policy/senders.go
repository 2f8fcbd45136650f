package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/optguard/optguard/store"
)

// The sender directory: {sender_name} per organization and sender, set by
// operators through the API on top of the configuration's sender_names.
// Its entries are kept in the store and held here as one immutable table
// behind an atomic pointer, which a change replaces after the store has
// the entry: the next text rendered uses the new name, without a reload,
// and a restart reads the same names back.
//
// A name is looked up in this order: the organization's directory entry
// for the sender, its main organization's (a sub-organization inherits its
// main organization's names, as it does the configured ones), the
// configuration's sender_names, then default_sender_name. The directory
// wins over the configuration because it is the later, deliberate edit of
// a running system; the configuration stays the base, so deleting an entry
// brings back the configured name.

// MaxSenderName bounds a directory name, in characters.
const MaxSenderName = 50

// ErrNoSenderEntry: DeleteSenderName found no directory entry to delete.
var ErrNoSenderEntry = errors.New("policy: the organization's sender directory has no entry for this sender")

// Name sources of a SenderName.
const (
	SourceDirectory = "directory" // set through the API
	SourceConfig    = "config"    // organizations[].sender_names
	SourceDefault   = "default"   // default_sender_name (or the display name)
)

// SenderName is the {sender_name} an organization uses for one sender,
// and where it comes from.
type SenderName struct {
	Org    string // the organization it applies to
	Sender string // E.164 digits without '+', or an alphanumeric sender
	Name   string
	Source string // SourceDirectory, SourceConfig or SourceDefault
	// InheritedFrom is the main organization whose directory entry it is,
	// when not Org's own.
	InheritedFrom string
	// ChangedBy and ChangedAt say who set a directory entry, and when.
	ChangedBy string
	ChangedAt time.Time
	// ConfigName is the configuration's name for the sender, when a
	// directory entry hides it: what deleting the entry brings back.
	ConfigName string
}

// senderDir is the directory as the engine holds it; never changed once
// published.
type senderDir struct {
	m map[dirKey]store.SenderEntry
}

type dirKey struct{ org, sender string }

func (d *senderDir) get(org, sender string) (store.SenderEntry, bool) {
	if d == nil {
		return store.SenderEntry{}, false
	}
	e, ok := d.m[dirKey{org, sender}]
	return e, ok
}

// loadSenders reads the directory from the store.
func (e *Engine) loadSenders(ctx context.Context) error {
	entries, err := e.st.Senders(ctx)
	if err != nil {
		return fmt.Errorf("policy: loading the sender directory: %w", err)
	}
	d := &senderDir{m: make(map[dirKey]store.SenderEntry, len(entries))}
	for _, en := range entries {
		d.m[dirKey{en.Org, en.Sender}] = en
	}
	e.dir.Store(d)
	return nil
}

// vars are o's template variables for a message between sender and a
// handset of language lang, with {sender_name} from the directory when it
// has an entry for the sender.
func (e *Engine) vars(o *org, sender, lang string) Vars {
	v := o.vars(sender, lang)
	if name, ok := e.directoryName(o, sender); ok {
		v.SenderName = name
	}
	return v
}

// directoryName is the directory's name for sender in o, if it has one.
func (e *Engine) directoryName(o *org, sender string) (string, bool) {
	if d := e.dir.Load(); d != nil && len(d.m) > 0 && sender != "" {
		if en, _, ok := d.lookup(o, sender); ok {
			return en.Name, true
		}
	}
	return "", false
}

// lookup finds the directory entry o uses for sender as an MT carries it
// (digits, with or without '+', perhaps national, or a name): its own or
// its main organization's. inherited says which.
func (d *senderDir) lookup(o *org, sender string) (en store.SenderEntry, inherited bool, ok bool) {
	keys := []string{strings.TrimPrefix(sender, "+")}
	if k, err := o.acct.sender(sender); err == nil && k != keys[0] {
		keys = append(keys, k) // a national number, read as the account reads it
	}
	for _, k := range keys {
		if en, ok := d.get(o.spec.Name, k); ok {
			return en, false, true
		}
		if o.spec.Main != o.spec.Name {
			if en, ok := d.get(o.spec.Main, k); ok {
				return en, true, true
			}
		}
	}
	return store.SenderEntry{}, false, false
}

// SenderNames lists the names organization org uses for its senders:
// every directory entry that applies to it (its own and its main
// organization's) and every configured name, by sender.
func (e *Engine) SenderNames(org string) ([]SenderName, error) {
	o := e.tab.Load().orgs[org]
	if o == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownOrganization, org)
	}
	d := e.dir.Load()
	senders := map[string]bool{}
	for s := range o.spec.SenderNames {
		senders[s] = true
	}
	for k := range d.m {
		if k.org == o.spec.Name || k.org == o.spec.Main {
			senders[k.sender] = true
		}
	}
	out := make([]SenderName, 0, len(senders))
	for s := range senders {
		out = append(out, e.senderName(o, d, s))
	}
	slices.SortFunc(out, func(a, b SenderName) int { return strings.Compare(a.Sender, b.Sender) })
	return out, nil
}

// senderName is the name o uses for sender (a directory key), and whence.
func (e *Engine) senderName(o *org, d *senderDir, sender string) SenderName {
	n := SenderName{Org: o.spec.Name, Sender: sender, Name: o.senderName(sender), Source: SourceDefault}
	cfg, configured := o.spec.SenderNames[sender]
	if configured {
		n.Source = SourceConfig
	}
	en, ok := d.get(o.spec.Name, sender)
	if !ok && o.spec.Main != o.spec.Name {
		if en, ok = d.get(o.spec.Main, sender); ok {
			n.InheritedFrom = o.spec.Main
		}
	}
	if ok {
		n.Name, n.Source, n.ChangedBy, n.ChangedAt = en.Name, SourceDirectory, en.ChangedBy, en.ChangedAt
		if configured {
			n.ConfigName = cfg
		}
	}
	return n
}

// SetSenderName makes name the {sender_name} of sender (a phone number in
// any common form, or an alphanumeric sender) in organization org, as
// actor: the store has it before the engine uses it, and the next text
// rendered for the sender does.
func (e *Engine) SetSenderName(ctx context.Context, org, sender, name, actor string) (SenderName, error) {
	o, key, err := e.directoryKey(org, sender)
	if err != nil {
		return SenderName{}, err
	}
	name = strings.TrimSpace(name)
	if err := checkSenderName(name); err != nil {
		return SenderName{}, err
	}
	en := store.SenderEntry{Org: o.spec.Name, Sender: key, Name: name, ChangedBy: actor, ChangedAt: e.now()}
	e.dirMu.Lock()
	defer e.dirMu.Unlock()
	if err := e.st.PutSender(ctx, en); err != nil {
		return SenderName{}, fmt.Errorf("policy: %w", err)
	}
	d := e.dir.Load().with(func(m map[dirKey]store.SenderEntry) { m[dirKey{en.Org, en.Sender}] = en })
	e.dir.Store(d)
	e.log.Info().Str("organization", en.Org).Str("sender", en.Sender).Str("actor", actor).Msg("sender name set in the directory")
	return e.senderName(o, d, key), nil
}

// DeleteSenderName deletes organization org's directory entry for sender,
// as actor, and returns the name the organization uses for it now (its
// main organization's entry, the configured name or the default).
// ErrNoSenderEntry when the organization has no entry of its own for it.
func (e *Engine) DeleteSenderName(ctx context.Context, org, sender, actor string) (SenderName, error) {
	o, key, err := e.directoryKey(org, sender)
	if err != nil {
		return SenderName{}, err
	}
	e.dirMu.Lock()
	defer e.dirMu.Unlock()
	if _, ok := e.dir.Load().get(o.spec.Name, key); !ok {
		return SenderName{}, ErrNoSenderEntry
	}
	if _, err := e.st.DeleteSender(ctx, o.spec.Name, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return SenderName{}, fmt.Errorf("policy: %w", err)
	}
	d := e.dir.Load().with(func(m map[dirKey]store.SenderEntry) { delete(m, dirKey{o.spec.Name, key}) })
	e.dir.Store(d)
	e.log.Info().Str("organization", o.spec.Name).Str("sender", key).Str("actor", actor).Msg("sender name deleted from the directory")
	return e.senderName(o, d, key), nil
}

// with is a copy of d changed by fn.
func (d *senderDir) with(fn func(map[dirKey]store.SenderEntry)) *senderDir {
	m := make(map[dirKey]store.SenderEntry, len(d.m)+1)
	for k, v := range d.m {
		m[k] = v
	}
	fn(m)
	return &senderDir{m: m}
}

// directoryKey finds organization org and the directory key of sender as
// org's account reads it: a phone number's E.164 digits, or an
// alphanumeric sender as written.
func (e *Engine) directoryKey(org, sender string) (*org, string, error) {
	o := e.tab.Load().orgs[org]
	if o == nil {
		return nil, "", fmt.Errorf("%w: %q", ErrUnknownOrganization, org)
	}
	if strings.TrimSpace(sender) == "" {
		return nil, "", ErrInvalidSender
	}
	key, err := o.acct.sender(sender)
	return o, key, err
}

// checkSenderName refuses a name that could not stand in a text as the
// sender's: empty, too long, or with characters that are not text.
func checkSenderName(name string) error {
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return &FieldError{"name", "is not valid UTF-8"}
	case n == 0:
		return &FieldError{"name", "is required"}
	case n > MaxSenderName:
		return &FieldError{"name", fmt.Sprintf("is %d characters; at most %d", n, MaxSenderName)}
	case strings.ContainsFunc(name, func(r rune) bool {
		return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) || r == utf8.RuneError
	}):
		return &FieldError{"name", "contains a control, formatting or line-break character"}
	}
	return nil
}
