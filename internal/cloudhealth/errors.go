package cloudhealth

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kinds of failure a caller may branch on with errors.Is.
var (
	// ErrUnauthorized: CloudHealth refused the API key (401).
	ErrUnauthorized = errors.New("cloudhealth refused the api key")
	// ErrForbidden: the key may not do this, e.g. act for that client_api_id (403).
	ErrForbidden = errors.New("cloudhealth forbids this request")
	// ErrNotFound: no such account (404).
	ErrNotFound = errors.New("not found in cloudhealth")
	// ErrRateLimited: CloudHealth throttled the requests (429), still after the retries.
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
	if e.StatusCode == http.StatusUnauthorized {
		s += " (bad or revoked api key)"
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap gives the kind of the error (ErrUnauthorized, ...), or nil for other statuses.
func (e *APIError) Unwrap() error {
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.StatusCode == http.StatusForbidden:
		return ErrForbidden
	case e.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case e.StatusCode == http.StatusTooManyRequests:
		return ErrRateLimited
	case e.StatusCode >= 500:
		return ErrUnavailable
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

func retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
	}
	var ne *networkError
	return errors.As(err, &ne)
}
