package main

// bench -baseline -api-load: number lookups on the operator API at a fixed
// rate while the relay is loaded, to read what the API costs the relay
// (the "policy+api" target against "policy", side by side in each round)
// and how fast a lookup is answered meanwhile.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optguard/optguard/config"
	"github.com/optguard/optguard/testenv"
)

// apiTarget is -baseline's target with the API load beside the relay's.
const apiTarget = "policy+api"

// apiLookupWorkers bound the lookups in flight: at 500/s and a few
// milliseconds each, a handful are; the rest absorb a stall, whose
// backlog then shows in the latency (measured from the intended send time).
const apiLookupWorkers = 64

// benchClient calls the operator API with a bearer token, many times
// over kept-alive connections (the bench's load, not the CLI's benchClient).
type benchClient struct {
	base, token string
	http        *http.Client
}

// newBenchClient keeps up to conns connections to base open.
func newBenchClient(base, token string, conns int) *benchClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	return &benchClient{base: base, token: token, http: &http.Client{Transport: tr}}
}

// do sends req with the token and decodes the answer into into (unless
// nil), which must have status want.
func (c *benchClient) do(req *http.Request, want int, into any) error {
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, strings.TrimSpace(string(body)))
	}
	if into == nil {
		return nil
	}
	return json.Unmarshal(body, into)
}

func (c *benchClient) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, http.StatusOK, into)
}

// profile writes a CPU profile of d from the admin listener's
// /debug/pprof/profile to path.
func (c *benchClient) profile(ctx context.Context, path string, d time.Duration) error {
	return c.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())), path)
}

// fetch writes what the admin listener answers at urlPath to the file path.
func (c *benchClient) fetch(ctx context.Context, urlPath, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+urlPath, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token) // the profiler takes an admin token
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", req.URL.Path, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchAPIToken configures cfg's admin listener on a free loopback port
// with an auditor token (lookups need no more) and returns the token.
func benchAPIToken(cfg *config.Config) string {
	tok := makeToken()
	cfg.Admin.Address = "127.0.0.1:0"
	cfg.Admin.Tokens = []config.APIToken{{Name: "bench-api", Role: config.RoleAuditor, SHA256: config.TokenHash(tok)}}
	return tok
}

// lookupResult is one run of number lookups, as the lookup peer reports it.
type lookupResult struct {
	Rate     int    `json:"rate"` // asked for, per second
	Sent, OK uint64 // in the measured period
	All      uint64 // made, warmup included
	// Latency quantiles from the request's start to the answer read, as
	// the SMPP load's latency is, measured period only; and the p99 from
	// the intended send time, which adds any wait for a free worker (a
	// backlog after a stall) and the client's own timer lateness.
	P50, P99, P999, Max, IntendedP99 time.Duration
	Elapsed                          time.Duration // the measured period
	CPU                              time.Duration // the peer's CPU over the whole run: the client's cost
	Errors                           []string      // distinct failures, the first few
}

// PerSecond is the lookups answered 200 per second in the measured period.
func (r *lookupResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// lookupPaths are the GET /api/v1/numbers/{number} of the handsets the
// load addresses, which the policy proxy's first contacts have put in the
// store: testenv's destination, and with -vary-dest its last four digits
// cycling through 0000…9999.
func lookupPaths(varyDest bool) []string {
	const dest = "+15550000002" // testenv's default destination
	if !varyDest {
		return []string{"/api/v1/numbers/" + url.PathEscape(dest)}
	}
	paths := make([]string, benchHandsets)
	for i := range paths {
		paths[i] = "/api/v1/numbers/" + url.PathEscape(fmt.Sprintf("%s%04d", dest[:len(dest)-4], i))
	}
	return paths
}

// runLookups asks the paths in turn, rate a second, open loop, for
// warmup+duration; only lookups meant to be sent after the warmup are
// measured.
func runLookups(ctx context.Context, c *benchClient, paths []string, rate int, warmup, duration time.Duration) *lookupResult {
	type lookup struct {
		i  int
		at time.Time // when it was meant to be sent
	}
	res := &lookupResult{Rate: rate, Elapsed: duration}
	var lat, svc testenv.Histogram
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	queue := make(chan lookup, rate*int((warmup+duration)/time.Second+1))
	go func() {
		defer close(queue)
		interval := time.Second / time.Duration(rate)
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * interval)
			if !at.Before(end) {
				return
			}
			select {
			case <-time.After(time.Until(at)):
			case <-ctx.Done():
				return
			}
			queue <- lookup{i, at}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range apiLookupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h, sh testenv.Histogram
			var all, sent, ok uint64
			var errs []string
			for l := range queue {
				began := time.Now()
				err := c.get(ctx, paths[l.i%len(paths)], nil)
				took, served := time.Since(l.at), time.Since(began)
				all++
				if l.at.Before(measureFrom) {
					continue
				}
				sent++
				if err != nil {
					if len(errs) < 5 {
						errs = append(errs, err.Error())
					}
					continue
				}
				ok++
				h.Record(took)
				sh.Record(served)
			}
			mu.Lock()
			defer mu.Unlock()
			res.All += all
			res.Sent += sent
			res.OK += ok
			lat.Merge(&h)
			svc.Merge(&sh)
			for _, e := range errs {
				if len(res.Errors) < 5 && !slices.Contains(res.Errors, e) {
					res.Errors = append(res.Errors, e)
				}
			}
		}()
	}
	wg.Wait()
	res.P50, res.P99, res.P999, res.Max = svc.Quantile(0.50), svc.Quantile(0.99), svc.Quantile(0.999), svc.Max()
	res.IntendedP99 = lat.Quantile(0.99)
	return res
}

