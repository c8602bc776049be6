package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEWalk runs the README's walk ("Try it": the curl walk and the clock's) literally with bash against the
// embedded default started fresh (its own SQLite file), and holds every step to what its comment says: "-> state"
// and ": code, code" name what the answer must show. Only the placeholders a reader fills in by hand change: the
// address, TOKEN=... (the printed token) and ID=... (the id of the answer before it); and the steps are paced as
// a reader's are.
func TestREADMEWalk(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: the README's walk is curl") // the test command's machines have it
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	try := string(readme)[strings.Index(string(readme), "## Try it"):]
	try = try[:strings.Index(try, "\n## ")+1]
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(try, -1)
	if len(blocks) < 2 {
		t.Fatalf("the README's Try it has %d sh blocks, want the walk and the clock's", len(blocks))
	}
	inst := start(t, map[string]string{"AWS_INVITES_DATA_DIR": t.TempDir()})
	m := regexp.MustCompile(`development token \(24h\): (\S+)`).FindStringSubmatch(inst.stdout.String())
	if m == nil {
		t.Fatalf("no token printed:\n%s", inst.stdout.String())
	}
	script := walkScript(t, blocks[0][1]+blocks[1][1], inst.url, m[1])
	cmd := exec.Command("bash", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's walk failed: %v\n%s\n--- script ---\n%s", err, out, script)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
	if n := strings.Count(string(out), "STEP OK"); n < 10 {
		t.Errorf("only %d steps were checked:\n%s", n, out)
	}
}

var (
	expectArrow = regexp.MustCompile(`->\s*([a-z_]+)\s*$`)
	expectColon = regexp.MustCompile(`:\s*([a-z_]+(?:,\s*[a-z_]+)*)\s*$`)
)

// walkScript turns the README's commands into a bash script that checks each step's comment.
func walkScript(t *testing.T, text, url, token string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("set -euo pipefail\nout=''\n")
	b.WriteString(`expect() { if ! grep -q -- "$2" <<<"$out"; then echo "STEP FAILED: $1: want $2 in: $out"; exit 1; fi; echo "STEP OK: $1"; }` + "\n")
	text = strings.ReplaceAll(text, "http://127.0.0.1:8080", url)
	var cmd string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasSuffix(strings.TrimSpace(line), `\`) {
			cmd += line + "\n"
			continue
		}
		cmd += line
		full := cmd
		cmd = ""
		code, comment, _ := strings.Cut(full, "# ")
		code = strings.TrimSpace(code)
		switch {
		case code == "":
			continue
		case strings.HasPrefix(code, "TOKEN="):
			fmt.Fprintf(&b, "TOKEN=%s\n", token)
			continue
		case code == "ID=...":
			b.WriteString(`ID=$(grep -o '"id":"[0-9a-f-]\{36\}"' <<<"$out" | head -1 | cut -d'"' -f4)` + "\n")
			continue
		case regexp.MustCompile(`^[A-Z0-9_]+=`).MatchString(code):
			b.WriteString(code + "\n")
			continue
		}
		// A reader runs one line at a time; half a second between them keeps the walk within the rate limit of
		// the calls to AWS (2 a second after a burst of 10), as a reader is.
		fmt.Fprintf(&b, "sleep 0.5\nout=$(%s)\n", code)
		var want []string
		if m := expectArrow.FindStringSubmatch(comment); m != nil {
			want = append(want, `"state":"`+m[1]+`"`)
		} else if m := expectColon.FindStringSubmatch(comment); m != nil {
			for _, w := range strings.Split(m[1], ",") {
				want = append(want, strings.TrimSpace(w))
			}
		}
		step := strings.ReplaceAll(strings.TrimSpace(comment), "'", "")
		if step == "" {
			step = "a step without a claim"
		}
		for _, w := range want {
			fmt.Fprintf(&b, "expect '%s' '%s'\n", step, w)
		}
		if len(want) == 0 {
			fmt.Fprintf(&b, "echo 'ran: %s'\n", step)
		}
	}
	return b.String()
}
