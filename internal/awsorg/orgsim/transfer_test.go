package orgsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// Transfer starts relative to the tests' clock (2026-11-26 07:00 UTC): December's is 4 days 17 hours ahead, so
// its invitation expires 24 hours before it; January's is 36 days ahead, so its invitation expires after 15 days.
var (
	dec = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	jan = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

// payer2 is a second bill-transfer account.
const payer2 = "555555555555"

func inviteTransfer(ctx context.Context, c *organizations.Client, source, name string, at time.Time, notes string) (*types.Handshake, error) {
	in := &organizations.InviteOrganizationToTransferResponsibilityInput{
		Type:           types.ResponsibilityTransferTypeBilling,
		Target:         &types.HandshakeParty{Id: aws.String(source), Type: types.HandshakePartyTypeAccount},
		SourceName:     aws.String(name),
		StartTimestamp: aws.Time(at),
	}
	if notes != "" {
		in.Notes = aws.String(notes)
	}
	out, err := c.InviteOrganizationToTransferResponsibility(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Handshake, nil
}

func mustInviteTransfer(t *testing.T, c *organizations.Client, source string, at time.Time) *types.Handshake {
	t.Helper()
	h, err := inviteTransfer(context.Background(), c, source, "Customer "+source, at, "")
	if err != nil {
		t.Fatalf("invite %s to transfer: %v", source, err)
	}
	return h
}

// transferIDOf returns the RESPONSIBILITY_TRANSFER resource of a handshake.
func transferIDOf(t *testing.T, h *types.Handshake) string {
	t.Helper()
	for _, r := range h.Resources {
		if r.Type == types.HandshakeResourceTypeResponsibilityTransfer {
			return aws.ToString(r.Value)
		}
	}
	t.Fatalf("handshake %s has no RESPONSIBILITY_TRANSFER resource", aws.ToString(h.Id))
	return ""
}

func describeTransfer(c *organizations.Client, id string) (*types.ResponsibilityTransfer, error) {
	out, err := c.DescribeResponsibilityTransfer(context.Background(), &organizations.DescribeResponsibilityTransferInput{Id: aws.String(id)})
	if err != nil {
		return nil, err
	}
	return out.ResponsibilityTransfer, nil
}

func accept(c *organizations.Client, id *string) (*types.Handshake, error) {
	out, err := c.AcceptHandshake(context.Background(), &organizations.AcceptHandshakeInput{HandshakeId: id})
	if err != nil {
		return nil, err
	}
	return out.Handshake, nil
}

func terminate(c *organizations.Client, id string, end *time.Time) (*types.ResponsibilityTransfer, error) {
	out, err := c.TerminateResponsibilityTransfer(context.Background(),
		&organizations.TerminateResponsibilityTransferInput{Id: aws.String(id), EndTimestamp: end})
	if err != nil {
		return nil, err
	}
	return out.ResponsibilityTransfer, nil
}

// wantTransfer fails unless the transfer has the status, and the end (zero for none).
func wantTransfer(t *testing.T, r *types.ResponsibilityTransfer, err error, status types.ResponsibilityTransferStatus, end time.Time) {
	t.Helper()
	if err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if r.Status != status {
		t.Fatalf("transfer %s status = %s, want %s", aws.ToString(r.Id), r.Status, status)
	}
	if got := aws.ToTime(r.EndTimestamp); !got.Equal(end) {
		t.Fatalf("transfer %s end = %v, want %v", aws.ToString(r.Id), got, end)
	}
}

func TestTransferWireFormat(t *testing.T) { eachStore(t, testTransferWireFormat) }

func testTransferWireFormat(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	resp, m := post(t, e.url, "InviteOrganizationToTransferResponsibility", mgmt, fmt.Sprintf(
		`{"Type":"BILLING","Target":{"Id":"%s","Type":"ACCOUNT"},"SourceName":"Acme","StartTimestamp":%d,"Notes":"hello"}`,
		target, jan.Unix()))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, m)
	}
	h := m["Handshake"].(map[string]any)
	if h["Action"] != "TRANSFER_RESPONSIBILITY" || h["State"] != "OPEN" {
		t.Errorf("Action/State = %v/%v", h["Action"], h["State"])
	}
	if n, ok := h["ExpirationTimestamp"].(json.Number); !ok || n.String() != fmt.Sprintf("%d.000", start.Add(15*24*time.Hour).Unix()) {
		t.Errorf("ExpirationTimestamp = %#v, want 15 days on, a JSON number", h["ExpirationTimestamp"])
	}
	id := h["Id"].(string)
	if arn := h["Arn"].(string); !strings.HasPrefix(arn, "arn:aws:organizations::"+mgmt+":handshake/o-") ||
		!strings.HasSuffix(arn, "/transfer_responsibility/"+id) {
		t.Errorf("Arn = %s", arn)
	}
	res, _ := json.Marshal(h["Resources"])
	for _, want := range []string{`{"Type":"ORGANIZATION","Value":"o-`, `{"Type":"MANAGEMENT_ACCOUNT","Value":"` + mgmt + `"}`,
		`{"Type":"MANAGEMENT_EMAIL","Value":"aws+` + mgmt + `@example.com"}`, `{"Type":"MANAGEMENT_NAME","Value":"Account ` + mgmt + `"}`,
		`{"Type":"RESPONSIBILITY_TRANSFER","Value":"rt-`, `{"Type":"TRANSFER_TYPE","Value":"BILLING"}`,
		`{"Type":"TRANSFER_START_TIMESTAMP","Value":"2027-01-01T00:00:00Z"}`, `{"Type":"ACCOUNT","Value":"` + target + `"}`,
		`{"Type":"NOTES","Value":"hello"}`} {
		if !bytes.Contains(res, []byte(want)) {
			t.Errorf("Resources %s lack %s", res, want)
		}
	}
	parties, _ := json.Marshal(h["Parties"])
	if !bytes.Contains(parties, []byte(`{"Id":"`+target+`","Type":"ACCOUNT"}`)) || !bytes.Contains(parties, []byte(`"Type":"ORGANIZATION"`)) {
		t.Errorf("Parties %s", parties)
	}

	// The transfer as each side sees it: numbers for timestamps, the caller's own ARN.
	sdkH, err := describe(e.as(mgmt), id)
	if err != nil {
		t.Fatal(err)
	}
	rt := transferIDOf(t, sdkH)
	for _, side := range []struct{ account, direction string }{{mgmt, "inbound"}, {target, "outbound"}} {
		resp, m := post(t, e.url, "DescribeResponsibilityTransfer", side.account, `{"Id":"`+rt+`"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("describe as %s: %d %v", side.account, resp.StatusCode, m)
		}
		r := m["ResponsibilityTransfer"].(map[string]any)
		if n, ok := r["StartTimestamp"].(json.Number); !ok || n.String() != fmt.Sprintf("%d.000", jan.Unix()) {
			t.Errorf("StartTimestamp = %#v", r["StartTimestamp"])
		}
		if _, ok := r["EndTimestamp"]; ok {
			t.Errorf("an open-ended transfer has an EndTimestamp: %v", r)
		}
		if arn := r["Arn"].(string); !strings.HasPrefix(arn, "arn:aws:organizations::"+side.account+":transfer/o-") ||
			!strings.HasSuffix(arn, "/billing/"+side.direction+"/"+rt) {
			t.Errorf("Arn as %s = %s", side.account, arn)
		}
		src, _ := json.Marshal(r["Source"])
		if string(src) != `{"ManagementAccountEmail":"aws+`+target+`@example.com","ManagementAccountId":"`+target+`"}` {
			t.Errorf("Source = %s", src)
		}
		if r["Status"] != "REQUESTED" || r["Type"] != "BILLING" || r["Name"] != "Acme" || r["ActiveHandshakeId"] != id {
			t.Errorf("transfer %v", r)
		}
	}

	// Input the SDK would not send: a string timestamp does not decode; missing members are named.
	resp, m = post(t, e.url, "InviteOrganizationToTransferResponsibility", mgmt,
		`{"Type":"BILLING","Target":{"Id":"`+target2+`","Type":"ACCOUNT"},"SourceName":"Acme","StartTimestamp":"2027-01-01T00:00:00Z"}`)
	if resp.StatusCode != 400 || m["__type"] != "SerializationException" {
		t.Errorf("string timestamp: %d %v", resp.StatusCode, m)
	}
	for _, body := range []string{
		`{"Type":"BILLING","Target":{"Id":"` + target2 + `","Type":"ACCOUNT"},"SourceName":"Acme"}`,
		`{"Type":"BILLING","Target":{"Id":"` + target2 + `","Type":"ACCOUNT"},"StartTimestamp":1798761600}`,
		`{"Target":{"Id":"` + target2 + `","Type":"ACCOUNT"},"SourceName":"Acme","StartTimestamp":1798761600}`,
		`{"Type":"BILLING","SourceName":"Acme","StartTimestamp":1798761600}`,
	} {
		resp, m = post(t, e.url, "InviteOrganizationToTransferResponsibility", mgmt, body)
		if resp.StatusCode != 400 || m["Reason"] != "INPUT_REQUIRED" {
			t.Errorf("%s: %d %v", body, resp.StatusCode, m)
		}
	}

	// The real SDK decodes the same answers.
	r, err := describeTransfer(e.as(target), rt)
	if err != nil || !aws.ToTime(r.StartTimestamp).Equal(jan) || aws.ToString(r.Target.ManagementAccountId) != mgmt ||
		aws.ToString(r.Source.ManagementAccountId) != target {
		t.Fatalf("SDK describe: %+v %v", r, err)
	}
}

func TestTransferValidation(t *testing.T) { eachStore(t, testTransferValidation) }

func testTransferValidation(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	c := e.as(mgmt)
	if err := e.sim.AddMember(mgmt, other, "INVITED", start); err != nil {
		t.Fatal(err)
	}
	mustInviteTransfer(t, c, target, jan)
	tests := []struct {
		name, source, sourceName, notes string
		typ                             types.ResponsibilityTransferType
		partyType                       types.HandshakePartyType
		at                              time.Time
		caller, code, reason            string
	}{
		{name: "type", typ: "TAXES", code: "InvalidInputException", reason: "INVALID_ENUM"},
		{name: "email target", partyType: types.HandshakePartyTypeEmail, source: "a@example.com", code: "InvalidInputException", reason: "INVALID_PARTY_TYPE_TARGET"},
		{name: "short id", source: "12345", code: "InvalidInputException", reason: "INVALID_PATTERN"},
		{name: "empty name", sourceName: "-", code: "InvalidInputException", reason: "MIN_LENGTH_EXCEEDED"},
		{name: "long name", sourceName: strings.Repeat("n", 129), code: "InvalidInputException", reason: "MAX_LENGTH_EXCEEDED"},
		{name: "accented name", sourceName: "Café", code: "InvalidInputException", reason: "INVALID_PATTERN"},
		{name: "tab in name", sourceName: "a\tb", code: "InvalidInputException", reason: "INVALID_PATTERN"},
		{name: "long notes", notes: strings.Repeat("n", 1025), code: "InvalidInputException", reason: "MAX_LENGTH_EXCEEDED"},
		{name: "not midnight", at: jan.Add(time.Second), code: "InvalidInputException", reason: "START_DATE_NOT_BEGINNING_OF_DAY"},
		{name: "a millisecond past midnight", at: jan.Add(time.Millisecond), code: "InvalidInputException", reason: "START_DATE_NOT_BEGINNING_OF_DAY"},
		{name: "midnight elsewhere", at: time.Date(2027, 1, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)), code: "InvalidInputException", reason: "START_DATE_NOT_BEGINNING_OF_DAY"},
		{name: "not the first", at: jan.AddDate(0, 0, 1), code: "InvalidInputException", reason: "START_DATE_NOT_BEGINNING_OF_MONTH"},
		{name: "past", at: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), code: "InvalidInputException", reason: "START_DATE_TOO_EARLY"},
		{name: "itself", source: mgmt, code: "HandshakeConstraintViolationException", reason: "SOURCE_AND_TARGET_CANNOT_MATCH"},
		{name: "duplicate", source: target, code: "DuplicateHandshakeException"},
		{name: "second payer", source: target, caller: payer2, code: "HandshakeConstraintViolationException", reason: "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS"},
		{name: "member caller", caller: other, code: "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &organizations.InviteOrganizationToTransferResponsibilityInput{
				Type:           types.ResponsibilityTransferTypeBilling,
				Target:         &types.HandshakeParty{Id: aws.String(target2), Type: types.HandshakePartyTypeAccount},
				SourceName:     aws.String("Customer"),
				StartTimestamp: aws.Time(jan),
			}
			if tt.typ != "" {
				in.Type = tt.typ
			}
			if tt.source != "" {
				in.Target.Id = aws.String(tt.source)
			}
			if tt.partyType != "" {
				in.Target.Type = tt.partyType
			}
			switch tt.sourceName {
			case "":
			case "-":
				in.SourceName = aws.String("")
			default:
				in.SourceName = aws.String(tt.sourceName)
			}
			if tt.notes != "" {
				in.Notes = aws.String(tt.notes)
			}
			if !tt.at.IsZero() {
				in.StartTimestamp = aws.Time(tt.at)
			}
			caller := mgmt
			if tt.caller != "" {
				caller = tt.caller
			}
			_, err := e.as(caller).InviteOrganizationToTransferResponsibility(ctx, in)
			wantCode(t, err, tt.code, tt.reason)
		})
	}
	// At the limits: 128 printable characters, 1024 characters of notes.
	if _, err := inviteTransfer(ctx, c, target2, strings.Repeat("~", 127)+" ", jan, strings.Repeat("é", 1024)); err != nil {
		t.Errorf("names and notes at their limits: %v", err)
	}
	// An unverified management account cannot invite.
	if err := e.sim.PutAccount(payer2, orgsim.Account{EmailUnverified: true}); err != nil {
		t.Fatal(err)
	}
	_, err := inviteTransfer(ctx, e.as(payer2), "666666666666", "x", jan, "")
	wantCode(t, err, "AccountOwnerNotVerifiedException", "")

	// More than 24 hours ahead: at 24 hours exactly it is too early, a millisecond before it is not.
	edge := newEnv(t, kind, orgsim.Options{Clock: testclock.New(dec.Add(-24 * time.Hour)).Now})
	_, err = inviteTransfer(ctx, edge.as(mgmt), target, "x", dec, "")
	wantCode(t, err, "InvalidInputException", "START_DATE_TOO_EARLY")
	early := newEnv(t, kind, orgsim.Options{Clock: testclock.New(dec.Add(-24*time.Hour - time.Millisecond)).Now})
	h, err := inviteTransfer(ctx, early.as(mgmt), target, "x", dec, "")
	if err != nil || !aws.ToTime(h.ExpirationTimestamp).Equal(dec.Add(-24*time.Hour)) {
		t.Fatalf("start 24 hours and a millisecond ahead: %+v %v", h, err)
	}
}

func TestTransferLifecycle(t *testing.T) { eachStore(t, testTransferLifecycle) }

func testTransferLifecycle(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	payer, source, stranger := e.as(mgmt), e.as(target), e.as(other)
	// The source manages an organization with a member: that keeps it from joining, not from transferring its bill.
	if err := e.sim.PutAccount(target, orgsim.Account{Members: []string{"777777777777"}}); err != nil {
		t.Fatal(err)
	}

	h := mustInviteTransfer(t, payer, target, jan)
	rt := transferIDOf(t, h)
	if _, err := describe(source, aws.ToString(h.Id)); err != nil {
		t.Fatalf("the invited management account describes the handshake: %v", err)
	}
	_, err := describe(stranger, aws.ToString(h.Id))
	wantCode(t, err, "HandshakeNotFoundException", "")
	_, err = describeTransfer(stranger, rt)
	wantCode(t, err, "ResponsibilityTransferNotFoundException", "")
	_, err = describeTransfer(payer, "rt-bad")
	wantCode(t, err, "InvalidInputException", "INVALID_PATTERN")
	_, err = accept(payer, h.Id)
	wantCode(t, err, "AccessDeniedException", "")

	e.clock.Advance(time.Hour)
	acc, err := accept(source, h.Id)
	if err != nil || acc.State != types.HandshakeStateAccepted || acc.Action != types.ActionTypeTransferResponsibility {
		t.Fatalf("accept: %+v %v", acc, err)
	}
	r, err := describeTransfer(payer, rt)
	wantTransfer(t, r, err, types.ResponsibilityTransferStatusAccepted, time.Time{})
	_, err = accept(source, h.Id)
	wantCode(t, err, "HandshakeAlreadyInStateException", "")
	_, err = payer.CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h.Id})
	wantCode(t, err, "InvalidHandshakeTransitionException", "")
	// The source keeps its organization: it did not join the payer's, and its member stays its own.
	_, err = payer.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(target)})
	wantCode(t, err, "AccountNotFoundException", "")
	if _, err := source.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("777777777777")}); err != nil {
		t.Fatalf("the source's member: %v", err)
	}
	// A transfer in force is one: neither payer may invite the source again.
	_, err = inviteTransfer(ctx, payer, target, "again", jan.AddDate(0, 1, 0), "")
	wantCode(t, err, "HandshakeConstraintViolationException", "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS")
	_, err = inviteTransfer(ctx, e.as(payer2), target, "again", jan.AddDate(0, 1, 0), "")
	wantCode(t, err, "HandshakeConstraintViolationException", "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS")

	// Declined and canceled invitations end their transfers the same way, and a new invitation may follow.
	h2 := mustInviteTransfer(t, payer, target2, jan)
	d, err := e.as(target2).DeclineHandshake(ctx, &organizations.DeclineHandshakeInput{HandshakeId: h2.Id})
	if err != nil || d.Handshake.State != types.HandshakeStateDeclined {
		t.Fatalf("decline: %+v %v", d, err)
	}
	r, err = describeTransfer(e.as(target2), transferIDOf(t, h2))
	wantTransfer(t, r, err, types.ResponsibilityTransferStatusDeclined, time.Time{})
	h3 := mustInviteTransfer(t, e.as(payer2), target2, jan)
	_, err = e.as(target2).CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h3.Id})
	wantCode(t, err, "AccessDeniedException", "")
	if _, err := e.as(payer2).CancelHandshake(ctx, &organizations.CancelHandshakeInput{HandshakeId: h3.Id}); err != nil {
		t.Fatal(err)
	}
	r, err = describeTransfer(e.as(payer2), transferIDOf(t, h3))
	wantTransfer(t, r, err, types.ResponsibilityTransferStatusCanceled, time.Time{})
	mustInviteTransfer(t, payer, target2, jan)

	// Only a management account accepts a billing transfer: a member account is refused.
	if err := e.sim.AddMember(payer2, "888888888888", "CREATED", start); err != nil {
		t.Fatal(err)
	}
	h4 := mustInviteTransfer(t, payer, "888888888888", jan)
	_, err = accept(e.as("888888888888"), h4.Id)
	wantCode(t, err, "AccessDeniedException", "")
}

func TestTransferExpiry(t *testing.T) { eachStore(t, testTransferExpiry) }

func testTransferExpiry(t *testing.T, kind storeKind) {
	t.Run("15 days", func(t *testing.T) {
		e := newEnv(t, kind, orgsim.Options{})
		c := e.as(mgmt)
		h := mustInviteTransfer(t, c, target, jan)
		rt := transferIDOf(t, h)
		if !aws.ToTime(h.ExpirationTimestamp).Equal(start.Add(15 * 24 * time.Hour)) {
			t.Fatalf("expires %v, want 15 days on", h.ExpirationTimestamp)
		}
		e.clock.Advance(15*24*time.Hour - time.Second)
		r, err := describeTransfer(c, rt)
		wantTransfer(t, r, err, types.ResponsibilityTransferStatusRequested, time.Time{})
		e.clock.Advance(time.Second)
		got, err := describe(c, aws.ToString(h.Id))
		if err != nil || got.State != types.HandshakeStateExpired {
			t.Fatalf("at 15 days: %+v %v", got, err)
		}
		r, err = describeTransfer(e.as(target), rt)
		wantTransfer(t, r, err, types.ResponsibilityTransferStatusExpired, time.Time{})
		_, err = accept(e.as(target), h.Id)
		wantCode(t, err, "InvalidHandshakeTransitionException", "")
		// An expired invitation blocks neither a new one nor the source.
		h2 := mustInviteTransfer(t, c, target, jan)
		r, err = describeTransfer(c, rt)
		wantTransfer(t, r, err, types.ResponsibilityTransferStatusExpired, time.Time{})
		if _, err := accept(e.as(target), h2.Id); err != nil {
			t.Fatalf("accept the new invitation: %v", err)
		}
	})
	t.Run("24 hours before the start", func(t *testing.T) {
		e := newEnv(t, kind, orgsim.Options{})
		c := e.as(mgmt)
		h := mustInviteTransfer(t, c, target, dec)
		h2 := mustInviteTransfer(t, c, target2, dec)
		if !aws.ToTime(h.ExpirationTimestamp).Equal(dec.Add(-24 * time.Hour)) {
			t.Fatalf("expires %v, want 24 hours before %v", h.ExpirationTimestamp, dec)
		}
		e.clock.Advance(dec.Add(-24*time.Hour - time.Second).Sub(start))
		if _, err := accept(e.as(target), h.Id); err != nil {
			t.Fatalf("accept a second before the deadline: %v", err)
		}
		e.clock.Advance(time.Second)
		_, err := accept(e.as(target2), h2.Id)
		wantCode(t, err, "InvalidHandshakeTransitionException", "")
		r, err := describeTransfer(c, transferIDOf(t, h2))
		wantTransfer(t, r, err, types.ResponsibilityTransferStatusExpired, time.Time{})
		r, err = describeTransfer(c, transferIDOf(t, h))
		wantTransfer(t, r, err, types.ResponsibilityTransferStatusAccepted, time.Time{})
	})
}

func TestTransferTerminate(t *testing.T) { eachStore(t, testTransferTerminate) }

func testTransferTerminate(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{})
	ctx := context.Background()
	payer, source := e.as(mgmt), e.as(target)
	endJan, endMar := jan.AddDate(0, 1, 0).Add(-time.Millisecond), jan.AddDate(0, 3, 0).Add(-time.Millisecond)

	h := mustInviteTransfer(t, payer, target, jan)
	rt := transferIDOf(t, h)
	// An invitation is not a transfer in force: it is canceled or declined, not terminated.
	_, err := terminate(payer, rt, nil)
	wantCode(t, err, "InvalidResponsibilityTransferTransitionException", "")
	if _, err := accept(source, h.Id); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		end    time.Time
		reason string
	}{
		{"23:59:59", endMar.Truncate(time.Second), "END_DATE_NOT_END_OF_MONTH"},
		{"first of the month", jan.AddDate(0, 3, 0), "END_DATE_NOT_END_OF_MONTH"},
		{"mid-month", jan.AddDate(0, 0, 14), "END_DATE_NOT_END_OF_MONTH"},
		{"before the start", jan.Add(-time.Millisecond), "END_DATE_TOO_EARLY"},
		{"past", time.Date(2026, 10, 31, 23, 59, 59, int(999*time.Millisecond), time.UTC), "END_DATE_TOO_EARLY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := terminate(payer, rt, aws.Time(tt.end))
			wantCode(t, err, "InvalidInputException", tt.reason)
		})
	}
	_, err = terminate(e.as(other), rt, nil)
	wantCode(t, err, "ResponsibilityTransferNotFoundException", "")
	_, err = terminate(payer, "h-notatransfer", nil)
	wantCode(t, err, "InvalidInputException", "INVALID_PATTERN")

	// The source withdraws: the transfer stays in force until the end of March.
	r, err := terminate(source, rt, aws.Time(endMar))
	wantTransfer(t, r, err, types.ResponsibilityTransferStatusWithdrawn, endMar)
	r, err = describeTransfer(payer, rt)
	wantTransfer(t, r, err, types.ResponsibilityTransferStatusWithdrawn, endMar)
	_, err = terminate(payer, rt, aws.Time(endMar))
	wantCode(t, err, "ResponsibilityTransferAlreadyInStatusException", "")
	// While it is in force nobody else takes the bill over; from the month after, another payer may.
	_, err = inviteTransfer(ctx, e.as(payer2), target, "next", jan.AddDate(0, 2, 0), "")
	wantCode(t, err, "HandshakeConstraintViolationException", "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS")
	mustInviteTransfer(t, e.as(payer2), target, jan.AddDate(0, 3, 0))

	// The payer withdraws without an end: a transfer that has not started ends with its first month.
	h2 := mustInviteTransfer(t, payer, target2, jan)
	if _, err := accept(e.as(target2), h2.Id); err != nil {
		t.Fatal(err)
	}
	r, err = terminate(payer, transferIDOf(t, h2), nil)
	wantTransfer(t, r, err, types.ResponsibilityTransferStatusWithdrawn, endJan)
	// Once started, without an end it ends with the current month.
	h3 := mustInviteTransfer(t, payer, "666666666666", jan)
	if _, err := accept(e.as("666666666666"), h3.Id); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(jan.AddDate(0, 1, 10).Sub(start))
	r, err = terminate(e.as("666666666666"), transferIDOf(t, h3), nil)
	wantTransfer(t, r, err, types.ResponsibilityTransferStatusWithdrawn, jan.AddDate(0, 2, 0).Add(-time.Millisecond))
	// A declined transfer cannot be terminated.
	h4 := mustInviteTransfer(t, payer, "777777777777", jan.AddDate(0, 2, 0))
	if _, err := e.as("777777777777").DeclineHandshake(ctx, &organizations.DeclineHandshakeInput{HandshakeId: h4.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = terminate(payer, transferIDOf(t, h4), nil)
	wantCode(t, err, "InvalidResponsibilityTransferTransitionException", "")
}

func TestTransferListsAndFilters(t *testing.T) { eachStore(t, testTransferListsAndFilters) }

func testTransferListsAndFilters(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{MaxAccounts: 3})
	ctx := context.Background()
	c := e.as(mgmt)
	var want []string
	var handshakes []string
	for i := range 25 {
		h := mustInviteTransfer(t, c, fmt.Sprintf("5000000000%02d", i), jan)
		want = append(want, transferIDOf(t, h))
		handshakes = append(handshakes, aws.ToString(h.Id))
	}
	// Another payer's transfers are not listed.
	mustInviteTransfer(t, e.as(other), target, jan)

	var got []string
	var pages []int
	// The SDK has no paginator for these lists: follow NextToken until it is null, as the operation's doc says.
	in := &organizations.ListInboundResponsibilityTransfersInput{Type: types.ResponsibilityTransferTypeBilling}
	for {
		page, err := c.ListInboundResponsibilityTransfers(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(page.ResponsibilityTransfers))
		for _, r := range page.ResponsibilityTransfers {
			got = append(got, aws.ToString(r.Id))
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	if fmt.Sprint(pages) != "[20 5]" || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages %v, ids in order: %v", pages, fmt.Sprint(got) == fmt.Sprint(want))
	}
	small, err := c.ListInboundResponsibilityTransfers(ctx, &organizations.ListInboundResponsibilityTransfersInput{
		Type: types.ResponsibilityTransferTypeBilling, MaxResults: aws.Int32(7)})
	if err != nil || len(small.ResponsibilityTransfers) != 7 || small.NextToken == nil {
		t.Fatalf("MaxResults 7: %v %v", small, err)
	}
	for _, bad := range []int32{0, 21} {
		_, err = c.ListInboundResponsibilityTransfers(ctx, &organizations.ListInboundResponsibilityTransfersInput{
			Type: types.ResponsibilityTransferTypeBilling, MaxResults: aws.Int32(bad)})
		wantCode(t, err, "InvalidInputException", "")
	}
	_, err = c.ListInboundResponsibilityTransfers(ctx, &organizations.ListInboundResponsibilityTransfersInput{Type: "TAXES"})
	wantCode(t, err, "InvalidInputException", "INVALID_ENUM")
	// A token of another list, or of another organization's, is refused.
	_, err = c.ListOutboundResponsibilityTransfers(ctx, &organizations.ListOutboundResponsibilityTransfersInput{
		Type: types.ResponsibilityTransferTypeBilling, NextToken: small.NextToken})
	wantCode(t, err, "InvalidInputException", "INVALID_NEXT_TOKEN")
	_, err = e.as(other).ListInboundResponsibilityTransfers(ctx, &organizations.ListInboundResponsibilityTransfersInput{
		Type: types.ResponsibilityTransferTypeBilling, NextToken: small.NextToken})
	wantCode(t, err, "InvalidInputException", "INVALID_NEXT_TOKEN")
	// The Id filter answers that one transfer, on the caller's side only.
	one, err := c.ListInboundResponsibilityTransfers(ctx, &organizations.ListInboundResponsibilityTransfersInput{
		Type: types.ResponsibilityTransferTypeBilling, Id: aws.String(want[3])})
	if err != nil || len(one.ResponsibilityTransfers) != 1 || aws.ToString(one.ResponsibilityTransfers[0].Id) != want[3] {
		t.Fatalf("Id filter: %+v %v", one, err)
	}
	_, err = e.as("500000000003").ListInboundResponsibilityTransfers(ctx, &organizations.ListInboundResponsibilityTransfersInput{
		Type: types.ResponsibilityTransferTypeBilling, Id: aws.String(want[3])})
	wantCode(t, err, "ResponsibilityTransferNotFoundException", "")
	// The source lists its transfer as outbound, and has none inbound.
	out, err := e.as("500000000003").ListOutboundResponsibilityTransfers(ctx, &organizations.ListOutboundResponsibilityTransfersInput{
		Type: types.ResponsibilityTransferTypeBilling})
	if err != nil || len(out.ResponsibilityTransfers) != 1 || aws.ToString(out.ResponsibilityTransfers[0].Id) != want[3] ||
		!strings.Contains(aws.ToString(out.ResponsibilityTransfers[0].Arn), "/billing/outbound/") {
		t.Fatalf("outbound: %+v %v", out, err)
	}
	none, err := e.as("500000000003").ListInboundResponsibilityTransfers(ctx, &organizations.ListInboundResponsibilityTransfersInput{
		Type: types.ResponsibilityTransferTypeBilling})
	if err != nil || len(none.ResponsibilityTransfers) != 0 || none.NextToken != nil {
		t.Fatalf("the source's inbound: %+v %v", none, err)
	}

	// Transfer handshakes do not count against the accounts quota (3: management account and two invitations),
	// and an invitation to join and a transfer invitation to one account coexist.
	inv := mustInvite(t, c, "500000000000")
	mustInvite(t, c, target2)
	byAction := func(action types.ActionType) []string {
		var ids []string
		p := organizations.NewListHandshakesForOrganizationPaginator(c, &organizations.ListHandshakesForOrganizationInput{
			Filter: &types.HandshakeFilter{ActionType: action}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range page.Handshakes {
				if h.Action != action {
					t.Fatalf("filter %s listed a %s handshake", action, h.Action)
				}
				ids = append(ids, aws.ToString(h.Id))
			}
		}
		return ids
	}
	if got := byAction(types.ActionTypeTransferResponsibility); fmt.Sprint(got) != fmt.Sprint(handshakes) {
		t.Fatalf("transfer handshakes %v, want %v", got, handshakes)
	}
	if got := byAction(types.ActionTypeInviteAccountToOrganization); len(got) != 2 || got[0] != aws.ToString(inv.Id) {
		t.Fatalf("invitations %v", got)
	}
	if all := listAll(t, c); len(all) != 27 {
		t.Fatalf("unfiltered list has %d handshakes, want 27", len(all))
	}
}

func TestTransferConventions(t *testing.T) { eachStore(t, testTransferConventions) }

func testTransferConventions(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{Conventions: true})
	ctx := context.Background()
	c := e.as(mgmt)
	// 9997: ineligible pricing.
	_, err := inviteTransfer(ctx, c, "999700000001", "x", jan, "")
	wantCode(t, err, "ConstraintViolationException", "UNSUPPORTED_PRICING")
	// 9992: a management account with members cannot accept an invitation to join, but accepts a transfer.
	const mgmtWithMembers = "999200000001"
	inv := mustInvite(t, c, mgmtWithMembers)
	_, err = accept(e.as(mgmtWithMembers), inv.Id)
	wantCode(t, err, "HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")
	h := mustInviteTransfer(t, c, mgmtWithMembers, jan)
	if _, err := accept(e.as(mgmtWithMembers), h.Id); err != nil {
		t.Fatalf("a 9992 accepts a transfer: %v", err)
	}
	// 9991: a member account of another organization is no management account.
	h = mustInviteTransfer(t, c, "999100000001", jan)
	_, err = accept(e.as("999100000001"), h.Id)
	wantCode(t, err, "AccessDeniedException", "")
	// Without conventions, 9997 is an ordinary account.
	plain := newEnv(t, kind, orgsim.Options{})
	mustInviteTransfer(t, plain.as(mgmt), "999700000001", jan)
}

func TestListAccounts(t *testing.T) { eachStore(t, testListAccounts) }

func testListAccounts(t *testing.T, kind storeKind) {
	e := newEnv(t, kind, orgsim.Options{Conventions: true})
	ctx := context.Background()
	want := []string{mgmt}
	for i := range 25 {
		id := fmt.Sprintf("2000000000%02d", i)
		if err := e.sim.AddMember(mgmt, id, "CREATED", start); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	list := func(c *organizations.Client) ([]types.Account, []int) {
		var accounts []types.Account
		var pages []int
		p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, len(page.Accounts))
			accounts = append(accounts, page.Accounts...)
		}
		return accounts, pages
	}
	ids := func(as []types.Account) []string {
		var out []string
		for _, a := range as {
			out = append(out, aws.ToString(a.Id))
		}
		return out
	}
	accounts, pages := list(e.as(mgmt))
	// The management account (111...) sorts before its members (200...).
	if fmt.Sprint(pages) != "[20 6]" || fmt.Sprint(ids(accounts)) != fmt.Sprint(want) {
		t.Fatalf("pages %v, accounts %v", pages, ids(accounts))
	}
	if a := accounts[1]; a.State != types.AccountStateActive || a.JoinedMethod != types.AccountJoinedMethodCreated ||
		!aws.ToTime(a.JoinedTimestamp).Equal(start) || !strings.HasSuffix(aws.ToString(a.Arn), "/"+want[1]) {
		t.Errorf("member %+v", a)
	}
	_, err := e.as(want[1]).ListAccounts(ctx, &organizations.ListAccountsInput{})
	wantCode(t, err, "AccessDeniedException", "")
	_, err = e.as(mgmt).ListAccounts(ctx, &organizations.ListAccountsInput{NextToken: aws.String("garbage")})
	wantCode(t, err, "InvalidInputException", "INVALID_NEXT_TOKEN")
	_, err = e.as(mgmt).ListAccounts(ctx, &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
	wantCode(t, err, "InvalidInputException", "")
	// A standalone account's organization is itself.
	if alone, _ := list(e.as(other)); fmt.Sprint(ids(alone)) != "["+other+"]" {
		t.Fatalf("standalone: %v", ids(alone))
	}
	// A 9992 organization has members by convention, until the account is described otherwise.
	const mgmtWithMembers = "999200000001"
	conv, _ := list(e.as(mgmtWithMembers))
	if fmt.Sprint(ids(conv)) != "[998200000001 998300000001 999200000001]" {
		t.Fatalf("9992's accounts: %v", ids(conv))
	}
	if _, err := e.as(mgmtWithMembers).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("998200000001")}); err != nil {
		t.Fatalf("describe a convention member: %v", err)
	}
	if err := e.sim.PutAccount(mgmtWithMembers, orgsim.Account{}); err != nil {
		t.Fatal(err)
	}
	if conv, _ = list(e.as(mgmtWithMembers)); fmt.Sprint(ids(conv)) != "["+mgmtWithMembers+"]" {
		t.Fatalf("9992 described: %v", ids(conv))
	}
}

// TestConcurrentTransferInvites: payers racing to invite one source, through simulators on one world (replicas on
// one database), leave exactly one transfer.
func TestConcurrentTransferInvites(t *testing.T) { eachStore(t, testConcurrentTransferInvites) }

func testConcurrentTransferInvites(t *testing.T, kind storeKind) {
	stores := kind.world(t, 2)
	clk := testclock.New(start)
	sims := []*env{newEnv(t, kind, orgsim.Options{World: stores[0], Clock: clk.Now}), newEnv(t, kind, orgsim.Options{World: stores[1], Clock: clk.Now})}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = inviteTransfer(context.Background(), sims[i%2].as(fmt.Sprintf("6000000000%02d", i)), target, "race", jan, "")
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case apiCode(err) != "HandshakeConstraintViolationException":
			t.Errorf("a losing payer got %v", err)
		}
	}
	out, err := sims[0].as(target).ListOutboundResponsibilityTransfers(context.Background(),
		&organizations.ListOutboundResponsibilityTransfersInput{Type: types.ResponsibilityTransferTypeBilling})
	if won != 1 || err != nil || len(out.ResponsibilityTransfers) != 1 {
		t.Fatalf("%d payers won, the source lists %v (%v)", won, out, err)
	}
}
