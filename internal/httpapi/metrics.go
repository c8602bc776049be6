package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// MetricsHandler serves the registry in the Prometheus format, beside the API or on a listener of its own; when token
// is not empty it answers only requests that send "Authorization: Bearer <token>", and 401 to the others.
func MetricsHandler(reg *prometheus.Registry, token string) http.Handler {
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if token == "" {
		return metrics
	}
	// Comparing digests takes the same time whatever the sent token shares with the real one, its length included.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent, ok := bearer(r.Header.Get("Authorization"))
		got := sha256.Sum256([]byte(sent))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			p, _ := problemFor(invite.Errorf(invite.CodeUnauthenticated, "send the metrics token: Authorization: Bearer <METRICS_TOKEN>"))
			p.Instance = r.URL.Path
			p.RequestID = w.Header().Get("X-Request-Id") // set by the API's middleware when served beside it
			w.Header().Set("WWW-Authenticate", `Bearer realm="aws-invites-metrics"`)
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(p.Status)
			_ = jsonEncode(w, p)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}
