// Package webhook delivers events to partners' HTTP endpoints as the Standard Webhooks specification
// (standardwebhooks.com) describes them: a JSON body {"type", "timestamp", "data"}, and the headers webhook-id,
// webhook-timestamp and webhook-signature, the last an HMAC-SHA256 over id, timestamp and body with a shared
// "whsec_" secret. It is written from the specification's description of these; the tests check it against the
// example signature the specification publishes.
//
// The package knows nothing of invites: the caller gives an event's id, type, time and data, the endpoint's URL
// and its secrets, and gets back one Attempt. Retrying (Schedule, MaxAttempts), the outbox and the attempt records
// are the caller's.
//
// A Guard keeps deliveries off the service's own network (SSRF): in production only https URLs whose every address
// is public are accepted, when an endpoint is registered (CheckURL) and again when each connection is dialed
// (DialContext), so a DNS answer that changes in between cannot point a delivery at an internal address.
package webhook
