package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// slowCreate is a create whose client has sent the headers and half the body: a request in flight that the server
// cannot finish before the client sends the rest.
type slowCreate struct {
	conn net.Conn
	rest string
}

func startSlowCreate(t *testing.T, baseURL, token string) *slowCreate {
	t.Helper()
	body := `{"accountId":"123456789012","notes":"sent while the service stops"}`
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("POST /billing-profiles/demo/aws-invites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", token, len(body))
	half := len(body) / 2
	if _, err := conn.Write([]byte(head + body[:half])); err != nil {
		t.Fatal(err)
	}
	return &slowCreate{conn: conn, rest: body[half:]}
}

// finish sends the rest of the body and reads the answer's status.
func (s *slowCreate) finish(t *testing.T) int {
	t.Helper()
	if _, err := s.conn.Write([]byte(s.rest)); err != nil {
		t.Fatalf("sending the rest of the body: %v", err)
	}
	s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(s.conn), nil)
	if err != nil {
		t.Fatalf("reading the answer of the request in flight: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

func getStatus(url string) (int, error) {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

func devToken(t *testing.T, inst *instance) string {
	t.Helper()
	m := regexp.MustCompile(`development token \(24h\): (\S+)`).FindStringSubmatch(inst.stdout.String())
	if m == nil {
		t.Fatalf("no development token printed:\n%s", inst.stdout.String())
	}
	return m[1]
}

// TestShutdownDrains stops the real serve path as SIGTERM does: /readyz answers 503 at once while the API still
// serves for SHUTDOWN_DRAIN, then the listener closes, the request in flight still gets its answer, and run
// returns nil (exit status 0).
func TestShutdownDrains(t *testing.T) {
	const drain = 1500 * time.Millisecond
	inst, err := startAsync(map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir(), "SHUTDOWN_DRAIN": drain.String(),
		"SHUTDOWN_TIMEOUT": "10s"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.stop() })
	tok := devToken(t, inst)
	if s, err := getStatus(inst.url + "/readyz"); s != 200 {
		t.Fatalf("/readyz before the stop: %d %v", s, err)
	}
	inFlight := startSlowCreate(t, inst.url, tok)
	time.Sleep(100 * time.Millisecond) // the server reads the headers

	stopped := make(chan error, 1)
	sigterm := time.Now()
	go func() { stopped <- inst.stop() }()

	// At once: not ready. The API keeps answering during the drain.
	var ready int
	for time.Since(sigterm) < 500*time.Millisecond {
		if ready, _ = getStatus(inst.url + "/readyz"); ready == 503 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ready != 503 {
		t.Fatalf("/readyz answered %d within 500ms of the stop, want 503", ready)
	}
	t.Logf("/readyz 503 %s after the stop", time.Since(sigterm).Round(time.Millisecond))
	if s, err := getStatus(inst.url + "/healthz"); s != 200 {
		t.Errorf("/healthz during the drain: %d %v", s, err)
	}
	if s, _, _ := call(t, "GET", inst.url+"/billing-profiles/demo/aws-invites", tok, nil); s != 200 {
		t.Errorf("a list during the drain: %d", s)
	}
	if time.Since(sigterm) > drain-200*time.Millisecond {
		t.Fatalf("the checks of the drain took too long (%s) to mean anything", time.Since(sigterm))
	}

	// After the drain the listener is closed; the request in flight is still waited for.
	time.Sleep(time.Until(sigterm.Add(drain + 500*time.Millisecond)))
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(inst.url, "http://"), time.Second); err == nil {
		t.Error("the listener still accepts connections after the drain")
	}
	select {
	case err := <-stopped:
		t.Fatalf("run returned (%v) while a request was in flight", err)
	default:
	}
	if s := inFlight.finish(t); s != 201 {
		t.Errorf("the request in flight answered %d, want 201", s)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("run after the stop: %v (exit status 1)", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return")
	}
	logs := inst.logs.String()
	for _, want := range []string{`"msg":"draining"`, `"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %s", want)
		}
	}
}

// TestShutdownTimeout: a request still running when SHUTDOWN_TIMEOUT ends is cut off, logged, and run returns an
// error (exit status 1).
func TestShutdownTimeout(t *testing.T) {
	inst, err := startAsync(map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir(), "SHUTDOWN_DRAIN": "0s",
		"SHUTDOWN_TIMEOUT": "300ms"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.stop() })
	startSlowCreate(t, inst.url, devToken(t, inst)) // never finished
	time.Sleep(100 * time.Millisecond)
	began := time.Now()
	err = inst.stop()
	if err == nil || !strings.Contains(err.Error(), "SHUTDOWN_TIMEOUT") {
		t.Fatalf("run with a request past the timeout: %v, want the timeout error", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the stop took %s with a timeout of 300ms", took)
	}
	if !strings.Contains(inst.logs.String(), "shutdown timed out") {
		t.Errorf("the timeout is not logged:\n%s", inst.logs.String())
	}
}
