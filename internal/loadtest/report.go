package loadtest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The targets of issue 12.
const (
	// ReadP99Target is the p99 latency reads must stay within.
	ReadP99Target = 50 * time.Millisecond
	// RateHeldShare is the share of the offered rate the completed requests must reach for the rate to count as held.
	RateHeldShare = 0.99
	// RSSFlatGrowth is how much the RSS may grow from the end of the first window for it to count as flat.
	RSSFlatGrowth = 0.25
)

// expected is each kind's only success status; anything else counts as an error.
var expected = [numKinds]int{GetInvite: 200, ListInvites: 200, CreateInvite: 201, CancelInvite: 200, RefreshInvite: 200}

// Report is what a run measured. Latencies count from the moment the schedule meant the request to start.
type Report struct {
	Rate        float64
	Duration    time.Duration
	Profiles    int
	SeedInvites int
	Setup       time.Duration // creating the profiles and the seed invites

	mu      sync.Mutex
	begin   time.Time
	end     time.Time
	lat     [numKinds][]time.Duration
	errs    map[string]int // "kind status" or "kind transport: ..." -> count
	missedN [numKinds]int
	samples []Sample
	window  windowStats
}

// Sample is one RSS reading with the requests completed since the previous one.
type Sample struct {
	At        time.Duration // since the load started
	RSSKB     int64         // 0 when it could not be read
	Completed int
	Errors    int
	ReadP99   time.Duration
}

type windowStats struct {
	completed, errors int
	reads             []time.Duration
}

func newReport(cfg Config) *Report {
	return &Report{Rate: cfg.Rate, Duration: cfg.Duration, Profiles: cfg.Profiles, errs: map[string]int{}}
}

func (r *Report) start(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.begin = t
}

func (r *Report) finish(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.end = t
}

func (r *Report) missed(k Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.missedN[k]++
}

func (r *Report) record(k Kind, scheduled, done time.Time, status int, err error) {
	d := done.Sub(scheduled)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat[k] = append(r.lat[k], d)
	r.window.completed++
	switch {
	case err != nil:
		r.errs[k.String()+" transport: "+shortErr(err)]++
		r.window.errors++
	case status != expected[k]:
		r.errs[k.String()+" "+strconv.Itoa(status)+" "+http.StatusText(status)]++
		r.window.errors++
	}
	if k == GetInvite || k == ListInvites {
		r.window.reads = append(r.window.reads, d)
	}
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// sample closes the current window with an RSS reading and, when progress is set, prints it.
func (r *Report) sample(now time.Time, rssKB int64, progress io.Writer) {
	r.mu.Lock()
	s := Sample{At: now.Sub(r.begin).Round(time.Second), RSSKB: rssKB, Completed: r.window.completed,
		Errors: r.window.errors, ReadP99: percentile(r.window.reads, 99)}
	prev := time.Duration(0)
	if n := len(r.samples); n > 0 {
		prev = r.samples[n-1].At
	}
	r.samples = append(r.samples, s)
	r.window = windowStats{}
	r.mu.Unlock()
	if progress != nil && s.At > prev { // the last window may end within a second of the previous one
		secs := (s.At - prev).Seconds()
		fmt.Fprintf(progress, "  t=%-6s completed %6.1f/s  errors %-4d read p99 %-9s RSS %s\n",
			s.At, float64(s.Completed)/secs, s.Errors, ms(s.ReadP99), mb(s.RSSKB))
	}
}

// Errors is the number of requests that failed: a transport error or a status other than the kind's success.
func (r *Report) Errors() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.errs {
		n += v
	}
	return n
}

// Missed is the number of arrivals not sent because MaxInFlight requests were outstanding.
func (r *Report) Missed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.missedN {
		n += v
	}
	return n
}

// Count is the number of requests of kind k that completed.
func (r *Report) Count(k Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lat[k])
}

// Completed is the number of requests that got an answer or a transport error.
func (r *Report) Completed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lat {
		n += len(l)
	}
	return n
}

