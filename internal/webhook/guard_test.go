package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/webhook"
)

// resolver answers from a table, and counts the lookups of each host; tests do not depend on DNS.
type resolver struct {
	mu      sync.Mutex
	answers map[string][]string // host -> the addresses of every lookup
	// rounds, when set for a host, gives the answer of each successive lookup; the last one repeats.
	rounds  map[string][][]string
	lookups map[string]int
}

func (r *resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lookups == nil {
		r.lookups = map[string]int{}
	}
	n := r.lookups[host]
	r.lookups[host]++
	answer, ok := r.answers[host]
	if rounds := r.rounds[host]; len(rounds) > 0 {
		answer, ok = rounds[min(n, len(rounds)-1)], true
	}
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	addrs := make([]netip.Addr, len(answer))
	for i, a := range answer {
		addrs[i] = netip.MustParseAddr(a)
	}
	return addrs, nil
}

func (r *resolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups[host]
}

func TestGuardCheckURL(t *testing.T) {
	res := &resolver{answers: map[string][]string{
		"loopback.example":  {"127.0.0.1"},
		"metadata.example":  {"169.254.169.254"},
		"private.example":   {"10.0.0.1"},
		"ipv6-loop.example": {"::1"},
		"mixed.example":     {"93.184.215.14", "10.1.2.3"},
		"public.example":    {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"localhost":         {"127.0.0.1", "::1"},
	}}
	tests := []struct {
		name         string
		allowPrivate bool
		url          string
		refused      string // words the refusal says; "" when allowed
	}{
		{"resolves to loopback", false, "https://loopback.example/hook", "resolves to 127.0.0.1, a loopback address"},
		{"resolves to the metadata service", false, "https://metadata.example/", "169.254.169.254, the cloud instance metadata service"},
		{"resolves to a private address", false, "https://private.example/", "10.0.0.1, a private address"},
		{"resolves to ipv6 loopback", false, "https://ipv6-loop.example/", "::1, a loopback address"},
		{"one private address among public ones", false, "https://mixed.example/", "10.1.2.3, a private address"},
		{"localhost", false, "https://localhost:8443/", "a loopback address"},
		{"ipv4 literal loopback", false, "https://127.0.0.1/", "127.0.0.1 is a loopback address"},
		{"ipv6 literal loopback", false, "https://[::1]:8443/", "::1 is a loopback address"},
		{"metadata literal", false, "https://169.254.169.254/latest/meta-data/", "metadata"},
		{"aws ipv6 metadata literal", false, "https://[fd00:ec2::254]/", "metadata"},
		{"ipv4-mapped metadata", false, "https://[::ffff:169.254.169.254]/", "metadata"},
		{"ipv4-mapped private", false, "https://[::ffff:10.0.0.1]/", "a private address"},
		{"nat64 loopback", false, "https://[64:ff9b::7f00:1]/", "a loopback address"},
		{"rfc 1918 172.16/12", false, "https://172.20.0.5/", "a private address"},
		{"rfc 1918 192.168/16", false, "https://192.168.1.1/", "a private address"},
		{"unique local", false, "https://[fc00::1]/", "a private address"},
		{"ipv4 link-local", false, "https://169.254.10.1/", "a link-local address"},
		{"ipv6 link-local", false, "https://[fe80::1]/", "a link-local address"},
		{"unspecified v4", false, "https://0.0.0.0/", "an unspecified address"},
		{"unspecified v6", false, "https://[::]/", "an unspecified address"},
		{"multicast", false, "https://224.0.0.1/", "a multicast address"},
		{"cgnat", false, "https://100.64.0.1/", "carrier-grade NAT"},
		{"broadcast", false, "https://255.255.255.255/", "broadcast"},
		{"http in production", false, "http://public.example/", "only https"},
		{"another scheme", false, "ftp://public.example/", `scheme "ftp"`},
		{"no host", false, "https:///hook", "has no host"},
		{"credentials are not repeated", false, "http://user:hunter2@public.example/", "only https"},

		{"public name", false, "https://public.example/hooks?token=x", ""},
		{"public literal", false, "https://8.8.8.8/", ""},
		{"public ipv6 literal", false, "https://[2606:4700:4700::1111]/", ""},

		{"sandbox: http to localhost", true, "http://localhost:8080/hook", ""},
		{"sandbox: private literal", true, "http://10.0.0.1/", ""},
		{"sandbox: metadata literal", true, "http://169.254.169.254/", ""},
		{"sandbox: other schemes still refused", true, "ftp://localhost/", `scheme "ftp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &webhook.Guard{AllowPrivate: tt.allowPrivate, Resolver: res}
			err := g.CheckURL(context.Background(), tt.url)
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("CheckURL(%s): %v, want allowed", tt.url, err)
				}
				return
			}
			if !errors.Is(err, webhook.ErrRefused) || !strings.Contains(err.Error(), tt.refused) {
				t.Fatalf("CheckURL(%s): %v, want a refusal saying %q", tt.url, err, tt.refused)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the refusal repeats the password: %v", err)
			}
		})
	}
}

func TestGuardCheckURLResolverFailureIsNotARefusal(t *testing.T) {
	g := &webhook.Guard{Resolver: &resolver{}}
	err := g.CheckURL(context.Background(), "https://unknown.example/")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || errors.Is(err, webhook.ErrRefused) {
		t.Fatalf("CheckURL of an unknown host: %v, want the resolver's error and no refusal", err)
	}
}

// TestGuardDialsTheVettedAddress checks that the connection goes to the address the guard checked, and not to
// one a second, unchecked resolution would give.
func TestGuardDialsTheVettedAddress(t *testing.T) {
	res := &resolver{answers: map[string][]string{"public.example": {"93.184.215.14"}}}
	errStop := errors.New("stopped before connecting")
	var mu sync.Mutex
	var dialed []string
	g := &webhook.Guard{Resolver: res, Dialer: &net.Dialer{
		Control: func(_, address string, _ syscall.RawConn) error {
			mu.Lock()
			defer mu.Unlock()
			dialed = append(dialed, address)
			return errStop
		},
	}}
	_, err := g.DialContext(context.Background(), "tcp", "public.example:443")
	if !errors.Is(err, errStop) {
		t.Fatalf("DialContext: %v, want it to reach the dialer", err)
	}
	if len(dialed) != 1 || dialed[0] != "93.184.215.14:443" {
		t.Fatalf("dialed %v, want only the vetted 93.184.215.14:443", dialed)
	}
}

func TestGuardDialCatchesRebinding(t *testing.T) {
	// The first answer, seen by CheckURL, is public; the second, at dial time, is the metadata service.
	res := &resolver{rounds: map[string][][]string{"rebind.example": {{"93.184.215.14"}, {"169.254.169.254"}}}}
	g := &webhook.Guard{Resolver: res}
	if err := g.CheckURL(context.Background(), "https://rebind.example/"); err != nil {
		t.Fatalf("CheckURL with the public answer: %v", err)
	}
	_, err := g.DialContext(context.Background(), "tcp", "rebind.example:443")
	if !errors.Is(err, webhook.ErrRefused) || !strings.Contains(err.Error(), "metadata") {
		t.Fatalf("DialContext after the answer changed: %v, want a refusal naming the metadata service", err)
	}
	if n := res.count("rebind.example"); n != 2 {
		t.Fatalf("%d lookups, want one at check and one at dial", n)
	}
}
