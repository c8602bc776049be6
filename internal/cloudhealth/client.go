package cloudhealth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// MaxPerPage is the largest page CloudHealth serves (per_page, default 30, at most 100).
const MaxPerPage = 100

// Options tunes a Client; the zero value is right for production.
type Options struct {
	// HTTPClient sends the requests; nil means a client with a 30 second timeout.
	HTTPClient *http.Client
	// PerPage is the page size of the listings: default and maximum 100, so a pass costs as few requests as
	// CloudHealth allows.
	PerPage int
	// Retries is how many more tries a request gets after a 429, a 5xx or a network error; default 3, negative
	// none. A 429 or 503 waits for the next budget window, so the default waits out about three minutes at most.
	Retries int
	// Rate is the request budget of the API key; default DefaultRate (30 a minute). Tests make it fast.
	Rate Rate
	// Clock is what the budget and the waits read; nil means the real time.
	Clock Clock
	// Limiter, when set, is shared with other clients of the same key (the budget is per key); Rate and Clock are
	// then the limiter's.
	Limiter *Limiter
	// MinBackoff is the first wait after a 5xx other than 503 or a network error, doubled at each try and capped at
	// the budget's window; default 1s.
	MinBackoff time.Duration
	// Observe, when set, is told of every call when it ends, retries and budget waits included (metrics, traces):
	// its operation (ListAWSAccounts, ListAWSAccountAssignments, GetAWSAccount, GenerateExternalID), how long it
	// took and its error. Start, when set, is called as a call begins; the context it returns is the call's.
	Observe func(ctx context.Context, operation string, d time.Duration, err error)
	Start   func(ctx context.Context, operation string) context.Context
}

// Client calls the CloudHealth API with one API key, within the key's request budget. It is safe for concurrent
// use. Every call takes the tenant it acts for: "" for the key's own, or a partner's customer's client_api_id.
type Client struct {
	base     *url.URL
	key      string
	opts     Options
	client   *http.Client
	limiter  *Limiter
	requests atomic.Int64
}

// New returns a client for the API at baseURL (https://chapi.cloudhealthtech.com in production).
func New(baseURL, apiKey string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cloudhealth: base url %q: want http(s)://host[/path]", baseURL)
	}
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("cloudhealth: empty api key")
	}
	switch {
	case opts.PerPage <= 0:
		opts.PerPage = MaxPerPage
	case opts.PerPage > MaxPerPage:
		return nil, fmt.Errorf("cloudhealth: per page %d over the maximum of %d", opts.PerPage, MaxPerPage)
	}
	if opts.Retries == 0 {
		opts.Retries = 3
	} else if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	lim := opts.Limiter
	if lim == nil {
		lim = NewLimiter(opts.Rate, opts.Clock)
	}
	opts.Clock, opts.Rate = lim.clock, lim.rate
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, key: apiKey, opts: opts, client: hc, limiter: lim}, nil
}

// Limiter returns the client's request budget.
func (c *Client) Limiter() *Limiter { return c.limiter }

// Requests returns how many requests the client has sent, retries included.
func (c *Client) Requests() int { return int(c.requests.Load()) }

// PageInfo is what a page of a listing says about the listing: the headers the guide documents, when sent.
type PageInfo struct {
	Page    int
	PerPage int  // X-Per-Page, else what was asked
	Total   int  // X-Total; -1 when not sent
	Link    bool // whether a Link header was sent (the guide sends one when the result is truncated)
	HasNext bool // whether Link has rel="next"
	Count   int  // the entries on this page
}

// Last reports whether no page follows: an empty or short page, the total reached, or a Link without next.
func (p PageInfo) Last() bool {
	switch {
	case p.Count == 0 || p.Count < p.PerPage:
		return true
	case p.Total >= 0 && p.Page*p.PerPage >= p.Total:
		return true
	case p.Link && !p.HasNext:
		return true
	}
	return false
}

