package orgsim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
)

// BenchmarkSimCall measures one round of what the service does with a handshake, through the real SDK over HTTP:
// invite a new account, describe the handshake, list the first page of the organization's handshakes, and accept
// as the invited account (then remove it again through the Go API, so that no quota fills up). It runs with 10 and
// with 100,000 handshakes already in the organization, on each store: the cost per round should not change.
func BenchmarkSimCall(b *testing.B) {
	for _, kind := range storeKinds {
		for _, n := range []int{10, 100_000} {
			b.Run(fmt.Sprintf("%s/handshakes=%d", kind, n), func(b *testing.B) { benchSimCall(b, kind, n) })
		}
	}
}

func benchSimCall(b *testing.B, kind storeKind, n int) {
	ctx := context.Background()
	st := kind.world(b, 1)[0]
	if err := orgsim.SeedHandshakes(ctx, st, mgmt, n, start); err != nil {
		b.Fatal(err)
	}
	sim := orgsim.New(orgsim.Options{World: st, Clock: func() time.Time { return start }, MaxAccounts: 1000})
	// The SDK's own work, on the client side, is most of a round and varies with the machine's load: the
	// simulator's time is measured apart, around its handler.
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		sim.ServeHTTP(w, r)
		served.Add(int64(time.Since(began)))
	}))
	defer srv.Close()
	sender := sdkClient(srv.URL, mgmt)
	for i := 0; b.Loop(); i++ {
		account := fmt.Sprintf("5%011d", i)
		h, err := invite(ctx, sender, account, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := describe(sender, aws.ToString(h.Id)); err != nil {
			b.Fatal(err)
		}
		page, err := sender.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{})
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Handshakes) != min(n+i+1, 20) {
			b.Fatalf("the first page lists %d handshakes", len(page.Handshakes))
		}
		// As the invited account, on the same client: a client per account would leave a transport behind each time.
		as := func(o *organizations.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(account), "secret", "")
		}
		if _, err := sender.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id}, as); err != nil {
			b.Fatal(err)
		}
		if err := sim.RemoveMember(mgmt, account); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(4*b.N), "ns/call")
	b.ReportMetric(float64(served.Load())/float64(4*b.N), "sim-ns/call")
}
