package orgsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// post sends one raw AWS JSON 1.1 request, as the SDK would, signed (in form only) as the given account.
func post(t *testing.T, url, op, account, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if account != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+orgsim.AccessKeyFor(account)+
			"/20261126/us-east-1/organizations/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s answered non-JSON %q: %v", op, raw, err)
	}
	return resp, m
}

func TestWireFormat(t *testing.T) { eachStore(t, testWireFormat) }

func testWireFormat(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	resp, m := post(t, e.url, "InviteAccountToOrganization", mgmt,
		`{"Target":{"Id":"`+target+`","Type":"ACCOUNT"},"Notes":"hello"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, m)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", ct)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Error("no x-amzn-RequestId")
	}
	h := m["Handshake"].(map[string]any)
	for _, k := range []string{"RequestedTimestamp", "ExpirationTimestamp"} {
		n, ok := h[k].(json.Number)
		if !ok {
			t.Fatalf("%s = %#v, want a JSON number", k, h[k])
		}
		f, _ := n.Float64()
		want := start
		if k == "ExpirationTimestamp" {
			want = start.Add(15 * 24 * time.Hour)
		}
		if int64(f) != want.Unix() {
			t.Errorf("%s = %v, want %d", k, n, want.Unix())
		}
	}
	if h["Action"] != "INVITE" || h["State"] != "OPEN" {
		t.Errorf("Action/State = %v/%v", h["Action"], h["State"])
	}
	id := h["Id"].(string)
	arn := h["Arn"].(string)
	if !strings.HasPrefix(arn, "arn:aws:organizations::"+mgmt+":handshake/o-") || !strings.HasSuffix(arn, "/invite/"+id) {
		t.Errorf("Arn = %s", arn)
	}
	res, _ := json.Marshal(h["Resources"])
	for _, want := range []string{`"Type":"ORGANIZATION"`, `"Type":"MASTER_EMAIL"`, `"Type":"ORGANIZATION_FEATURE_SET"`,
		`{"Type":"ACCOUNT","Value":"` + target + `"}`, `{"Type":"NOTES","Value":"hello"}`} {
		if !bytes.Contains(res, []byte(want)) {
			t.Errorf("Resources %s lack %s", res, want)
		}
	}

	// An error: status, header and body members as the SDK reads them.
	resp, m = post(t, e.url, "InviteAccountToOrganization", mgmt, `{"Target":{"Id":"12","Type":"ACCOUNT"}}`)
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidInputException" ||
		m["__type"] != "InvalidInputException" || m["Reason"] != "INVALID_PATTERN" || m["Message"] == "" {
		t.Errorf("invalid input answer: %d %v %v", resp.StatusCode, resp.Header, m)
	}

	// Unsigned and unknown callers.
	resp, m = post(t, e.url, "DescribeOrganization", "", `{}`)
	if resp.StatusCode != 403 || m["__type"] != "AccessDeniedException" {
		t.Errorf("unsigned: %d %v", resp.StatusCode, m)
	}
	resp, m = post(t, e.url, "CreateAccount", mgmt, `{}`)
	if resp.StatusCode != 400 || m["__type"] != "UnknownOperationException" {
		t.Errorf("unknown operation: %d %v", resp.StatusCode, m)
	}

	// The real SDK decodes the same answers, timestamps included.
	got, err := describe(e.as(mgmt), id)
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToTime(got.RequestedTimestamp).Equal(start) || !aws.ToTime(got.ExpirationTimestamp).Equal(start.Add(15*24*time.Hour)) {
		t.Errorf("SDK timestamps %v %v", got.RequestedTimestamp, got.ExpirationTimestamp)
	}
}

func TestDescribeOrganization(t *testing.T) { eachStore(t, testDescribeOrganization) }

func testDescribeOrganization(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	out, err := e.as(mgmt).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	org := out.Organization
	if aws.ToString(org.MasterAccountId) != mgmt || !strings.HasPrefix(aws.ToString(org.Id), "o-") || len(aws.ToString(org.Id)) != 12 {
		t.Fatalf("organization %+v", org)
	}
	again, err := sdkClient(e.url, mgmt).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil || aws.ToString(again.Organization.Id) != aws.ToString(org.Id) {
		t.Fatalf("organization id not stable: %v %v", again, err)
	}
	// A member sees its organization.
	if err := e.sim.AddMember(mgmt, target, "CREATED", start); err != nil {
		t.Fatal(err)
	}
	m, err := e.as(target).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil || aws.ToString(m.Organization.Id) != aws.ToString(org.Id) {
		t.Fatalf("member's organization: %v %v", m, err)
	}
	// A member cannot invite.
	_, err = invite(ctx, e.as(target), target2, "")
	wantCode(t, err, "AccessDeniedException", "")
}

func TestInviteValidationAndRules(t *testing.T) { eachStore(t, testInviteValidationAndRules) }

func testInviteValidationAndRules(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	c := e.as(mgmt)
	if err := e.sim.AddMember(mgmt, other, "INVITED", start); err != nil {
		t.Fatal(err)
	}
	mustInvite(t, c, target)
	tests := []struct {
		name, account, notes, code, reason string
	}{
		{"short id", "12345", "", "InvalidInputException", "INVALID_PATTERN"},
		{"letters", "12345678901a", "", "InvalidInputException", "INVALID_PATTERN"},
		{"long notes", target2, strings.Repeat("n", 1025), "InvalidInputException", "MAX_LENGTH_EXCEEDED"},
		{"duplicate", target, "", "DuplicateHandshakeException", ""},
		{"member", other, "", "HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION"},
		{"itself", mgmt, "", "HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := invite(ctx, c, tt.account, tt.notes)
			wantCode(t, err, tt.code, tt.reason)
		})
	}
	if _, err := invite(ctx, c, target2, strings.Repeat("é", 1024)); err != nil {
		t.Errorf("1024 characters of notes: %v", err)
	}
	_, err := c.InviteAccountToOrganization(ctx, &organizations.InviteAccountToOrganizationInput{
		Target: &types.HandshakeParty{Id: aws.String("a@example.com"), Type: types.HandshakePartyTypeEmail},
	})
	wantCode(t, err, "InvalidInputException", "INVALID_PARTY_TYPE_TARGET")
}

func TestLifecycle(t *testing.T) { eachStore(t, testLifecycle) }

func testLifecycle(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	sender, invited, stranger := e.as(mgmt), e.as(target), e.as(other)

	h := mustInvite(t, sender, target)
	id := aws.ToString(h.Id)

	// Only the parties see the handshake, and each may do only its own part.
	if _, err := describe(invited, id); err != nil {
		t.Fatalf("invited account describes: %v", err)
	}
	_, err := describe(stranger, id)
	wantCode(t, err, "HandshakeNotFoundException", "")
	_, err = sender.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id})
	wantCode(t, err, "AccessDeniedException", "")
	_, err = invited.CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h.Id})
	wantCode(t, err, "AccessDeniedException", "")
	_, err = describe(sender, "h-bad")
	wantCode(t, err, "InvalidInputException", "INVALID_PATTERN")

	// Not a member yet.
	_, err = sender.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(target)})
	wantCode(t, err, "AccountNotFoundException", "")

	e.clock.Advance(time.Hour)
	acc, err := invited.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id})
	if err != nil {
		t.Fatal(err)
	}
	if acc.Handshake.State != types.HandshakeStateAccepted {
		t.Fatalf("state %s", acc.Handshake.State)
	}
	_, err = invited.AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id})
	wantCode(t, err, "HandshakeAlreadyInStateException", "")
	_, err = sender.CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h.Id})
	wantCode(t, err, "InvalidHandshakeTransitionException", "")
	_, err = invited.DeclineHandshake(ctx, &organizations.DeclineHandshakeInput{HandshakeId: h.Id})
	wantCode(t, err, "InvalidHandshakeTransitionException", "")

	a, err := sender.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(target)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Account.JoinedMethod != types.AccountJoinedMethodInvited || !aws.ToTime(a.Account.JoinedTimestamp).Equal(start.Add(time.Hour)) ||
		a.Account.State != types.AccountStateActive {
		t.Errorf("account %+v", a.Account)
	}
	// Once a member, a new invitation is refused.
	_, err = invite(ctx, sender, target, "")
	wantCode(t, err, "HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")

	// Cancel and decline.
	h2 := mustInvite(t, sender, target2)
	c2, err := sender.CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h2.Id})
	if err != nil || c2.Handshake.State != types.HandshakeStateCanceled {
		t.Fatalf("cancel: %v %v", c2, err)
	}
	_, err = sender.CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h2.Id})
	wantCode(t, err, "HandshakeAlreadyInStateException", "")
	h3 := mustInvite(t, sender, target2)
	d3, err := e.as(target2).DeclineHandshake(ctx, &organizations.DeclineHandshakeInput{HandshakeId: h3.Id})
	if err != nil || d3.Handshake.State != types.HandshakeStateDeclined {
		t.Fatalf("decline: %v %v", d3, err)
	}
}

func TestExpiryAndPurge(t *testing.T) { eachStore(t, testExpiryAndPurge) }

func testExpiryAndPurge(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	c := e.as(mgmt)
	h := mustInvite(t, c, target)
	id := aws.ToString(h.Id)

	e.clock.Advance(15*24*time.Hour - time.Second)
	if got, err := describe(c, id); err != nil || got.State != types.HandshakeStateOpen {
		t.Fatalf("just before 15 days: %v %v", got, err)
	}
	e.clock.Advance(time.Second)
	got, err := describe(c, id)
	if err != nil || got.State != types.HandshakeStateExpired {
		t.Fatalf("at 15 days: %v %v", got, err)
	}
	_, err = e.as(target).AcceptHandshake(context.Background(), &organizations.AcceptHandshakeInput{HandshakeId: h.Id})
	wantCode(t, err, "InvalidHandshakeTransitionException", "")
	// An expired invitation no longer blocks a new one.
	mustInvite(t, c, target)

	e.clock.Advance(30*24*time.Hour - time.Second)
	if _, err := describe(c, id); err != nil {
		t.Fatalf("just before purge: %v", err)
	}
	e.clock.Advance(time.Second)
	_, err = describe(c, id)
	wantCode(t, err, "HandshakeNotFoundException", "")
	out, err := c.ListHandshakesForOrganization(context.Background(), &organizations.ListHandshakesForOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range out.Handshakes {
		if aws.ToString(h.Id) == id {
			t.Fatal("purged handshake still listed")
		}
	}
	// A write deletes purged handshakes; what is left reads and lists the same.
	mustInvite(t, c, target2)
	_, err = describe(c, id)
	wantCode(t, err, "HandshakeNotFoundException", "")
	var states []string
	for _, h := range listAll(t, c) {
		states = append(states, aws.ToString(h.Parties[1].Id)+" "+string(h.State))
	}
	if want := "[" + target + " EXPIRED " + target2 + " OPEN]"; fmt.Sprint(states) != want {
		t.Fatalf("after the purge: %v, want %s", states, want)
	}
}

func TestQuotas(t *testing.T) { eachStore(t, testQuotas) }

func testQuotas(t *testing.T, kind storeKind) {
	t.Run("accounts", func(t *testing.T) {
		e := newEnv(t, kind, orgsim.Options{MaxAccounts: 4})
		c := e.as(mgmt)
		if err := e.sim.AddMember(mgmt, other, "CREATED", start); err != nil {
			t.Fatal(err)
		}
		// management + 1 member + 2 open invitations = 4
		h := mustInvite(t, c, target)
		mustInvite(t, c, target2)
		_, err := invite(context.Background(), c, "555555555555", "")
		wantCode(t, err, "HandshakeConstraintViolationException", "ACCOUNT_NUMBER_LIMIT_EXCEEDED")
		if _, err := c.CancelHandshake(context.Background(), &organizations.CancelHandshakeInput{HandshakeId: h.Id}); err != nil {
			t.Fatal(err)
		}
		mustInvite(t, c, "555555555555")
	})
	t.Run("daily", func(t *testing.T) {
		e := newEnv(t, kind, orgsim.Options{MaxInvitesPerDay: 3, MaxAccounts: 100})
		c := e.as(mgmt)
		h := mustInvite(t, c, "500000000001")
		mustInvite(t, c, "500000000002")
		e.clock.Advance(time.Hour)
		mustInvite(t, c, "500000000003")
		_, err := invite(context.Background(), c, "500000000004", "")
		wantCode(t, err, "HandshakeConstraintViolationException", "HANDSHAKE_RATE_LIMIT_EXCEEDED")
		// Accepted invitations do not count.
		if _, err := e.as("500000000001").AcceptHandshake(context.Background(),
			&organizations.AcceptHandshakeInput{HandshakeId: h.Id}); err != nil {
			t.Fatal(err)
		}
		mustInvite(t, c, "500000000004")
		_, err = invite(context.Background(), c, "500000000005", "")
		wantCode(t, err, "HandshakeConstraintViolationException", "HANDSHAKE_RATE_LIMIT_EXCEEDED")
		// The window rolls: 24 hours after the first two, two more may go.
		e.clock.Advance(23 * time.Hour)
		mustInvite(t, c, "500000000005")
		_, err = invite(context.Background(), c, "500000000006", "")
		wantCode(t, err, "HandshakeConstraintViolationException", "HANDSHAKE_RATE_LIMIT_EXCEEDED")
	})
}

func TestPagination(t *testing.T) { eachStore(t, testPagination) }

func testPagination(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{MaxAccounts: 100, MaxInvitesPerDay: 100})
	c := e.as(mgmt)
	var want []string
	for i := range 45 {
		want = append(want, aws.ToString(mustInvite(t, c, fmt.Sprintf("6000000000%02d", i)).Id))
	}
	// Another organization's handshakes are not listed.
	mustInvite(t, e.as(other), target)

	var got []string
	var pages []int
	p := organizations.NewListHandshakesForOrganizationPaginator(c, &organizations.ListHandshakesForOrganizationInput{
		Filter: &types.HandshakeFilter{ActionType: types.ActionTypeInviteAccountToOrganization},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(page.Handshakes))
		for _, h := range page.Handshakes {
			got = append(got, aws.ToString(h.Id))
		}
	}
	if fmt.Sprint(pages) != "[20 20 5]" || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages %v, ids in order: %v", pages, fmt.Sprint(got) == fmt.Sprint(want))
	}

	ctx := context.Background()
	small, err := c.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{MaxResults: aws.Int32(7)})
	if err != nil || len(small.Handshakes) != 7 || small.NextToken == nil {
		t.Fatalf("MaxResults 7: %v %v", small, err)
	}
	for _, bad := range []int32{0, 21} {
		_, err = c.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{MaxResults: aws.Int32(bad)})
		wantCode(t, err, "InvalidInputException", "")
	}
	_, err = c.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{NextToken: aws.String("garbage")})
	wantCode(t, err, "InvalidInputException", "INVALID_NEXT_TOKEN")
	// Another organization's token is refused.
	_, err = e.as(other).ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{NextToken: small.NextToken})
	wantCode(t, err, "InvalidInputException", "INVALID_NEXT_TOKEN")
	none, err := c.ListHandshakesForOrganization(ctx, &organizations.ListHandshakesForOrganizationInput{
		Filter: &types.HandshakeFilter{ActionType: types.ActionTypeEnableAllFeatures},
	})
	if err != nil || len(none.Handshakes) != 0 {
		t.Fatalf("ENABLE_ALL_FEATURES filter: %v %v", none, err)
	}
}

func TestConventions(t *testing.T) { eachStore(t, testConventions) }

func testConventions(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{Conventions: true})
	ctx := context.Background()
	c := e.as(mgmt)
	for _, tt := range []struct{ account, reason string }{
		{"999600000001", "ALREADY_IN_AN_ORGANIZATION"},
		{"999300000001", "PAYMENT_INSTRUMENT_REQUIRED"},
		{"999400000001", "ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD"},
	} {
		_, err := invite(ctx, c, tt.account, "")
		wantCode(t, err, "HandshakeConstraintViolationException", tt.reason)
	}
	_, err := invite(ctx, e.as("999500000001"), target, "")
	wantCode(t, err, "AccountOwnerNotVerifiedException", "")

	// 9992: the invitation goes out, accepting fails until the account is described otherwise.
	h := mustInvite(t, c, "999200000001")
	_, err = e.as("999200000001").AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id})
	wantCode(t, err, "HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")
	if err := e.sim.PutAccount("999200000001", orgsim.Account{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.as("999200000001").AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id}); err != nil {
		t.Fatalf("accept after leaving: %v", err)
	}

	// 9991: a member of another organization (9990 and the same eight digits), which moves when it accepts.
	const mover, oldMgmt = "999100000001", "999000000001"
	h = mustInvite(t, c, mover)
	a, err := e.as(oldMgmt).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(mover)})
	if err != nil {
		t.Fatalf("the old organization does not know its member: %v", err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.as(mover).AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id}); err != nil {
		t.Fatalf("a member of another organization accepts: %v", err)
	}
	_, err = e.as(oldMgmt).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(mover)})
	wantCode(t, err, "AccountNotFoundException", "")
	moved, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(mover)})
	if err != nil || moved.Account.JoinedMethod != types.AccountJoinedMethodInvited ||
		!aws.ToTime(moved.Account.JoinedTimestamp).After(aws.ToTime(a.Account.JoinedTimestamp)) {
		t.Fatalf("after the move: %+v, %v", moved, err)
	}
	org, err := e.as(mover).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil || aws.ToString(org.Organization.MasterAccountId) != mgmt {
		t.Fatalf("the mover's organization: %+v, %v", org, err)
	}

	// Without conventions, the same ids are ordinary accounts.
	plain := newEnv(t, kind, orgsim.Options{})
	for _, a := range []string{"999600000001", "999300000001", "999400000001"} {
		mustInvite(t, plain.as(mgmt), a)
	}
	mustInvite(t, plain.as("999500000001"), target)
	_, err = plain.as("999000000002").DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999100000002")})
	wantCode(t, err, "AccountNotFoundException", "")
}

func TestPutAccountAndMoves(t *testing.T) { eachStore(t, testPutAccountAndMoves) }

func testPutAccountAndMoves(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	// target belongs to other's organization; other manages it. target2 manages an organization with a member.
	if err := e.sim.PutAccount(target, orgsim.Account{Name: "Target", Email: "t@example.com", MemberOf: other}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.PutAccount(target2, orgsim.Account{Members: []string{"777777777777"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.PutAccount(mgmt, orgsim.Account{}); err != nil {
		t.Fatal(err)
	}
	a, err := e.as(other).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(target)})
	if err != nil || aws.ToString(a.Account.Name) != "Target" || aws.ToString(a.Account.Email) != "t@example.com" {
		t.Fatalf("describe in other org: %v %v", a, err)
	}

	// A member of another organization moves when it accepts.
	h := mustInvite(t, e.as(mgmt), target)
	if _, err := e.as(target).AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = e.as(other).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(target)})
	wantCode(t, err, "AccountNotFoundException", "")
	if _, err := e.as(mgmt).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(target)}); err != nil {
		t.Fatal(err)
	}

	// A management account with members cannot accept until its members are gone.
	h2 := mustInvite(t, e.as(mgmt), target2)
	_, err = e.as(target2).AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h2.Id})
	wantCode(t, err, "HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")
	if err := e.sim.RemoveMember(target2, "777777777777"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.as(target2).AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h2.Id}); err != nil {
		t.Fatal(err)
	}

	// An unverified management account cannot invite.
	if err := e.sim.PutAccount(other, orgsim.Account{EmailUnverified: true}); err != nil {
		t.Fatal(err)
	}
	_, err = invite(ctx, e.as(other), "888888888888", "")
	wantCode(t, err, "AccountOwnerNotVerifiedException", "")
	if err := e.sim.PutAccount("888888888888", orgsim.Account{InviteRefusal: "PAST_DUE_INVOICE"}); err != nil {
		t.Fatal(err)
	}
	_, err = invite(ctx, e.as(mgmt), "888888888888", "")
	wantCode(t, err, "HandshakeConstraintViolationException", "PAST_DUE_INVOICE")
}

// TestSharedStore shows what the sandbox relies on: simulators on one world (the service's replicas on one
// database) see the same handshakes and members, and so does a restarted one.
func TestSharedStore(t *testing.T) { eachStore(t, testSharedStore) }

func testSharedStore(t *testing.T, kind storeKind) {
	stores := kind.world(t, 3)
	clk := testclock.New(start)
	a := newEnv(t, kind, orgsim.Options{World: stores[0], Clock: clk.Now})
	b := newEnv(t, kind, orgsim.Options{World: stores[1], Clock: clk.Now})
	ctx := context.Background()

	h := mustInvite(t, a.as(mgmt), target)
	got, err := describe(b.as(mgmt), aws.ToString(h.Id))
	if err != nil || got.State != types.HandshakeStateOpen {
		t.Fatalf("second simulator: %v %v", got, err)
	}
	_, err = invite(ctx, b.as(mgmt), target, "")
	wantCode(t, err, "DuplicateHandshakeException", "")
	if _, err := b.as(target).AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.as(mgmt).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(target)}); err != nil {
		t.Fatalf("first simulator sees the member: %v", err)
	}
	// Seeding through one simulator is seen by the other; a restarted simulator (a new Sim) sees it all.
	if err := a.sim.AddMember(mgmt, other, "CREATED", start); err != nil {
		t.Fatal(err)
	}
	restarted := sdkClient(newEnv(t, kind, orgsim.Options{World: stores[2], Clock: clk.Now}).url, mgmt)
	if _, err := restarted.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
}

// TestFaults runs on memory only: faults and counters belong to the process, whatever keeps the world.
func TestFaults(t *testing.T) {
	e := newEnv(t, "memory", orgsim.Options{})
	ctx := context.Background()
	c := e.as(mgmt)

	e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 2, Code: "TooManyRequestsException"})
	for range 2 {
		_, err := invite(ctx, c, target, "")
		wantCode(t, err, "TooManyRequestsException", "")
		var tm *types.TooManyRequestsException
		if !errorsAs(err, &tm) || aws.ToString(tm.Type) == "" {
			t.Errorf("no Type member: %v", err)
		}
		if statusCode(err) != 400 {
			t.Errorf("status %d, want 400", statusCode(err))
		}
	}
	// The faults answered instead of inviting; the third call invites.
	h := mustInvite(t, c, target)

	e.sim.Inject(orgsim.Fault{Code: "ConcurrentModificationException", Status: 409, Times: 1})
	_, err := describe(c, aws.ToString(h.Id))
	wantCode(t, err, "ConcurrentModificationException", "")
	if statusCode(err) != 409 {
		t.Errorf("status %d, want 409", statusCode(err))
	}

	e.sim.Inject(orgsim.Fault{Op: "DescribeHandshake", Times: 1, Drop: true})
	if _, err := describe(c, aws.ToString(h.Id)); err == nil {
		t.Error("dropped connection gave no error")
	}

	// Applied: the work is done, the answer lost.
	e.sim.Inject(orgsim.Fault{Op: "InviteAccountToOrganization", Times: 1, Code: "ServiceException", Applied: true})
	_, err = invite(ctx, c, target2, "")
	wantCode(t, err, "ServiceException", "")
	_, err = invite(ctx, c, target2, "")
	wantCode(t, err, "DuplicateHandshakeException", "")

	e.sim.Inject(orgsim.Fault{Times: 1, Latency: 150 * time.Millisecond})
	began := time.Now()
	if _, err := describe(c, aws.ToString(h.Id)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 150*time.Millisecond {
		t.Errorf("latency fault took %v", d)
	}

	if got := e.sim.Calls("InviteAccountToOrganization"); got != 5 {
		t.Errorf("invite calls = %d, want 5", got)
	}
	if got := e.sim.TotalCalls(); got != 8 {
		t.Errorf("total calls = %d, want 8", got)
	}

	e.sim.Inject(orgsim.Fault{Code: "ServiceException"})
	for range 3 {
		_, err := describe(c, aws.ToString(h.Id))
		wantCode(t, err, "ServiceException", "")
	}
	e.sim.ClearFaults()
	if _, err := describe(c, aws.ToString(h.Id)); err != nil {
		t.Fatal(err)
	}
}

// TestHandshakeNamesInviter checks, through the SDK's types, that every handshake the simulator returns tells
// the invited account who invites it, as AWS's do: the parties, then the inviting organization with its
// management account's email and name and its feature set, the invited account and the notes.
func TestHandshakeNamesInviter(t *testing.T) { eachStore(t, testHandshakeNamesInviter) }

func testHandshakeNamesInviter(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	if err := e.sim.PutAccount(mgmt, orgsim.Account{Name: "Reseller payer", Email: "payer@example.com"}); err != nil {
		t.Fatal(err)
	}
	o, err := e.as(mgmt).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	orgID := aws.ToString(o.Organization.Id)
	check := func(what string, h *types.Handshake, account, notes string) {
		t.Helper()
		type pair struct{ Type, Value string }
		var parties []pair
		for _, p := range h.Parties {
			parties = append(parties, pair{string(p.Type), aws.ToString(p.Id)})
		}
		flat := func(rs []types.HandshakeResource) (out []pair) {
			for _, r := range rs {
				out = append(out, pair{string(r.Type), aws.ToString(r.Value)})
			}
			return out
		}
		wantParties := []pair{{"ORGANIZATION", orgID}, {"ACCOUNT", account}}
		wantTop := []pair{{"ORGANIZATION", orgID}, {"ACCOUNT", account}}
		if notes != "" {
			wantTop = append(wantTop, pair{"NOTES", notes})
		}
		wantOrg := []pair{{"MASTER_EMAIL", "payer@example.com"}, {"MASTER_NAME", "Reseller payer"}, {"ORGANIZATION_FEATURE_SET", "ALL"}}
		if fmt.Sprint(parties) != fmt.Sprint(wantParties) || fmt.Sprint(flat(h.Resources)) != fmt.Sprint(wantTop) ||
			len(h.Resources) == 0 || fmt.Sprint(flat(h.Resources[0].Resources)) != fmt.Sprint(wantOrg) {
			t.Errorf("%s: parties %v, resources %v, organization's %v; want %v, %v, %v", what, parties, flat(h.Resources),
				flat(h.Resources[0].Resources), wantParties, wantTop, wantOrg)
		}
	}

	h, err := invite(ctx, e.as(mgmt), target, "Welcome to the reseller")
	if err != nil {
		t.Fatal(err)
	}
	check("invite", h, target, "Welcome to the reseller")
	for who, c := range map[string]*organizations.Client{"sender": e.as(mgmt), "invited": e.as(target)} {
		got, err := describe(c, aws.ToString(h.Id))
		if err != nil {
			t.Fatal(err)
		}
		check("describe by the "+who, got, target, "Welcome to the reseller")
	}
	acc, err := e.as(target).AcceptHandshake(ctx, &organizations.AcceptHandshakeInput{HandshakeId: h.Id})
	if err != nil {
		t.Fatal(err)
	}
	check("accept", acc.Handshake, target, "Welcome to the reseller")

	h2 := mustInvite(t, e.as(mgmt), target2)
	check("invite without notes", h2, target2, "")
	dec, err := e.as(target2).DeclineHandshake(ctx, &organizations.DeclineHandshakeInput{HandshakeId: h2.Id})
	if err != nil {
		t.Fatal(err)
	}
	check("decline", dec.Handshake, target2, "")
	h3 := mustInvite(t, e.as(mgmt), other)
	can, err := e.as(mgmt).CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h3.Id})
	if err != nil {
		t.Fatal(err)
	}
	check("cancel", can.Handshake, other, "")
	listed := listAll(t, e.as(mgmt))
	if len(listed) != 3 {
		t.Fatalf("%d handshakes listed, want 3", len(listed))
	}
	check("list", &listed[0], target, "Welcome to the reseller")
}