// AchievedRate is the completed requests a second over the whole run, from the first scheduled start to the
// last answer.
func (r *Report) AchievedRate() float64 {
	n := r.Completed()
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := r.end.Sub(r.begin).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// ReadP99 is the p99 latency of reads (GET of an invite and list pages together).
func (r *Report) ReadP99() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return percentile(slices.Concat(r.lat[GetInvite], r.lat[ListInvites]), 99)
}

// RSS returns the first, peak and last RSS readings (KiB), and the reading at the end of the first window.
func (r *Report) RSS() (first, peak, last, afterFirstWindow int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range r.samples {
		if i == 0 {
			first = s.RSSKB
		}
		if i == 1 {
			afterFirstWindow = s.RSSKB
		}
		peak = max(peak, s.RSSKB)
		last = s.RSSKB
	}
	return first, peak, last, afterFirstWindow
}

// Verdict checks issue 12's targets and says which failed.
func (r *Report) Verdict() (ok bool, failed []string) {
	if got := r.AchievedRate(); got < RateHeldShare*r.Rate {
		failed = append(failed, fmt.Sprintf("rate %.1f/s below %.0f%% of %.0f/s", got, 100*RateHeldShare, r.Rate))
	}
	if n := r.Errors() + r.Missed(); n > 0 {
		failed = append(failed, fmt.Sprintf("%d errors or missed arrivals", n))
	}
	if p := r.ReadP99(); p > ReadP99Target {
		failed = append(failed, fmt.Sprintf("read p99 %s above %s", ms(p), ms(ReadP99Target)))
	}
	if _, peak, last, base := r.RSS(); base > 0 && float64(max(peak, last)) > (1+RSSFlatGrowth)*float64(base) {
		failed = append(failed, fmt.Sprintf("RSS grew from %s (end of the first window) to a peak of %s", mb(base), mb(peak)))
	}
	return len(failed) == 0, failed
}

// Print writes the summary.
func (r *Report) Print(w io.Writer) {
	completed, errs, missed := r.Completed(), r.Errors(), r.Missed()
	fmt.Fprintf(w, "load: %.0f req/s offered for %s over %d billing profiles (%d seed invites, set up in %s)\n",
		r.Rate, r.Duration, r.Profiles, r.SeedInvites, r.Setup.Round(100*time.Millisecond))
	fmt.Fprintf(w, "achieved: %.1f req/s completed (%d requests), %d errors, %d missed arrivals\n",
		r.AchievedRate(), completed, errs, missed)
	r.mu.Lock()
	keys := make([]string, 0, len(r.errs))
	for k := range r.errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  error %-60s %d\n", k, r.errs[k])
	}
	fmt.Fprintf(w, "%-8s %8s %9s %9s %9s %9s\n", "kind", "count", "p50", "p90", "p99", "max")
	row := func(name string, l []time.Duration) {
		fmt.Fprintf(w, "%-8s %8d %9s %9s %9s %9s\n", name, len(l),
			ms(percentile(l, 50)), ms(percentile(l, 90)), ms(percentile(l, 99)), ms(percentile(l, 100)))
	}
	for k := range numKinds {
		row(k.String(), r.lat[k])
	}
	row("reads", slices.Concat(r.lat[GetInvite], r.lat[ListInvites]))
	var all []time.Duration
	for _, l := range r.lat {
		all = append(all, l...)
	}
	row("all", all)
	r.mu.Unlock()
	first, peak, last, base := r.RSS()
	fmt.Fprintf(w, "RSS: first %s, after the first window %s, peak %s, last %s\n", mb(first), mb(base), mb(peak), mb(last))
	if ok, failed := r.Verdict(); ok {
		fmt.Fprintf(w, "targets: met (rate >= %.0f%% of offered, 0 errors, read p99 <= %s, RSS within +%.0f%% of the first window's)\n",
			100*RateHeldShare, ms(ReadP99Target), 100*RSSFlatGrowth)
	} else {
		fmt.Fprintf(w, "targets: NOT met: %s\n", strings.Join(failed, "; "))
	}
}

// percentile is the p-th percentile (nearest rank) of l; 100 is the maximum.
func percentile(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s), i)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mb(kb int64) string {
	if kb <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1fMB", float64(kb)/1024)
}

// rss reads VmRSS (KiB) from /proc/<pid>/status; 0 when pid is 0 or it cannot be read.
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
