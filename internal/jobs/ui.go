package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"riverqueue.com/riverui"
)

// UI returns River's web UI (riverqueue.com/riverui: jobs by state, kind and queue, their attempts and errors)
// over this replica's client, for pages and API under prefix, and starts its background services (its caches)
// until ctx ends. It is the caller's to put behind authentication: the handler itself lets anyone in.
func (r *Runner) UI(ctx context.Context, prefix string) (http.Handler, error) {
	if r.ui == nil {
		return nil, errors.New("jobs: no job engine for the UI")
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: r.ui, Logger: r.log, Prefix: prefix})
	if err != nil {
		return nil, fmt.Errorf("jobs: River UI: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("jobs: start River UI: %w", err)
	}
	return h, nil
}
