package main

// The client side of the operator API, for the commands that scripts run
// against a live optguard (consent, dnc, report): the server and token,
// requests, the API's errors in words, and output as a table or JSON.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// defaultServer is the admin listener's default address (admin.address).
const defaultServer = "http://127.0.0.1:9775"

// apiFlags are the flags every API command takes.
type apiFlags struct {
	server  *string
	ca      *string
	json    *bool
	timeout *time.Duration
}

func addAPIFlags(fs *flag.FlagSet, timeout time.Duration) apiFlags {
	server := os.Getenv("OPTGUARD_SERVER")
	if server == "" {
		server = defaultServer
	}
	return apiFlags{
		server:  fs.String("server", server, "the admin listener's URL (or OPTGUARD_SERVER)"),
		ca:      fs.String("ca", "", "PEM file of the CA that signed an HTTPS admin listener's certificate (default: the system's)"),
		json:    fs.Bool("json", false, "print the API's JSON instead of a table"),
		timeout: fs.Duration("timeout", timeout, "give up after this long"),
	}
}

// apiClient calls the operator API of one optguard.
type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

// client makes the client from the flags and OPTGUARD_TOKEN.
func (f apiFlags) client() (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(*f.server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-server %q: want http://HOST:PORT or https://HOST:PORT (the admin listener, admin.address)", *f.server)
	}
	token := strings.TrimSpace(os.Getenv("OPTGUARD_TOKEN"))
	if token == "" {
		return nil, errors.New("OPTGUARD_TOKEN is not set: export it with an operator API token (optguard token create makes one)")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if *f.ca != "" {
		pem, err := os.ReadFile(*f.ca)
		if err != nil {
			return nil, fmt.Errorf("-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca %s: no PEM certificate in it", *f.ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &apiClient{base: u, token: token, http: &http.Client{Transport: tr}}, nil
}

// context is the command's: it ends after -timeout or at Ctrl-C.
func (f apiFlags) context() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	ctx, cancel := context.WithTimeout(ctx, *f.timeout)
	return ctx, func() { cancel(); stop() }
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" && !strings.HasPrefix(e.Message, e.Field+":") {
		s += " (field " + e.Field + ")"
	}
	return s
}

// do sends a request and returns the response when it is 2xx; otherwise
// the API's error. body may be nil; a non-nil body is sent as contentType.
func (c *apiClient) do(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	// path is escaped already (numberPath): joined as text, not re-escaped.
	full := c.base.String() + path
	if len(q) > 0 {
		full += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, full, body)
	if err != nil {
		return nil, err
	}
	u := req.URL
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct{ Error *apiError }
	if json.Unmarshal(raw, &e) != nil || e.Error == nil {
		return nil, fmt.Errorf("%s %s: %s (is -server the admin listener?)", method, u.Redacted(), resp.Status)
	}
	e.Error.Status = resp.StatusCode
	return nil, e.Error
}

// call sends in (nil, or marshalled as JSON) and decodes the answer into out.
func (c *apiClient) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		j, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(j))
	}
	resp, err := c.do(ctx, method, path, q, body, "application/json")
	if err != nil {
		return err
	}
	return decodeBody(resp, out)
}

// decodeBody decodes a JSON answer into out and closes it.
func decodeBody(resp *http.Response, out any) error {
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: the answer is not JSON: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// numberPath is the path of one number's resource: the number as typed
// (the API normalizes it), escaped.
func numberPath(number, rest string) string {
	return "/api/v1/numbers/" + url.PathEscape(number) + rest
}

// object is a JSON object as the API answers it.
type object = map[string]any

// column is one column of a table: its header and the object's key
// (a.b for a nested object's).
type column struct{ header, key string }

// printTable writes rows as an aligned table with the columns' headers.
func printTable(w io.Writer, cols []column, rows []object) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for i, c := range cols {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, c.header)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		for i, c := range cols {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, cellText(r, c.key))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// cellText is the text of key in r: "-" when absent, control characters
// shown escaped so that a handset's text cannot move the terminal.
func cellText(r object, key string) string {
	var v any = r
	for _, k := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "-"
		}
		v = m[k]
	}
	var s string
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		s = x
		// Times to the second: a table is read by people.
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			s = t.Format(time.RFC3339)
		}
	case float64:
		s = strings.TrimSuffix(fmt.Sprintf("%f", x), ".000000")
	case bool:
		if !x {
			return "-"
		}
		s = "yes"
	default:
		j, _ := json.Marshal(x)
		s = string(j)
	}
	if s == "" {
		return "-"
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// items is the list under "items" of an API answer.
func items(v object) []object {
	list, _ := v["items"].([]any)
	out := make([]object, 0, len(list))
	for _, it := range list {
		if o, ok := it.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
