package testenv

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	// Every value falls in a bucket whose bounds hold it, buckets are
	// contiguous, and the width is at most 1/64 of the lower bound.
	prevHi := int64(-1)
	for i := range histBuckets {
		lo, hi := histBounds(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d [%d, %d] after %d", i, lo, hi, prevHi)
		}
		if lo >= histLinear && float64(hi-lo+1)/float64(lo) > 1.0/64 {
			t.Fatalf("bucket %d [%d, %d] too wide", i, lo, hi)
		}
		for _, v := range []int64{lo, hi, lo + (hi-lo)/2} {
			if got := histIndex(v); got != i {
				t.Fatalf("histIndex(%d) = %d, want %d", v, got, i)
			}
		}
		prevHi = hi
	}
	if prevHi != histMaxVal {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, histMaxVal)
	}
	if 60*time.Second > histMaxVal {
		t.Fatal("60 s does not fit")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram not zero")
	}
	// 1 µs … 10 ms uniformly, shuffled.
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		h.Record(v)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5000 * time.Microsecond},
		{0.9, 9000 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond},
		{0.0001, 1 * time.Microsecond},
	} {
		got := h.Quantile(tc.q)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 0.02 {
			t.Errorf("Quantile(%v) = %s, want %s ±2%% (off by %.2f%%)", tc.q, got, tc.want, 100*rel)
		}
	}
	if h.Max() != 10*time.Millisecond || h.Min() != time.Microsecond || h.Count() != 10000 || h.Quantile(1) != h.Max() {
		t.Errorf("max %s min %s count %d", h.Max(), h.Min(), h.Count())
	}
	if m := h.Mean(); m < 5000*time.Microsecond || m > 5001*time.Microsecond {
		t.Errorf("mean %s", m)
	}

	// Random values over the whole range against the exact order statistics.
	var r Histogram
	exact := make([]time.Duration, 100000)
	for i := range exact {
		exact[i] = time.Duration(math.Exp(rand.Float64()*math.Log(float64(60*time.Second)))) + time.Microsecond
		r.Record(exact[i])
	}
	slices.Sort(exact)
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 0.999} {
		want := exact[int(math.Ceil(q*float64(len(exact))))-1]
		got := r.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.02 {
			t.Errorf("random Quantile(%v) = %s, want %s ±2%%", q, got, want)
		}
	}

	// Merge equals recording everything in one.
	var a, b, all Histogram
	for i, v := range vals {
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(&b)
	if a != all {
		t.Error("merged histogram differs from the one that recorded everything")
	}
	s := all.String()
	for _, part := range []string{"n=10000", "p50=", "p99=", "p999=", "max=10.00ms"} {
		if !strings.Contains(s, part) {
			t.Errorf("String() = %q lacks %q", s, part)
		}
	}

	// Out-of-range values are clamped, not lost.
	var c Histogram
	c.Record(-time.Second)
	c.Record(2 * time.Minute)
	if c.Count() != 2 || c.Quantile(0.01) != 0 || c.Max() != histMaxVal {
		t.Errorf("clamping: count %d min %s max %s", c.Count(), c.Quantile(0.01), c.Max())
	}
}

func TestHistogramBucketsVisit(t *testing.T) {
	var empty Histogram
	empty.Buckets(func(lo, hi time.Duration, n uint64) { t.Errorf("empty histogram visited [%s, %s] ×%d", lo, hi, n) })

	// Exact values (below 128 ns), wide ones and a clamped one, some repeated.
	vals := []time.Duration{0, 5, 5, 127, 128, 1000, 1001, 999 * time.Microsecond,
		time.Millisecond, 3 * time.Second, 2 * time.Minute}
	for i := range 1000 {
		vals = append(vals, time.Duration(math.Exp(rand.Float64()*math.Log(float64(time.Second))))+time.Microsecond+time.Duration(i%3))
	}
	var h Histogram
	for _, v := range vals {
		h.Record(v)
	}
	type bucket struct {
		lo, hi time.Duration
		n      uint64
	}
	var got []bucket
	h.Buckets(func(lo, hi time.Duration, n uint64) { got = append(got, bucket{lo, hi, n}) })
	var sum uint64
	for i, b := range got {
		if b.lo > b.hi || b.n == 0 {
			t.Fatalf("bucket %d: [%s, %s] ×%d", i, b.lo, b.hi, b.n)
		}
		if i > 0 && got[i-1].hi >= b.lo {
			t.Fatalf("bucket %d [%s, %s] not after [%s, %s]", i, b.lo, b.hi, got[i-1].lo, got[i-1].hi)
		}
		sum += b.n
	}
	if sum != h.Count() || sum != uint64(len(vals)) {
		t.Fatalf("buckets count %d, Count() %d, recorded %d", sum, h.Count(), len(vals))
	}
	// Each bucket's count is the number of recorded values (clamped as
	// Record clamps them) that its bounds hold.
	for _, b := range got {
		var want uint64
		for _, v := range vals {
			v = min(v, histMaxVal)
			if v >= b.lo && v <= b.hi {
				want++
			}
		}
		if want != b.n {
			t.Errorf("bucket [%s, %s]: count %d, %d recorded values in it", b.lo, b.hi, b.n, want)
		}
	}
	if got[0].lo != 0 || got[0].hi != 0 || got[0].n != 1 || got[1].lo != 5 || got[1].n != 2 {
		t.Errorf("first buckets %v", got[:2])
	}
	if last := got[len(got)-1]; last.hi != histMaxVal {
		t.Errorf("last bucket %v, want the clamped value's", last)
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	h := new(Histogram)
	d := time.Duration(1)
	if n := testing.AllocsPerRun(1000, func() { d = d*7 + 13; h.Record(d % (10 * time.Second)) }); n != 0 {
		t.Errorf("Record: %.1f allocations", n)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	d := time.Duration(1)
	for b.Loop() {
		d = d*7 + 13
		h.Record(d % (10 * time.Second))
	}
}

// TestSecondHist: the one-second histogram's quantiles agree with the
// full Histogram's within a bucket, and its max is exact.
func TestSecondHist(t *testing.T) {
	var s secondHist
	var h Histogram
	for i := 1; i <= 10000; i++ {
		d := time.Duration(i) * time.Microsecond
		s.record(d)
		h.Record(d)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		got, want := s.quantile(q), h.Quantile(q)
		if d := got - want; d < -want/50 || d > want/50 {
			t.Errorf("q%.2f: %s, the Histogram says %s", q, got, want)
		}
	}
	if time.Duration(s.max) != 10*time.Millisecond || s.n != 10000 {
		t.Errorf("max %s, n %d", time.Duration(s.max), s.n)
	}
	var sum secondHist
	sum.add(&s)
	sum.add(&s)
	if sum.n != 20000 || sum.quantile(0.5) != s.quantile(0.5) {
		t.Errorf("added twice: n %d, median %s", sum.n, sum.quantile(0.5))
	}
	s.reset()
	if s.quantile(0.5) != 0 || s.n != 0 {
		t.Error("reset kept counts")
	}
}
