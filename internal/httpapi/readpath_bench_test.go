package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGetInvite is the service's GET of one invite as serve runs it (the sandbox with its clocks in the
// database, a request deadline, the log written to a file), called without a connection so that what it measures
// is the server in front of the store and the store's one round trip to PostgreSQL: the middleware (request id,
// log and metrics, recovery, deadline, token, input checks, validation), the handler, the store's read and the
// answer. Besides Go's time and allocations a request it reports the process's CPU a request (cpu-us/op, user and
// system time from getrusage), the figure docs/read-path.md follows: unlike the time a request, it does not
// depend on how long PostgreSQL took to answer. The requests themselves (httptest's request and recorder) are a
// small constant part of it.
func BenchmarkGetInvite(b *testing.B) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = devNull.Close() })
	e := newEnv(b, envOptions{sandbox: true, testClocks: true, logTo: devNull, requestTimeout: 30 * time.Second})
	path := invitesPath(profile) + "/" + e.create("123456789012")["id"].(string)
	auth := "Bearer " + e.token()
	get := func() int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, req)
		return w.Code
	}
	if code := get(); code != http.StatusOK {
		b.Fatalf("GET %s: %d", path, code)
	}
	b.ReportAllocs()
	before := cpuTime(b)
	b.SetParallelism(16) // 32 requests at a time on 2 cores, as scripts/bench-read's wrk sends them
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code := get(); code != http.StatusOK {
				b.Errorf("GET %s: %d", path, code)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(b.N), "cpu-us/op")
}

// cpuTime is the user and system time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
