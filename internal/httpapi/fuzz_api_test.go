package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzCreateInviteBody sends arbitrary bytes as a create body through the whole server (body checks, validator,
// strict handler, domain, database, simulator): the answer is never a 500, always JSON or problem+json, and always
// one openapi.yaml declares.
func FuzzCreateInviteBody(f *testing.F) {
	for _, seed := range []string{
		`{"accountId":"1234-5678-9012","notes":"welcome"}`, `{"accountId":"123456789013"}`, `{"accountId": 123456789013}`,
		`{"accountId": 1e400}`, `{"accountId":"123456789013","notes":[]}`, `{"accountId":"123456789013","notes":null}`,
		`{"accountId":"123456789013"} {"accountId":"123456789014"}`, `{"accountId":"1","accountId":"2"}`,
		`{"accountId":"123456789013","x":[{"a":1,"a":2}]}`, "{\"accountId\":\"123456789013\",\"notes\":\"caf\xe9\"}",
		`{"accountId":"12345678901\u00003"}`, `{"accountId":"123456789013","notes":"a\u0000b"}`, `{"accountId":"123456789013"`,
		`["123456789013"]`, ``, `null`, `{}`, `{"notes":"x"}`, `{"accountId":"111111111111"}`,
		`{"accountId":"123456789013","acountId":"x"}`, `{"accountId":"123456789013","notes":"` + strings.Repeat("n", 1025) + `"}`,
		`{"accountId":"123456789013","notes":"\ud800"}`, `{"accountId":"９９９９９９９９９９９９"}`,
	} {
		f.Add([]byte(seed))
	}
	e := newEnv(f, envOptions{sandbox: true})
	tok := e.token()
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest("POST", e.url+invitesPath(profile), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := mustContract(t).check(req, response{status: res.StatusCode, header: res.Header, body: raw}); err != nil {
			t.Fatalf("body %q: the answer breaks the contract: %v", body, err)
		}
		ct := res.Header.Get("Content-Type")
		switch {
		case res.StatusCode >= 500:
			t.Fatalf("body %q: %d %s", body, res.StatusCode, raw)
		case res.StatusCode < 300:
			if ct != "application/json" || !json.Valid(raw) {
				t.Fatalf("body %q: %d with %q %s", body, res.StatusCode, ct, raw)
			}
		default:
			var p struct{ Code, Detail string }
			if ct != "application/problem+json" || json.Unmarshal(raw, &p) != nil || p.Code == "" || p.Detail == "" {
				t.Fatalf("body %q: %d with %q %s", body, res.StatusCode, ct, raw)
			}
		}
	})
}
