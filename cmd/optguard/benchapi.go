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

// apiClient calls the operator API with a bearer token.
type apiClient struct {
	base, token string
	http        *http.Client
}

// newAPIClient keeps up to conns connections to base open.
func newAPIClient(base, token string, conns int) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	return &apiClient{base: base, token: token, http: &http.Client{Transport: tr}}
}

// do sends req with the token and decodes the answer into into (unless
// nil), which must have status want.
func (c *apiClient) do(req *http.Request, want int, into any) error {
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

func (c *apiClient) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, http.StatusOK, into)
}

// profile writes a CPU profile of d from the admin listener's
// /debug/pprof/profile to path.
func (c *apiClient) profile(ctx context.Context, path string, d time.Duration) error {
	return c.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())), path)
}

// fetch writes what the admin listener answers at urlPath to the file path.
func (c *apiClient) fetch(ctx context.Context, urlPath, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+urlPath, nil)
	if err != nil {
		return err
	}
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

// lookupResult is one run of number lookups.
type lookupResult struct {
	Rate     int // asked for, per second
	Sent, OK uint64
	Latency  testenv.Histogram // from the intended send time to the answer read, measured period only
	Errors   []string          // distinct failures, the first few
	Elapsed  time.Duration     // the measured period
}

// PerSecond is the lookups answered 200 per second in the measured period.
func (r *lookupResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Latency.Count()) / r.Elapsed.Seconds()
}

// lookupPaths are the GET /api/v1/numbers/{number} of the handsets the
// load addresses, which the policy proxy's first contacts have put in the
// store: testenv's destination, and with -vary-dest its last four digits
// cycling through 0000…9999.
func lookupPaths(load testenv.LoadConfig) []string {
	const dest = "+15550000002" // testenv's default destination
	if !load.VaryDest {
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
func runLookups(ctx context.Context, c *apiClient, paths []string, rate int, warmup, duration time.Duration) *lookupResult {
	type lookup struct {
		i  int
		at time.Time // when it was meant to be sent
	}
	res := &lookupResult{Rate: rate, Elapsed: duration}
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
			var h testenv.Histogram
			var sent, ok uint64
			var errs []string
			for l := range queue {
				err := c.get(ctx, paths[l.i%len(paths)], nil)
				took := time.Since(l.at)
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
			}
			mu.Lock()
			defer mu.Unlock()
			res.Sent += sent
			res.OK += ok
			res.Latency.Merge(&h)
			for _, e := range errs {
				if len(res.Errors) < 5 && !slices.Contains(res.Errors, e) {
					res.Errors = append(res.Errors, e)
				}
			}
		}()
	}
	wg.Wait()
	return res
}
