package testenv

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// schedule is a run's plan in time: the warmup and the phases, each closed
// loop (as fast as the windows allow) or open loop (a rate, perhaps a
// ramp). In the open phases every request has an intended send time: the
// n-th request is due when the rate's integral since the start reaches n.
type schedule struct {
	phases []schedPhase
	end    time.Duration // the end of the last phase, since the run's start
}

type schedPhase struct {
	name       string
	start, dur time.Duration // since the run's start
	r0, r1     float64       // rate at the start and at the end; 0: closed loop
	window     int64         // outstanding requests per bind; 0: the bind's window
	due0       float64       // requests due at the start (over the open phases before)
	result     int           // index in LoadResult.Phases; -1: the warmup
}

func (p *schedPhase) open() bool { return p.r0 > 0 }

// dueIn returns the requests due x into the phase, counted from its start.
func (p *schedPhase) dueIn(x time.Duration) float64 {
	if !p.open() {
		return 0
	}
	t := min(x, p.dur).Seconds()
	return p.r0*t + (p.r1-p.r0)*t*t/(2*p.dur.Seconds())
}

// newSchedule lays out the warmup (at the first phase's starting pace, when
// there is one) and the phases.
func newSchedule(warmup time.Duration, phases []LoadPhase) *schedule {
	s := &schedule{}
	var at time.Duration
	due := 0.0
	add := func(name string, d time.Duration, r0, r1 float64, window, result int) {
		if r1 <= 0 {
			r1 = r0
		}
		p := schedPhase{name: name, start: at, dur: d, r0: r0, r1: r1, window: int64(window), due0: due, result: result}
		due += p.dueIn(d)
		at += d
		s.phases = append(s.phases, p)
	}
	if warmup > 0 {
		add("warmup", warmup, phases[0].Rate, phases[0].Rate, phases[0].Window, -1)
	}
	for i, p := range phases {
		add(phaseName(p, i), p.Duration, p.Rate, p.RateTo, p.Window, i)
	}
	s.end = at
	return s
}

func phaseName(p LoadPhase, i int) string {
	if p.Name != "" {
		return p.Name
	}
	return "phase " + strconv.Itoa(i+1)
}

// at returns the index of the phase running d after the start (the last
// one from its end on).
func (s *schedule) at(d time.Duration) int {
	for i := range s.phases {
		if d < s.phases[i].start+s.phases[i].dur {
			return i
		}
	}
	return len(s.phases) - 1
}

// due returns the requests due by d after the start.
func (s *schedule) due(d time.Duration) float64 {
	p := &s.phases[s.at(d)]
	return p.due0 + p.dueIn(max(d-p.start, 0))
}

// timeOf returns when the rate's integral reaches n: when the n-th request
// (request n-1, counting from 0) comes due. Past the plan's last open
// phase it returns the end.
func (s *schedule) timeOf(n float64) time.Duration {
	for i := range s.phases {
		p := &s.phases[i]
		if !p.open() || n >= p.due0+p.dueIn(p.dur) {
			continue
		}
		c := n - p.due0
		a := (p.r1 - p.r0) / (2 * p.dur.Seconds())
		var x float64
		if math.Abs(a) < 1e-12 {
			x = c / p.r0
		} else {
			x = (-p.r0 + math.Sqrt(p.r0*p.r0+4*a*c)) / (2 * a)
		}
		return p.start + time.Duration(x*float64(time.Second))
	}
	return s.end
}

// limiter hands out the open phases' requests as they come due, to the
// writers of a run. A writer that finds none due sleeps until the next one,
// and at least rateSlot, so requests go out in small, evenly spaced batches.
// A writer that fell behind (a busy scheduler, or a window full because the
// system under test is slow) gets every request due at once: the schedule
// does not bend to the system under test, which is what makes the latency
// from the intended send time honest (no coordinated omission); the window
// still bounds what is outstanding.
type limiter struct {
	mu     sync.Mutex
	sched  *schedule
	start  time.Time
	issued int64 // guarded by mu
}

func newLimiter(s *schedule) *limiter { return &limiter{sched: s} }

// take waits until a request is due and takes up to n of the due ones: k
// requests from the first-th on (request i came due at timeOf(i+1)).
// In a closed-loop phase it takes all n at once with first = -1. k = 0
// means stop.
func (l *limiter) take(n int64, stop <-chan struct{}, timer *time.Timer) (k, first int64) {
	for {
		now := time.Since(l.start)
		p := &l.sched.phases[l.sched.at(now)]
		l.mu.Lock()
		due := int64(l.sched.due(now))
		if !p.open() {
			// Nothing is due in a closed phase; a backlog of the open
			// phase before is forgotten, not sent in the next one.
			l.issued = max(l.issued, due)
			l.mu.Unlock()
			return n, -1
		}
		if k := min(n, due-l.issued); k > 0 {
			first = l.issued
			l.issued += k
			l.mu.Unlock()
			return k, first
		}
		next := l.sched.timeOf(float64(l.issued + 1))
		l.mu.Unlock()
		if next >= l.sched.end && now >= l.sched.end {
			return 0, 0
		}
		timer.Reset(max(next-now, rateSlot))
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			return 0, 0
		}
	}
}
