package testenv

import (
	"fmt"
	"strconv"
	"time"

	"github.com/optguard/optguard/smpp/pdu"
)

// A load run's plan: the phases it goes through (each at its own pace), the
// mix of messages it sends and the handsets it sends them to. RunLoad with
// none of these set sends one message to one handset (or VaryDest's 10,000)
// for Duration at Rate, as it always did.

// LoadPhase is one period of a run with its own pace.
type LoadPhase struct {
	Name     string        // in the figures; "" = "phase N"
	Duration time.Duration // > 0
	// Rate is requests per second across binds at the start of the phase,
	// each part of a long message one, as an SMSC counts them (open loop:
	// each request has an intended send time, and latency is also measured
	// from it); 0 = closed loop, as fast as the windows allow.
	Rate float64
	// RateTo, when above 0, ramps the rate linearly from Rate to RateTo
	// over the phase (Rate must then be above 0 too).
	RateTo float64
	// Window, when above 0, is how many requests each bind keeps
	// outstanding in the phase, if fewer than its own window: a closed
	// loop of a chosen concurrency, or an open loop with a tighter bound.
	Window int
}

// rateAt returns the phase's rate at d into it.
func (p LoadPhase) rateAt(d time.Duration) float64 {
	if p.RateTo <= 0 || p.Duration <= 0 {
		return p.Rate
	}
	f := min(max(float64(d)/float64(p.Duration), 0), 1)
	return p.Rate + (p.RateTo-p.Rate)*f
}

func (p LoadPhase) validate() error {
	switch {
	case p.Duration <= 0:
		return fmt.Errorf("duration must be positive")
	case p.Rate < 0 || p.RateTo < 0:
		return fmt.Errorf("rates must not be negative")
	case p.RateTo > 0 && p.Rate == 0:
		return fmt.Errorf("a ramp (rate_to) needs a starting rate above 0")
	case p.Window < 0:
		return fmt.Errorf("window must not be negative")
	}
	return nil
}

// LoadMessage is one kind of message in a run's mix. A message is one
// request, or for a text longer than one SMS its concatenated parts, sent
// back to back on one bind.
type LoadMessage struct {
	Name  string  // in the figures; "" = derived from the kind and coding
	Share float64 // of messages (not of PDUs); the mix's shares add up to 1

	// Kind is pdu.SubmitSM (the default), pdu.DataSM (the text in
	// message_payload) or pdu.SubmitMulti.
	Kind pdu.CommandID
	// Text is the message; "" = a 160-character GSM 03.38 text.
	Text string
	// UCS2 encodes Text as UCS2 (data_coding 8); otherwise it is GSM 03.38
	// (data_coding 0), and a text GSM 03.38 cannot carry is refused.
	UCS2 bool
	// SAR splits a text longer than one SMS into parts by the sar_* TLVs
	// instead of a concatenation UDH.
	SAR bool
	// Dests is a submit_multi's number of destinations (consecutive
	// handsets of the population); 0 = 2.
	Dests int
	// Source is source_addr; zero = "+15550000001", TON 1, NPI 1.
	Source pdu.Addr
	// TLVs are added to every request of the message.
	TLVs []pdu.TLV
}

// LoadHandsets is the population messages are addressed to.
type LoadHandsets struct {
	// First is the first handset's digits (an E.164 number without '+');
	// handset i is First+i with as many digits.
	First uint64
	Count int // > 0
	// TON and NPI of destination_addr; Plus writes a leading '+'.
	TON, NPI byte
	Plus     bool
	// Random draws each message's handset from the population (seeded by
	// LoadConfig.Seed); otherwise each bind counts through it from its own
	// offset.
	Random bool
	// Groups name consecutive parts of the population, in order, for the
	// figures (LoadResult.ByGroup): e.g. the opted-in, opted-out and unknown
	// handsets of a consent scenario. Their counts add up to at most Count;
	// the rest is in no group.
	Groups []HandsetGroup
}

// HandsetGroup is a named, consecutive part of a population.
type HandsetGroup struct {
	Name  string
	Count int
}

// digits is the width of the population's numbers; an error when the last
// number needs more digits than the first, or more than 15.
func (h *LoadHandsets) digits() (int, error) {
	first := strconv.FormatUint(h.First, 10)
	last := strconv.FormatUint(h.First+uint64(max(h.Count, 1)-1), 10)
	if len(last) != len(first) || len(first) > 15 {
		return 0, fmt.Errorf("handsets %s … %s do not keep one length of at most 15 digits", first, last)
	}
	return len(first), nil
}

// Number returns handset i's address as it appears in destination_addr.
func (h *LoadHandsets) Number(i int) string {
	s := strconv.FormatUint(h.First+uint64(i), 10)
	if h.Plus {
		return "+" + s
	}
	return s
}

// GroupOf returns the name of the group handset i is in ("" for none).
func (h *LoadHandsets) GroupOf(i int) string {
	for _, g := range h.Groups {
		if i < g.Count {
			return g.Name
		}
		i -= g.Count
	}
	return ""
}

func (h *LoadHandsets) validate() error {
	if h.Count <= 0 {
		return fmt.Errorf("handsets: count must be positive")
	}
	if _, err := h.digits(); err != nil {
		return fmt.Errorf("handsets: %w", err)
	}
	n := 0
	for _, g := range h.Groups {
		if g.Name == "" || g.Count <= 0 {
			return fmt.Errorf("handsets: every group needs a name and a positive count")
		}
		n += g.Count
	}
	if n > h.Count {
		return fmt.Errorf("handsets: the groups hold %d handsets, more than the population's %d", n, h.Count)
	}
	return nil
}

// LoadSecond is one second of a run as it went: what was sent and answered
// in it, and the latency of the responses read in it.
type LoadSecond struct {
	At            time.Duration // since the run started (warmup included), at the end of the second
	Phase         string        // the phase it ended in ("warmup" during the warmup, "drain" after the plan)
	Sent          uint64        // requests written
	Answered      uint64        // responses read
	NotOK         uint64        // responses with a status other than ESME_ROK (generic_nack included)
	Stalls        uint64        // times a writer found its window full
	Receipts, MOs uint64        // deliver_sm read: receipts, and MO messages
	P50, P99, Max time.Duration // request → response latency of the second's responses
}

// LoadPhaseResult holds the figures of one phase.
type LoadPhaseResult struct {
	Name            string
	Rate, RateTo    float64 // as planned (0: closed loop)
	Elapsed         time.Duration
	Sent, Responses uint64
	PerSecond       float64 // Responses / Elapsed
	ByStatus        map[pdu.Status]uint64
	Latency         Histogram // request → response
	// Intended is latency from each request's intended send time
	// (open-loop phases only: corrected for coordinated omission, so a
	// stall shows in it as the time requests waited to be sent).
	Intended Histogram
	Stalls   uint64
}

// LoadGroupResult holds the figures of the requests to one handset group.
type LoadGroupResult struct {
	Sent, Responses uint64
	ByStatus        map[pdu.Status]uint64
	// Held counts ESME_ROK responses whose message_id LoadConfig.Held
	// says is a held message's (the proxy held it for consent).
	Held uint64
	// ReceiptsAsked counts ESME_ROK responses to requests that asked for a
	// receipt; Receipts, the receipts matched to them.
	ReceiptsAsked, Receipts uint64
}
