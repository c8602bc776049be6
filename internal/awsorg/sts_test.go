package awsorg_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// stsDouble answers STS AssumeRole in STS's query protocol. Unlike moto it checks the external id, and it hands
// out access keys the Organizations simulator reads as the role's account, so the whole chain can be checked.
type stsDouble struct {
	externalID string
	lasts      time.Duration // how long the credentials it hands out last; an hour when zero

	duration string // the DurationSeconds of the last call

	mu        sync.Mutex
	calls     int
	signedBy  string
	sessionOf string
}

func (d *stsDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRole" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	d.calls++
	calls := d.calls
	d.signedBy = r.Header.Get("Authorization")
	d.sessionOf = r.Form.Get("RoleSessionName")
	d.duration = r.Form.Get("DurationSeconds")
	lasts := d.lasts
	d.mu.Unlock()
	if lasts == 0 {
		lasts = time.Hour
	}

	arn := r.Form.Get("RoleArn") // arn:aws:iam::<account>:role/<name>
	parts := strings.Split(arn, ":")
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", "sts-request-"+fmt.Sprint(calls))
	switch {
	case len(parts) != 6 || strings.HasSuffix(arn, "/unavailable"):
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, stsError("ServiceUnavailable", "try later"))
		return
	case r.Form.Get("ExternalId") != d.externalID:
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, stsError("AccessDenied", "User is not authorized to perform: sts:AssumeRole on resource: "+arn))
		return
	}
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>secret</SecretAccessKey>
      <SessionToken>token</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::%s:assumed-role/role/session</Arn>
      <AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>sts-request-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, orgsim.AccessKeyFor(parts[4]), time.Now().Add(lasts).UTC().Format(time.RFC3339), parts[4])
}

func stsError(code, msg string) string {
	return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>` + code +
		`</Code><Message>` + msg + `</Message></Error><RequestId>sts-request-2</RequestId></ErrorResponse>`
}

func TestAssumeRole(t *testing.T) {
	sim := orgsim.New(orgsim.Options{})
	orgSrv := httptest.NewServer(sim)
	t.Cleanup(orgSrv.Close)
	double := &stsDouble{externalID: "ext-123"}
	stsSrv := httptest.NewServer(double)
	t.Cleanup(stsSrv.Close)

	// The service's own credentials sign STS calls, and Organizations calls of payers without a role.
	cfg := aws.Config{
		Region:      "eu-central-1",
		Credentials: credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(other), "secret", ""),
	}
	c := awsorg.New(cfg, awsorg.Options{
		OrganizationsEndpoint: orgSrv.URL,
		STSEndpoint:           stsSrv.URL,
		BaseBackoff:           time.Millisecond,
		MaxBackoff:            2 * time.Millisecond,
	})
	ctx := context.Background()
	withRole := invite.Payer{ManagementAccountID: mgmt, RoleARN: "arn:aws:iam::" + mgmt + ":role/aws-invites", ExternalID: "ext-123"}

	h, _, err := c.InviteAccount(ctx, withRole, target, "")
	if err != nil {
		t.Fatal(err)
	}
	// The invitation was sent by the role's account, not the service's own.
	if !strings.Contains(h.ID, "h-") {
		t.Fatalf("handshake %+v", h)
	}
	if _, err := c.DescribeHandshake(ctx, invite.Payer{ManagementAccountID: mgmt, RoleARN: withRole.RoleARN, ExternalID: "ext-123"}, h.ID); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.DescribeAccount(ctx, withRole, mgmt); err != nil {
			t.Fatal(err)
		}
	}
	double.mu.Lock()
	calls, signedBy, session, duration := double.calls, double.signedBy, double.sessionOf, double.duration
	double.mu.Unlock()
	if calls != 1 {
		t.Errorf("AssumeRole called %d times, want once (credentials cached)", calls)
	}
	if duration != "3600" {
		t.Errorf("role session of %q seconds, want 3600 (DefaultRoleSessionDuration)", duration)
	}
	if !strings.Contains(signedBy, "Credential="+orgsim.AccessKeyFor(other)+"/") || !strings.Contains(signedBy, "/sts/aws4_request") {
		t.Errorf("STS request signed as %q", signedBy)
	}
	if session == "" {
		t.Error("no role session name")
	}

	// Without a role, the config's credentials sign: here the "other" account's own organization.
	if _, err := c.DescribeAccount(ctx, invite.Payer{ManagementAccountID: other}, other); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeHandshake(ctx, invite.Payer{ManagementAccountID: other}, h.ID)
	wantDomain(t, err, invite.CodeHandshakeNotFound)

	// A wrong external id: the role cannot be assumed.
	_, _, err = c.InviteAccount(ctx, invite.Payer{ManagementAccountID: mgmt, RoleARN: withRole.RoleARN, ExternalID: "wrong"}, target2, "")
	de := wantDomain(t, err, invite.CodeAWSAccessDenied)
	if !strings.Contains(de.Detail, "external id") {
		t.Errorf("detail %q", de.Detail)
	}
	if !strings.Contains(de.Err.Error(), "RequestID: sts-request-2") || strings.Contains(de.Detail, "sts-request") {
		t.Errorf("Err %v lacks the STS request id", de.Err)
	}

	// STS unavailable.
	_, err = c.DescribeAccount(ctx, invite.Payer{ManagementAccountID: mgmt, RoleARN: "arn:aws:iam::" + mgmt + ":role/unavailable"}, mgmt)
	wantDomain(t, err, invite.CodeAWSUnavailable)
}

// TestAssumedCredentialsRefreshBeforeExpiry: credentials are reused while they have more than the refresh window
// left, and replaced before they expire, never used up to the last second; the session asked for is the option's.
func TestAssumedCredentialsRefreshBeforeExpiry(t *testing.T) {
	sim := orgsim.New(orgsim.Options{})
	orgSrv := httptest.NewServer(sim)
	t.Cleanup(orgSrv.Close)
	for _, tc := range []struct {
		name    string
		lasts   time.Duration
		session time.Duration
		want    int // AssumeRole calls for 3 Organizations calls
	}{
		{"long-lived credentials are reused", 2 * time.Hour, 2 * time.Hour, 1},
		{"credentials within the refresh window are replaced", 2 * time.Minute, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			double := &stsDouble{lasts: tc.lasts}
			stsSrv := httptest.NewServer(double)
			t.Cleanup(stsSrv.Close)
			c := awsorg.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(orgsim.AccessKeyFor(other), "secret", "")},
				awsorg.Options{OrganizationsEndpoint: orgSrv.URL, STSEndpoint: stsSrv.URL, RoleSessionDuration: tc.session})
			p := invite.Payer{ManagementAccountID: mgmt, RoleARN: "arn:aws:iam::" + mgmt + ":role/aws-invites"}
			for range 3 {
				if _, err := c.DescribeAccount(context.Background(), p, mgmt); err != nil {
					t.Fatal(err)
				}
			}
			double.mu.Lock()
			defer double.mu.Unlock()
			if double.calls != tc.want {
				t.Errorf("AssumeRole called %d times, want %d", double.calls, tc.want)
			}
			want := fmt.Sprint(int(cmp.Or(tc.session, awsorg.DefaultRoleSessionDuration).Seconds()))
			if double.duration != want {
				t.Errorf("DurationSeconds %q, want %s", double.duration, want)
			}
		})
	}
}
