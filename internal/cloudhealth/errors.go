package cloudhealth

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// CodeKeyRefused is the stable code of ErrKeyRefused, for logs, metrics and an admin-visible status.
const CodeKeyRefused = "cloudhealth_key_refused"

// Kinds of failure a caller may branch on with errors.Is.
var (
	// ErrKeyRefused: CloudHealth refused the API key, or the key may not act for that client_api_id (401 or 403;
	// the guide answers a bad key with 403 "Bad API Key"). It is the reseller's configuration to fix, never a
	// customer account's state.
	ErrKeyRefused = errors.New("cloudhealth refused the api key (" + CodeKeyRefused + ")")
	// ErrUnauthorized: 401 ("Currently logged out"); also ErrKeyRefused.
	ErrUnauthorized = errors.New("cloudhealth: logged out")
	// ErrForbidden: 403 ("Bad API Key", or a client_api_id the key may not act for); also ErrKeyRefused.
	ErrForbidden = errors.New("cloudhealth forbids this request")
	// ErrNotFound: no such account (404).
	ErrNotFound = errors.New("not found in cloudhealth")
	// ErrRateLimited: CloudHealth throttled the requests (429), still after waiting out the budget.
	ErrRateLimited = errors.New("cloudhealth rate limit")
	// ErrUnavailable: CloudHealth failed (5xx) or could not be reached, still after the retries.
	ErrUnavailable = errors.New("cloudhealth unavailable")
)

// APIError is an answer of CloudHealth other than 200. Its text never holds the API key.
type APIError struct {
	StatusCode int
	Message    string        // the start of the body CloudHealth sent
	RetryAfter time.Duration // what a 429 or 503 asked to wait; 0 when it did not say
}

// Error describes the answer: status, the reason in words, any Retry-After, and the start of the body.
func (e *APIError) Error() string {
	s := fmt.Sprintf("http %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
		s += " (" + CodeKeyRefused + ": bad or revoked api key, or a client_api_id it may not act for)"
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap gives the kinds of the error (ErrKeyRefused and ErrForbidden, ...), or none for other statuses.
func (e *APIError) Unwrap() []error {
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return []error{ErrKeyRefused, ErrUnauthorized}
	case e.StatusCode == http.StatusForbidden:
		return []error{ErrKeyRefused, ErrForbidden}
	case e.StatusCode == http.StatusNotFound:
		return []error{ErrNotFound}
	case e.StatusCode == http.StatusTooManyRequests:
		return []error{ErrRateLimited}
	case e.StatusCode >= 500:
		return []error{ErrUnavailable}
	}
	return nil
}

// networkError is a request that got no HTTP answer.
type networkError struct {
	err   error // the redacted text
	cause error
}

func (e *networkError) Error() string { return "no answer: " + e.err.Error() }

// Is makes a network error count as ErrUnavailable.
func (e *networkError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap keeps the transport's error reachable (e.g. a *url.Error, context.DeadlineExceeded).
func (e *networkError) Unwrap() error { return e.cause }

// budgetRefusal reports whether an answer says the budget is spent (429) or the back end is capped out (503): both
// are waited out until the next budget window.
func budgetRefusal(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode == http.StatusServiceUnavailable)
}

// retryable reports whether another try may succeed: the budget refusals, other 5xx answers and network errors.
func retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
	}
	var ne *networkError
	return errors.As(err, &ne)
}