// AccountsPage reads one page of /v1/aws_accounts of the tenant.
func (c *Client) AccountsPage(ctx context.Context, tenant string, page int) ([]Account, PageInfo, error) {
	var body struct {
		Accounts []wireAccount `json:"aws_accounts"`
	}
	q := c.pageQuery(page)
	setTenant(q, "client_api_id", tenant)
	hdr, err := c.get(ctx, "/v1/aws_accounts", q, &body)
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("cloudhealth: list aws accounts%s, page %d: %w", tenantText(tenant), page, err)
	}
	out := make([]Account, 0, len(body.Accounts))
	for _, w := range body.Accounts {
		a, err := w.account()
		if err != nil {
			return nil, PageInfo{}, fmt.Errorf("cloudhealth: list aws accounts%s, page %d: %w", tenantText(tenant), page, err)
		}
		out = append(out, a)
	}
	return out, c.pageInfo(hdr, page, len(out)), nil
}

// AssignmentsPage reads one page of a partner's /v2/aws_account_assignments for one customer tenant (all of
// them when tenant is ""). It is a partner-level endpoint: the customer is named by target_client_api_id.
func (c *Client) AssignmentsPage(ctx context.Context, tenant string, page int) ([]Assignment, PageInfo, error) {
	// The guide shows the v2 answer's entries without naming the list's key; this is the one its v1 sibling and
	// /v1/aws_accounts use (the resource's plural), inferred.
	var body struct {
		Assignments []wireAssignment `json:"aws_account_assignments"`
	}
	q := c.pageQuery(page)
	setTenant(q, "target_client_api_id", tenant)
	hdr, err := c.get(ctx, "/v2/aws_account_assignments", q, &body)
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("cloudhealth: list aws account assignments%s, page %d: %w", tenantText(tenant), page, err)
	}
	out := make([]Assignment, 0, len(body.Assignments))
	for _, w := range body.Assignments {
		a, err := w.assignment()
		if err != nil {
			return nil, PageInfo{}, fmt.Errorf("cloudhealth: list aws account assignments%s, page %d: %w", tenantText(tenant), page, err)
		}
		out = append(out, a)
	}
	return out, c.pageInfo(hdr, page, len(out)), nil
}

// GetAccount returns one account by CloudHealth's id; errors.Is(err, ErrNotFound) when there is none.
func (c *Client) GetAccount(ctx context.Context, tenant string, id int64) (Account, error) {
	var w wireAccount
	q := url.Values{}
	setTenant(q, "client_api_id", tenant)
	if _, err := c.get(ctx, "/v1/aws_accounts/"+strconv.FormatInt(id, 10), q, &w); err != nil {
		return Account{}, fmt.Errorf("cloudhealth: get aws account %d%s: %w", id, tenantText(tenant), err)
	}
	a, err := w.account()
	if err != nil {
		return Account{}, fmt.Errorf("cloudhealth: get aws account %d%s: %w", id, tenantText(tenant), err)
	}
	return a, nil
}

// GenerateExternalID asks CloudHealth for the tenant's external id, which the customer's IAM role must require of
// CloudHealth. The guide says it is generated once per customer and reused for all its accounts, and public
// clients call the endpoint with a literal ":id" in place of an account's id: so does this, and setup works before
// CloudHealth lists the account.
func (c *Client) GenerateExternalID(ctx context.Context, tenant string) (string, error) {
	var body struct {
		ExternalID string `json:"generated_external_id"`
	}
	q := url.Values{}
	setTenant(q, "client_api_id", tenant)
	if _, err := c.get(ctx, "/v1/aws_accounts/:id/generate_external_id", q, &body); err != nil {
		return "", fmt.Errorf("cloudhealth: generate external id%s: %w", tenantText(tenant), err)
	}
	if body.ExternalID == "" {
		return "", fmt.Errorf("cloudhealth: generate external id%s: empty answer", tenantText(tenant))
	}
	return body.ExternalID, nil
}

func (c *Client) pageQuery(page int) url.Values {
	return url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(c.opts.PerPage)}}
}

func setTenant(q url.Values, param, tenant string) {
	if tenant != "" {
		q.Set(param, tenant)
	}
}

