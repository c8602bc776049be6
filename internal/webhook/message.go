package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is one event as it is delivered.
type Message struct {
	// ID is the event's id, sent as webhook-id: the same on every retry, so receivers can drop duplicates.
	ID string
	// Type is the event's type, such as "invite.accepted".
	Type string
	// Timestamp is when the event happened (not when it is sent).
	Timestamp time.Time
	// Data is the event's payload, a JSON value.
	Data json.RawMessage
}

// payload is the body the specification describes.
type payload struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Body returns the JSON body of m. Callers that keep messages in an outbox may store it, so that every retry sends
// the same bytes.
func (m Message) Body() ([]byte, error) {
	if m.ID == "" {
		return nil, errors.New("webhook: message without id")
	}
	if m.Type == "" {
		return nil, errors.New("webhook: message without type")
	}
	if len(m.Data) == 0 {
		return nil, errors.New("webhook: message without data")
	}
	b, err := json.Marshal(payload{Type: m.Type, Timestamp: m.Timestamp.UTC().Format(time.RFC3339Nano), Data: m.Data})
	if err != nil {
		return nil, fmt.Errorf("webhook: message %s: data is not JSON: %w", m.ID, err)
	}
	return b, nil
}
