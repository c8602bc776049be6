package awsorg_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// connCounter counts a server's open connections and the most open at once.
type connCounter struct {
	mu                 sync.Mutex
	open, max, created int
}

func (c *connCounter) track(_ net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.open++
		c.created++
		c.max = max(c.max, c.open)
	case http.StateClosed, http.StateHijacked:
		c.open--
	}
}

// TestOneTransportForAllPayers: the calls of many payers share one pool of keep-alive connections, bounded by
// MaxConns: 200 payers called 8 at a time open at most 8 connections, and a second round opens none.
func TestOneTransportForAllPayers(t *testing.T) {
	sim := orgsim.New(orgsim.Options{})
	// Each call waits a little, so that the 8 callers really overlap.
	sim.Inject(orgsim.Fault{Latency: 2 * time.Millisecond})
	var conns connCounter
	srv := httptest.NewUnstartedServer(sim)
	srv.Config.ConnState = conns.track
	srv.Start()
	t.Cleanup(srv.Close)
	c := awsorg.New(aws.Config{Region: "us-east-1"}, awsorg.Options{
		OrganizationsEndpoint: srv.URL, MaxConns: 8,
		CredentialsFor: func(p invite.Payer) aws.CredentialsProvider {
			return credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(p.ManagementAccountID), "test", "")
		},
	})
	round := func() {
		t.Helper()
		payers := make(chan string)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for mgmt := range payers {
					if _, err := c.DescribeAccount(context.Background(), invite.Payer{ManagementAccountID: mgmt}, mgmt); err != nil {
						t.Error(err)
					}
				}
			})
		}
		for i := range 200 {
			payers <- fmt.Sprintf("3%011d", i)
		}
		close(payers)
		wg.Wait()
	}
	round()
	conns.mu.Lock()
	first, most := conns.created, conns.max
	conns.mu.Unlock()
	if most > 8 || first > 8 {
		t.Errorf("200 payers opened %d connections, %d at once; want at most 8 (MaxConns)", first, most)
	}
	round()
	conns.mu.Lock()
	defer conns.mu.Unlock()
	if conns.created != first {
		t.Errorf("the second round opened %d more connections; want it to reuse the first round's", conns.created-first)
	}
}