func tenantText(tenant string) string {
	if tenant == "" {
		return ""
	}
	return " of client " + tenant
}

func (c *Client) pageInfo(h http.Header, page, count int) PageInfo {
	p := PageInfo{Page: page, PerPage: c.opts.PerPage, Total: -1, Count: count}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Per-Page"))); err == nil && n > 0 {
		p.PerPage = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Total"))); err == nil && n >= 0 {
		p.Total = n
	}
	if links := h.Values("Link"); len(links) > 0 {
		p.Link = true
		p.HasNext = linkHasNext(strings.Join(links, ","))
	}
	return p
}

// linkHasNext reads an RFC 8288 Link header for rel="next" (or rel=next, possibly among other relations).
func linkHasNext(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		for param := range strings.SplitSeq(part, ";") {
			name, val, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
				continue
			}
			for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(val), `"`)) {
				if strings.EqualFold(rel, "next") {
					return true
				}
			}
		}
	}
	return false
}

// get sends one GET within the budget, waits out budget refusals and retries other failures, and decodes a 200
// answer into out.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) (hdr http.Header, err error) {
	if c.opts.Start != nil || c.opts.Observe != nil {
		op, start := operationOf(path), time.Now()
		if c.opts.Start != nil {
			ctx = c.opts.Start(ctx, op)
		}
		if c.opts.Observe != nil {
			defer func() { c.opts.Observe(ctx, op, time.Since(start), err) }()
		}
	}
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	var lastErr error
	for attempt := 0; ; attempt++ {
		if err := c.limiter.Wait(ctx); err != nil {
			if lastErr != nil {
				return nil, fmt.Errorf("%w (gave up waiting for the request budget: %w)", lastErr, err)
			}
			return nil, fmt.Errorf("waiting for the request budget: %w", err)
		}
		hdr, retryAfter, err := c.try(ctx, u.String(), out)
		if err == nil {
			return hdr, nil
		}
		lastErr = err
		if ctx.Err() != nil || !retryable(err) || attempt >= c.opts.Retries {
			return nil, err
		}
		if budgetRefusal(err) {
			// No Retry-After is documented: the budget stays closed until the next window.
			c.limiter.Backoff(retryAfter)
			continue
		}
		wait := min(c.opts.MinBackoff<<attempt, c.opts.Rate.Per)
		if err := c.opts.Clock.Sleep(ctx, max(wait, retryAfter)); err != nil {
			return nil, fmt.Errorf("%w (gave up waiting to retry: %w)", lastErr, err)
		}
	}
}

// operationOf names the API operation of a path, for Options.Observe.
func operationOf(path string) string {
	switch {
	case path == "/v1/aws_accounts":
		return "ListAWSAccounts"
	case path == "/v2/aws_account_assignments":
		return "ListAWSAccountAssignments"
	case strings.HasSuffix(path, "/generate_external_id"):
		return "GenerateExternalID"
	case strings.HasPrefix(path, "/v1/aws_accounts/"):
		return "GetAWSAccount"
	}
	return path
}

// try sends one request; it returns the Retry-After the server asked for, if any.
func (c *Client) try(ctx context.Context, u string, out any) (http.Header, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	c.requests.Add(1)
	resp, err := c.client.Do(req)
	if err != nil {
		// The key travels only in a header, so the url.Error text cannot hold it; redact anyway in case a
		// transport echoes headers.
		return nil, 0, &networkError{err: errors.New(c.redact(err.Error())), cause: err}
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
			return nil, 0, fmt.Errorf("decode answer: %w", err)
		}
		return resp.Header, 0, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	e := &APIError{
		StatusCode: resp.StatusCode,
		Message:    c.redact(errorText(snippet)),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.opts.Clock.Now()),
	}
	return nil, e.RetryAfter, e
}

// errorText is the "error" of CloudHealth's {"error": "..."} answers, else the start of the body as sent.
func errorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(body))
}

func (c *Client) redact(s string) string {
	return strings.ReplaceAll(s, c.key, "[redacted]")
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or unreadable. CloudHealth documents none, but a
// proxy in front of it may send one.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
