package cloudhealth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxPerPage is the largest page CloudHealth serves.
const MaxPerPage = 100

// Options tunes a Client; the zero value is fine for production.
type Options struct {
	// ClientAPIID is the customer a partner key acts for, sent as client_api_id; empty for a direct customer key.
	ClientAPIID string
	// HTTPClient sends the requests; nil means a client with a 30 second timeout.
	HTTPClient *http.Client
	// PerPage is the page size of ListAccounts: default and maximum 100.
	PerPage int
	// Retries is how many times a request is retried after 429, a 5xx or a network error; default 3, and a negative
	// value means none.
	Retries int
	// MinBackoff is the wait before the first retry, doubled at each retry with jitter; default 500ms.
	MinBackoff time.Duration
	// MaxBackoff caps one wait, including a Retry-After the server asks for; default 30s.
	MaxBackoff time.Duration
}

// Client calls the CloudHealth API with one API key. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	key    string
	opts   Options
	client *http.Client
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
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, key: apiKey, opts: opts, client: hc}, nil
}

// ListAccounts calls fn for every AWS account CloudHealth lists, page by page, until a short or empty page. An error
// from fn stops the listing and is returned as is.
func (c *Client) ListAccounts(ctx context.Context, fn func(Account) error) error {
	var prevFirst int64
	for page := 1; ; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(c.opts.PerPage)}}
		var body struct {
			Accounts []wireAccount `json:"aws_accounts"`
		}
		if err := c.get(ctx, "/v1/aws_accounts", q, &body); err != nil {
			return fmt.Errorf("cloudhealth: list aws accounts, page %d: %w", page, err)
		}
		for i, w := range body.Accounts {
			a, err := w.account()
			if err != nil {
				return fmt.Errorf("cloudhealth: list aws accounts, page %d: %w", page, err)
			}
			// A server that ignores ?page= would repeat the first page forever.
			if i == 0 {
				if page > 1 && a.ID == prevFirst {
					return fmt.Errorf("cloudhealth: list aws accounts: page %d repeats page %d", page, page-1)
				}
				prevFirst = a.ID
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(body.Accounts) < c.opts.PerPage {
			return nil
		}
	}
}

// GetAccount returns one account by CloudHealth's id; errors.Is(err, ErrNotFound) when there is none.
func (c *Client) GetAccount(ctx context.Context, id int64) (Account, error) {
	var w wireAccount
	if err := c.get(ctx, "/v1/aws_accounts/"+strconv.FormatInt(id, 10), nil, &w); err != nil {
		return Account{}, fmt.Errorf("cloudhealth: get aws account %d: %w", id, err)
	}
	a, err := w.account()
	if err != nil {
		return Account{}, fmt.Errorf("cloudhealth: get aws account %d: %w", id, err)
	}
	return a, nil
}

// AccountByOwner lists the accounts and returns the one of a 12-digit AWS account id; errors.Is(err, ErrNotFound)
// when CloudHealth does not know it (yet: it creates accounts once they appear in the payer's CUR).
func (c *Client) AccountByOwner(ctx context.Context, ownerID string) (Account, error) {
	var found *Account
	errFound := errors.New("found")
	err := c.ListAccounts(ctx, func(a Account) error {
		if a.OwnerID == ownerID {
			found = &a
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return Account{}, err
	}
	if found == nil {
		return Account{}, fmt.Errorf("cloudhealth: aws account %s: %w", ownerID, ErrNotFound)
	}
	return *found, nil
}

// AccountsByOwner lists every account once and indexes it by AWS account id, which is what a periodic check of
// all joined accounts needs: one listing (pages of 100) however many accounts there are. When CloudHealth lists
// one AWS account twice, the most recently updated entry wins.
func (c *Client) AccountsByOwner(ctx context.Context) (map[string]Account, error) {
	out := map[string]Account{}
	err := c.ListAccounts(ctx, func(a Account) error {
		if prev, ok := out[a.OwnerID]; !ok || a.UpdatedAt.After(prev.UpdatedAt) {
			out[a.OwnerID] = a
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GenerateExternalID asks CloudHealth for the external id the customer's IAM role must require of CloudHealth.
func (c *Client) GenerateExternalID(ctx context.Context, id int64) (string, error) {
	var body struct {
		ExternalID string `json:"generated_external_id"`
	}
	if err := c.get(ctx, "/v1/aws_accounts/"+strconv.FormatInt(id, 10)+"/generate_external_id", nil, &body); err != nil {
		return "", fmt.Errorf("cloudhealth: generate external id for aws account %d: %w", id, err)
	}
	if body.ExternalID == "" {
		return "", fmt.Errorf("cloudhealth: generate external id for aws account %d: empty answer", id)
	}
	return body.ExternalID, nil
}

// get sends one GET, retrying throttling, 5xx answers and network errors, and decodes a 200 answer into out.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	if q == nil {
		q = url.Values{}
	}
	if c.opts.ClientAPIID != "" {
		q.Set("client_api_id", c.opts.ClientAPIID)
	}
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()

	var err error
	for attempt := 0; ; attempt++ {
		var retryAfter time.Duration
		retryAfter, err = c.try(ctx, u.String(), out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable(err) || attempt >= c.opts.Retries {
			return err
		}
		wait := c.backoff(attempt, retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fmt.Errorf("%w (not retried: the deadline comes before the next try)", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up waiting to retry: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// try sends one request; it returns the Retry-After the server asked for, if any.
func (c *Client) try(ctx context.Context, u string, out any) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		// The key travels only in a header, so the url.Error text cannot hold it; redact anyway in case a
		// transport echoes headers.
		return 0, &networkError{err: errors.New(c.redact(err.Error())), cause: err}
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
			return 0, fmt.Errorf("decode answer: %w", err)
		}
		return 0, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	e := &APIError{
		StatusCode: resp.StatusCode,
		Message:    c.redact(strings.TrimSpace(string(snippet))),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	return e.RetryAfter, e
}

func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.opts.MinBackoff << attempt
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	// Jitter spreads replicas that were throttled together.
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = retryAfter
	}
	return min(d, c.opts.MaxBackoff)
}

func (c *Client) redact(s string) string {
	return strings.ReplaceAll(s, c.key, "[redacted]")
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or unreadable.
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
