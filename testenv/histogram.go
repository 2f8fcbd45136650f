package testenv

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Histogram layout: values in nanoseconds; 0 … 127 ns are counted exactly, and
// every octave above is split into 64 buckets, so a bucket's width is at most
// 1/64 of its lower bound and its midpoint is within 0.8 % of any value in it.
// Values at or above 2^36 ns (about 68.7 s) go into the last bucket.
const (
	histSubBits = 6
	histSub     = 1 << histSubBits // buckets per octave
	histLinear  = 2 * histSub      // values below this are exact
	histMaxBits = 36
	histBuckets = histLinear + (histMaxBits-histSubBits-1)*histSub
	histMaxVal  = 1<<histMaxBits - 1
)

// Histogram records durations in fixed log-linear buckets (HDR-like: 1 ns to
// about 68 s, ≤ 0.8 % relative error at the bucket midpoint). Record does not
// allocate or lock: a Histogram belongs to one goroutine; merge them at the end.
// The zero value is empty and ready to use.
type Histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	sum      int64 // nanoseconds (292 years of them fit)
	min, max int64 // nanoseconds; valid when n > 0
}

func histIndex(v int64) int {
	if v < histLinear {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 1 // ≥ 7
	shift := e - histSubBits
	m := int(v >> shift) // in [64, 128)
	return histLinear + (e-histSubBits-1)*histSub + (m - histSub)
}

// histBounds returns the smallest and largest value bucket i holds.
func histBounds(i int) (lo, hi int64) {
	if i < histLinear {
		return int64(i), int64(i)
	}
	k := i - histLinear
	e := k/histSub + histSubBits + 1
	m := int64(k%histSub + histSub)
	shift := e - histSubBits
	lo = m << shift
	return lo, lo + 1<<shift - 1
}

// Record adds one duration (negative ones count as 0).
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	if v > histMaxVal {
		v = histMaxVal
	}
	h.counts[histIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Merge adds the counts of o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Buckets calls fn for each non-empty bucket in order, with the smallest and
// largest duration the bucket holds and its count: what a report needs to
// draw the distribution without reaching into the layout.
func (h *Histogram) Buckets(fn func(lo, hi time.Duration, n uint64)) {
	if h.n == 0 {
		return
	}
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		lo, hi := histBounds(i)
		fn(time.Duration(lo), time.Duration(hi), c)
	}
}

// Reset empties the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count returns the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest duration recorded (0 when empty).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest duration recorded (0 when empty).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the average duration (0 when empty).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / int64(h.n))
}

// Quantile returns the duration below which a fraction q (0 … 1) of the
// recorded durations lie: the midpoint of the bucket holding the value of rank
// ⌈q·n⌉, kept within [Min, Max]. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			lo, hi := histBounds(i)
			v := lo + (hi-lo)/2
			v = min(max(v, h.min), h.max)
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}

// String formats the count and the usual percentiles. (A value receiver, so
// that a Histogram field prints this way with %v too.)
func (h Histogram) String() string {
	return fmt.Sprintf("n=%d p50=%s p99=%s p999=%s max=%s", h.n,
		fmtDur(h.Quantile(0.50)), fmtDur(h.Quantile(0.99)), fmtDur(h.Quantile(0.999)), fmtDur(h.Max()))
}

// fmtDur formats a duration with three or four significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// secondHist counts durations in Histogram's buckets and keeps only the
// counts and the largest: the one second's latency a load run hands to its
// progress line and series, recorded beside the run's Histogram at less
// than half the cost. Its quantiles are bucket midpoints (within 0.8 %).
type secondHist struct {
	counts [histBuckets]uint32
	n      uint64
	max    int64
}

func (h *secondHist) record(d time.Duration) {
	v := min(max(int64(d), 0), histMaxVal)
	h.counts[histIndex(v)]++
	h.n++
	h.max = max(h.max, v)
}

// add adds o's counts to h.
func (h *secondHist) add(o *secondHist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

func (h *secondHist) reset() { *h = secondHist{} }

// quantile returns the midpoint of the bucket holding rank ⌈q·n⌉, at most
// the largest duration; 0 when empty.
func (h *secondHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(h.n))), 1)
	var cum uint64
	for i, c := range h.counts {
		cum += uint64(c)
		if cum >= rank {
			lo, hi := histBounds(i)
			return time.Duration(min(lo+(hi-lo)/2, h.max))
		}
	}
	return time.Duration(h.max)
}