// lookupPeerEnv, set in the environment of `optguard bench`, makes it the
// lookup peer of `bench -api-load`: the process that sends the lookups, so
// that the process measured (the proxy and its API) bears the server's
// cost of a lookup, not the client's, as with a client elsewhere.
const lookupPeerEnv = "OPTGUARD_BENCH_LOOKUP_PEER"

// runLookupPeer is the peer side. It writes "ready", then serves one
// command per line from in, answering on out:
//
//	target URL TOKEN VARY   look up on the API at URL with TOKEN, the
//	                        handsets of -vary-dest when VARY is true;
//	                        answers "ok"
//	run RATE WARMUP DURATION  runLookups, answered "lookups JSON"
//	                        (lookupResult; durations in nanoseconds)
//
// A command that fails is answered "error MESSAGE". It ends when in closes.
func runLookupPeer(in io.Reader, out io.Writer) int {
	fmt.Fprintln(out, "ready")
	var c *benchClient
	var paths []string
	serveCommands(in, out, func(f []string) (string, error) {
		switch {
		case f[0] == "target" && len(f) == 4:
			c, paths = newBenchClient(f[1], f[2], apiLookupWorkers), lookupPaths(f[3] == "true")
			return "ok", nil
		case f[0] == "run" && len(f) == 4 && c != nil:
			return peerLookups(c, paths, f[1:])
		}
		return "", fmt.Errorf("unknown command %q, or run before target", f[0])
	})
	return 0
}

// peerLookups is the peer's run command: rate, warmup and duration (ns).
func peerLookups(c *benchClient, paths []string, args []string) (string, error) {
	var v [3]int64
	for i, a := range args {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 || (i == 0 && n == 0) {
			return "", fmt.Errorf("run: %q is not a positive number", a)
		}
		v[i] = n
	}
	cpu0, err := processCPU()
	if err != nil {
		return "", err
	}
	res := runLookups(context.Background(), c, paths, int(v[0]), time.Duration(v[1]), time.Duration(v[2]))
	cpu1, _ := processCPU()
	res.CPU = cpu1 - cpu0
	b, err := json.Marshal(res)
	return "lookups " + string(b), err
}

// lookupPeer is the bench's handle on the lookup peer process.
type lookupPeer struct{ *benchPeer }

// startLookupPeer starts the peer with the API at base, token and the
// handsets load addresses.
func startLookupPeer(base, token string, load testenv.LoadConfig) (*lookupPeer, error) {
	p, _, err := startPeer("lookup peer", lookupPeerEnv, "ready")
	if err != nil {
		return nil, err
	}
	if _, err := p.call(fmt.Sprintf("target %s %s %t", base, token, load.VaryDest), peerReplyTimeout, nil); err != nil {
		p.close()
		return nil, err
	}
	return &lookupPeer{p}, nil
}

// run has the peer look up rate a second for warmup+duration.
func (p *lookupPeer) run(rate int, warmup, duration time.Duration) (*lookupResult, error) {
	line, err := p.call(fmt.Sprintf("run %d %d %d", rate, warmup, duration), warmup+duration+peerReplyTimeout, nil)
	if err != nil {
		return nil, err
	}
	js, ok := strings.CutPrefix(line, "lookups ")
	if !ok {
		return nil, fmt.Errorf("lookup peer: %q is not a lookups line", line)
	}
	var res lookupResult
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		return nil, fmt.Errorf("lookup peer: %w", err)
	}
	return &res, nil
}

// lookupsAlone measures the lookups before the rounds, with no SMPP load,
// and prints them with their CPU cost on each side: this process's (the
// server's), less what it uses idle over as long (the proxy's and the
// store's housekeeping), and the peer's (the client's).
func lookupsAlone(ctx context.Context, w io.Writer, peer *lookupPeer, f benchFlags) error {
	span := f.load.Warmup + f.load.Duration
	idle0, err := processCPU()
	if err != nil {
		return fmt.Errorf("-api-load measures this process's CPU: %w", err)
	}
	select {
	case <-time.After(span):
	case <-ctx.Done():
		return ctx.Err()
	}
	idle1, _ := processCPU()
	r, err := peer.run(f.apiLoad, f.load.Warmup, f.load.Duration)
	if err != nil {
		return fmt.Errorf("the lookups alone: %w", err)
	}
	busy, _ := processCPU()
	per := func(cpu time.Duration) string { return fmtNanos(max(cpu, 0) / time.Duration(max(r.All, 1))) }
	fmt.Fprintf(w, "%s: the policy target with %d number lookups a second on its operator API (GET /api/v1/numbers/{number}, the handsets in turn), sent by a peer process; "+
		"alone, with no SMPP load, for %s after %s: p50 %s, p99 %s, max %s (p99 from the intended send time %s), %d of %d answered 200; CPU per lookup: %s in this process (the server; its %.1f %% of a core idle taken out), %s in the peer (the client)\n\n",
		apiTarget, f.apiLoad, f.load.Duration, f.load.Warmup, fmtDur(r.P50), fmtDur(r.P99), fmtDur(r.Max), fmtDur(r.IntendedP99), r.OK, r.Sent,
		per(busy-idle1-(idle1-idle0)), 100*float64(idle1-idle0)/float64(span), per(r.CPU))
	for _, e := range r.Errors {
		fmt.Fprintf(w, "lookups alone: %s\n", e)
	}
	return nil
}
