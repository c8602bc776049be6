package awsorg_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/awsorg/orgsim"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// jan is a valid transfer start for the tests' clock (2026-11-26 07:00 UTC): 36 days ahead, so its invitation
// expires after 15 days rather than 24 hours before it.
var jan = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// lastMs is the last millisecond of the month before the one that starts at t.
func lastMs(t time.Time) time.Time { return t.Add(-time.Millisecond) }

func TestTransferInviteAndRead(t *testing.T) {
	e := newEnv(t, orgsim.Options{})
	ctx := context.Background()

	h, adopted, err := e.client.InviteToTransfer(ctx, payer, target, "Acme Corp", jan, "please")
	if err != nil {
		t.Fatal(err)
	}
	org := h.Organization
	if org == nil || !strings.HasPrefix(org.ID, "o-") || org.ManagementAccountID != mgmt || org.ManagementEmail == "" || org.ManagementName == "" {
		t.Fatalf("organization = %+v", org)
	}
	want := invite.Handshake{ID: h.ID, Action: invite.ActionTransfer, AccountID: target, TransferID: h.TransferID,
		State: invite.HandshakeOpen, RequestedAt: start, ExpiresAt: start.Add(15 * 24 * time.Hour), Organization: org}
	if adopted || !reflect.DeepEqual(h, want) || !strings.HasPrefix(h.TransferID, "rt-") {
		t.Fatalf("invite = %+v adopted=%v, want %+v", h, adopted, want)
	}
	if got, err := e.client.DescribeHandshake(ctx, payer, h.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("describe handshake = %+v, %v", got, err)
	}
	tr, err := e.client.DescribeTransfer(ctx, payer, h.TransferID)
	wantT := invite.Transfer{ID: h.TransferID, Name: "Acme Corp", Status: invite.TransferRequested,
		SourceManagementAccountID: target, SourceManagementEmail: "aws+" + target + "@example.com", StartAt: jan, ActiveHandshakeID: h.ID}
	if err != nil || tr != wantT {
		t.Fatalf("describe transfer = %+v, %v; want %+v", tr, err, wantT)
	}
	// The transfer handshake is listed with the transfers, not with the invitations to join.
	var transfers, invites []string
	if err := e.client.ListTransferHandshakes(ctx, payer, func(h invite.Handshake) error {
		transfers = append(transfers, h.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.client.ListInviteHandshakes(ctx, payer, func(h invite.Handshake) error {
		invites = append(invites, h.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(transfers) != "["+h.ID+"]" || len(invites) != 0 {
		t.Fatalf("transfer handshakes %v, invitations %v", transfers, invites)
	}
	_, err = e.client.DescribeTransfer(ctx, payer, "rt-000000000000")
	wantDomain(t, err, invite.CodeNotFound)
}

func TestTransferPagesAndAdoption(t *testing.T) {
	e := newEnv(t, orgsim.Options{})
	ctx := context.Background()
	var want []string
	// Push the account's handshake onto the second page so that adoption has to page.
	for i := range 25 {
		h, _, err := e.client.InviteToTransfer(ctx, payer, fmt.Sprintf("7100000000%02d", i), "Customer", jan, "")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, h.TransferID)
	}
	h, _, err := e.client.InviteToTransfer(ctx, payer, target, "Customer", jan, "")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, h.TransferID)
	listCalls := e.sim.Calls("ListHandshakesForOrganization")
	again, adopted, err := e.client.InviteToTransfer(ctx, payer, target, "Customer", jan, "")
	if err != nil || !adopted || again.ID != h.ID || again.TransferID != h.TransferID {
		t.Fatalf("second invite = %+v adopted=%v, %v; want %s adopted", again, adopted, err, h.ID)
	}
	if n := e.sim.Calls("ListHandshakesForOrganization") - listCalls; n != 2 {
		t.Errorf("adoption listed %d pages, want 2", n)
	}

	var got []string
	if err := e.client.ListInboundTransfers(ctx, payer, func(tr invite.Transfer) error {
		got = append(got, tr.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed %d transfers, want the %d sent in order", len(got), len(want))
	}
	if n := e.sim.Calls("ListInboundResponsibilityTransfers"); n != 2 {
		t.Errorf("%d list calls, want 2 pages of 20", n)
	}
	// AWS says a transfer invitation is open but lists none: try again.
	e.sim.Inject(orgsim.Fault{Op: "InviteOrganizationToTransferResponsibility", Times: 1, Code: "DuplicateHandshakeException"})
	_, _, err = e.client.InviteToTransfer(ctx, payer, target2, "Customer", jan, "")
	if de := wantDomain(t, err, invite.CodeSendInProgress); de.RetryAfter == 0 {
		t.Error("no Retry-After")
	}
}

func TestTransferAcceptAndTerminate(t *testing.T) {
	e := newEnv(t, orgsim.Options{})
	ctx := context.Background()
	h, _, err := e.client.InviteToTransfer(ctx, payer, target, "Customer", jan, "")
	if err != nil {
		t.Fatal(err)
	}
	// A pending invitation is not a transfer in force.
	_, err = e.client.TerminateTransfer(ctx, payer, h.TransferID, lastMs(jan.AddDate(0, 2, 0)))
	wantDomain(t, err, invite.CodeTransferNotActive)

	acc, err := e.client.AcceptHandshakeAs(ctx, target, h.ID)
	if err != nil || acc.State != invite.HandshakeAccepted || acc.Action != invite.ActionTransfer {
		t.Fatalf("accept = %+v, %v", acc, err)
	}
	tr, err := e.client.DescribeTransfer(ctx, payer, h.TransferID)
	if err != nil || tr.Status != invite.TransferAccepted || !tr.EndAt.IsZero() {
		t.Fatalf("accepted transfer = %+v, %v", tr, err)
	}
	for _, end := range []time.Time{jan.AddDate(0, 0, 14), jan.Add(-time.Second), time.Date(2027, 2, 27, 23, 59, 58, 0, time.UTC)} {
		_, err = e.client.TerminateTransfer(ctx, payer, h.TransferID, end)
		wantDomain(t, err, invite.CodeTransferEndInvalid)
	}
	// "The end of February" said three ways is its last millisecond.
	endFeb := lastMs(jan.AddDate(0, 2, 0))
	for _, end := range []time.Time{jan.AddDate(0, 2, 0), endFeb.Truncate(time.Second), endFeb} {
		tr, err = e.client.TerminateTransfer(ctx, payer, h.TransferID, end)
		if err != nil || tr.Status != invite.TransferWithdrawn || !tr.EndAt.Equal(endFeb) {
			t.Fatalf("terminate at %v = %+v, %v; want WITHDRAWN ending %v", end, tr, err, endFeb)
		}
	}
	if n := e.sim.Calls("DescribeResponsibilityTransfer"); n != 3 {
		t.Errorf("%d describes: the retried terminates should each have read the transfer once", n)
	}

	// Without an end AWS picks one: a transfer that has not started ends with its first month.
	h2, _, err := e.client.InviteToTransfer(ctx, payer, target2, "Customer", jan, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AcceptHandshakeAs(ctx, target2, h2.ID); err != nil {
		t.Fatal(err)
	}
	tr, err = e.client.TerminateTransfer(ctx, payer, h2.TransferID, time.Time{})
	if err != nil || tr.Status != invite.TransferWithdrawn || !tr.EndAt.Equal(lastMs(jan.AddDate(0, 1, 0))) {
		t.Fatalf("terminate without an end = %+v, %v", tr, err)
	}
	_, err = e.client.TerminateTransfer(ctx, payer, "rt-000000000000", endFeb)
	wantDomain(t, err, invite.CodeNotFound)
}

// TestTransferRefusals drives the simulator's own refusals through the adapter: each becomes a code a customer
// can act on, answered as a conflict or a validation error.
func TestTransferRefusals(t *testing.T) {
	e := newEnv(t, orgsim.Options{Conventions: true})
	ctx := context.Background()
	if _, _, err := e.client.InviteToTransfer(ctx, payer, target, "Customer", jan, ""); err != nil {
		t.Fatal(err)
	}
	other := invite.Payer{ManagementAccountID: "555555555555"}
	tests := []struct {
		name          string
		payer         invite.Payer
		account, src  string
		start         time.Time
		notes         string
		code          invite.Code
		kind          invite.ErrorKind
		detailMention string
	}{
		{"account id", payer, "1234-5678-9012", "Customer", jan, "", invite.CodeInvalidAccountID, invite.KindValidation, "12 digits"},
		{"empty name", payer, target2, "", jan, "", invite.CodeTransferNameInvalid, invite.KindValidation, "128"},
		{"long name", payer, target2, strings.Repeat("n", 129), jan, "", invite.CodeTransferNameInvalid, invite.KindValidation, "128"},
		{"accented name", payer, target2, "Café", jan, "", invite.CodeTransferNameInvalid, invite.KindValidation, "ASCII"},
		{"long notes", payer, target2, "Customer", jan, strings.Repeat("n", 1025), invite.CodeNotesTooLong, invite.KindValidation, "1024"},
		{"mid-month start", payer, target2, "Customer", jan.AddDate(0, 0, 9), "", invite.CodeTransferStartInvalid, invite.KindValidation, "first day"},
		{"start too soon", payer, target2, "Customer", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "", invite.CodeTransferStartInvalid, invite.KindValidation, "24 hours"},
		{"the payer itself", payer, mgmt, "Customer", jan, "", invite.CodeTransferToSelf, invite.KindValidation, "another organization"},
		{"another payer's", other, target, "Customer", jan, "", invite.CodeTransferExists, invite.KindConflict, "one at a time"},
		{"pricing", payer, "999700000001", "Customer", jan, "", invite.CodeTransferPricing, invite.KindConflict, "pricing agreement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.client.InviteToTransfer(ctx, tt.payer, tt.account, tt.src, tt.start, tt.notes)
			de := wantDomain(t, err, tt.code)
			if de.Code.ErrorKind() != tt.kind {
				t.Errorf("kind %d, want %d", de.Code.ErrorKind(), tt.kind)
			}
			if !strings.Contains(de.Detail, tt.detailMention) {
				t.Errorf("detail %q does not mention %q", de.Detail, tt.detailMention)
			}
		})
	}
}

// TestTransferErrorTable drives every transfer error of the SDK, and every constraint reason, through the adapter's
// transfer calls with the simulator's fault injection.
func TestTransferErrorTable(t *testing.T) {
	e := newEnv(t, orgsim.Options{}, func(o *awsorg.Options) { o.MaxAttempts = 2 })
	ctx := context.Background()
	h, _, err := e.client.InviteToTransfer(ctx, payer, target, "Customer", jan, "")
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"InviteOrganizationToTransferResponsibility": func() error {
			_, _, err := e.client.InviteToTransfer(ctx, payer, target2, "Customer", jan, "")
			return err
		},
		"DescribeResponsibilityTransfer": func() error {
			_, err := e.client.DescribeTransfer(ctx, payer, h.TransferID)
			return err
		},
		"TerminateResponsibilityTransfer": func() error {
			_, err := e.client.TerminateTransfer(ctx, payer, h.TransferID, lastMs(jan.AddDate(0, 2, 0)))
			return err
		},
		"ListInboundResponsibilityTransfers": func() error {
			return e.client.ListInboundTransfers(ctx, payer, func(invite.Transfer) error { return nil })
		},
	}
	type row struct {
		op, code, reason string
		want             invite.Code
	}
	rows := []row{
		{"DescribeResponsibilityTransfer", "ResponsibilityTransferNotFoundException", "", invite.CodeNotFound},
		{"TerminateResponsibilityTransfer", "ResponsibilityTransferNotFoundException", "", invite.CodeNotFound},
		{"TerminateResponsibilityTransfer", "InvalidResponsibilityTransferTransitionException", "", invite.CodeTransferNotActive},
		// Already in the status, but AWS does not show it withdrawn: not the retry of a withdrawal.
		{"TerminateResponsibilityTransfer", "ResponsibilityTransferAlreadyInStatusException", "", invite.CodeTransferNotActive},
		{"TerminateResponsibilityTransfer", "InvalidInputException", "END_DATE_NOT_END_OF_MONTH", invite.CodeTransferEndInvalid},
		{"TerminateResponsibilityTransfer", "InvalidInputException", "END_DATE_TOO_EARLY", invite.CodeTransferEndInvalid},
		{"TerminateResponsibilityTransfer", "InvalidInputException", "END_DATE_TOO_LATE", invite.CodeTransferEndInvalid},
		{"TerminateResponsibilityTransfer", "InvalidInputException", "INVALID_END_DATE", invite.CodeTransferEndInvalid},
		{"InviteOrganizationToTransferResponsibility", "InvalidInputException", "START_DATE_NOT_BEGINNING_OF_DAY", invite.CodeTransferStartInvalid},
		{"InviteOrganizationToTransferResponsibility", "InvalidInputException", "START_DATE_NOT_BEGINNING_OF_MONTH", invite.CodeTransferStartInvalid},
		{"InviteOrganizationToTransferResponsibility", "InvalidInputException", "START_DATE_TOO_EARLY", invite.CodeTransferStartInvalid},
		{"InviteOrganizationToTransferResponsibility", "InvalidInputException", "START_DATE_TOO_LATE", invite.CodeTransferStartInvalid},
		{"InviteOrganizationToTransferResponsibility", "InvalidInputException", "INVALID_START_DATE", invite.CodeTransferStartInvalid},
		{"InviteOrganizationToTransferResponsibility", "InvalidInputException", "INVALID_PATTERN_TARGET_ID", invite.CodeInvalidAccountID},
		{"InviteOrganizationToTransferResponsibility", "InvalidInputException", "MIN_LENGTH_EXCEEDED", invite.CodeTransferNameInvalid},
		{"InviteOrganizationToTransferResponsibility", "AccountOwnerNotVerifiedException", "", invite.CodeEmailNotVerified},
		{"InviteOrganizationToTransferResponsibility", "AccessDeniedException", "", invite.CodeAWSAccessDenied},
		{"InviteOrganizationToTransferResponsibility", "TooManyRequestsException", "", invite.CodeAWSUnavailable},
		{"ListInboundResponsibilityTransfers", "TooManyRequestsException", "", invite.CodeAWSUnavailable},
		{"ListInboundResponsibilityTransfers", "AWSOrganizationsNotInUseException", "", invite.CodeAWSOrgNotInUse},
		{"InviteOrganizationToTransferResponsibility", "HandshakeConstraintViolationException", "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS", invite.CodeTransferExists},
		{"InviteOrganizationToTransferResponsibility", "HandshakeConstraintViolationException", "SOURCE_AND_TARGET_CANNOT_MATCH", invite.CodeTransferToSelf},
		{"InviteOrganizationToTransferResponsibility", "HandshakeConstraintViolationException", "TARGET_ACCOUNT_VALIDATION_FAILURE", invite.CodeAWSInvalidInput},
	}
	// Each transfer constraint reason has its own code, a conflict or validation unless only the reseller can
	// act (the payer's own organization being deleted, its setup).
	specific := map[string]invite.Code{
		"RESPONSIBILITY_TRANSFER_MAX_LEVEL_VIOLATION":           invite.CodeTransferQuota,
		"RESPONSIBILITY_TRANSFER_MAX_INBOUND_QUOTA_VIOLATION":   invite.CodeTransferQuota,
		"RESPONSIBILITY_TRANSFER_MAX_OUTBOUND_QUOTA_VIOLATION":  invite.CodeTransferQuota,
		"RESPONSIBILITY_TRANSFER_MAX_TRANSFERS_QUOTA_VIOLATION": invite.CodeTransferQuota,
		"ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS":                invite.CodeTransferProcessActive,
		"UNSUPPORTED_PRICING":                                   invite.CodeTransferPricing,
		"TRANSFER_RESPONSIBILITY_SOURCE_DELETION_IN_PROGRESS":   invite.CodeTransferSourceDeleting,
		"TRANSFER_RESPONSIBILITY_TARGET_DELETION_IN_PROGRESS":   invite.CodeTransferPayerDeleting,
		"TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED":            invite.CodeTransferNotActive,
		"ACCOUNT_NOT_ACTIVE_FOR_TRANSFER_RESPONSIBILITY":        invite.CodeAWSInvalidInput,
	}
	for reason, code := range specific {
		rows = append(rows, row{"InviteOrganizationToTransferResponsibility", "ConstraintViolationException", reason, code})
		if code.ErrorKind() != invite.KindConflict && code != invite.CodeTransferPayerDeleting && code != invite.CodeAWSInvalidInput {
			t.Errorf("%s: %s is kind %d, want a conflict", reason, code, code.ErrorKind())
		}
	}
	for _, r := range types.ConstraintViolationExceptionReason("").Values() {
		rows = append(rows, row{"InviteOrganizationToTransferResponsibility", "ConstraintViolationException", string(r), ""})
	}
	for _, r := range types.HandshakeConstraintViolationExceptionReason("").Values() {
		rows = append(rows, row{"InviteOrganizationToTransferResponsibility", "HandshakeConstraintViolationException", string(r), ""})
	}
	for _, r := range rows {
		t.Run(r.op+"/"+r.code+"/"+r.reason, func(t *testing.T) {
			defer e.sim.ClearFaults()
			e.sim.Inject(orgsim.Fault{Op: r.op, Code: r.code, Reason: r.reason})
			err := ops[r.op]()
			de := domainError(t, err)
			if r.want == "" {
				if de.Code == invite.CodeInternal {
					t.Fatalf("reason %s mapped to internal", r.reason)
				}
			} else {
				wantDomain(t, err, r.want)
			}
			if de.Err == nil || !strings.Contains(de.Err.Error(), "RequestID") {
				t.Errorf("Err %v lacks the AWS request id", de.Err)
			}
		})
	}
}

func TestListAccountsAs(t *testing.T) {
	e := newEnv(t, orgsim.Options{Conventions: true})
	ctx := context.Background()
	var want []string
	for i := range 22 {
		id := fmt.Sprintf("3000000000%02d", i)
		if err := e.sim.AddMember(target, id, "CREATED", start); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	got, err := e.client.ListAccountsAs(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	// The management account sorts first here (222... before 300...).
	if fmt.Sprint(ids) != fmt.Sprint(append([]string{target}, want...)) {
		t.Fatalf("accounts %v", ids)
	}
	if a := got[1]; a != (invite.Account{ID: want[0], State: "ACTIVE", JoinedMethod: "CREATED", JoinedAt: start}) {
		t.Errorf("member %+v", a)
	}
	// A 9992 organization (the sandbox's management account with members) has its convention's members.
	conv, err := e.client.ListAccountsAs(ctx, "999200000001")
	if err != nil || len(conv) != 3 {
		t.Fatalf("9992's accounts: %+v %v", conv, err)
	}
	// A member account cannot list its organization.
	_, err = e.client.ListAccountsAs(ctx, want[0])
	wantDomain(t, err, invite.CodeAWSAccessDenied)
}

// A transfer and a transfer handshake written the way AWS documents them, independently of the simulator, with
// the resources nested differently from the simulator's: the adapter reads them wherever they are.
const (
	awsTransferAnswer = `{"ResponsibilityTransfer":{"ActiveHandshakeId":"h-examplehandshake2",
"Arn":"arn:aws:organizations::111111111111:transfer/o-exampleorg1/billing/inbound/rt-exampletransfer1",
"EndTimestamp":1809129599.999,"Id":"rt-exampletransfer1","Name":"Acme",
"Source":{"ManagementAccountEmail":"owner@acme.example","ManagementAccountId":"222222222222"},
"StartTimestamp":1798761600,"Status":"WITHDRAWN",
"Target":{"ManagementAccountEmail":"payer@example.com","ManagementAccountId":"111111111111"},"Type":"BILLING"}}`
	awsTransferHandshake = `{"Handshake":{"Action":"TRANSFER_RESPONSIBILITY",
"Arn":"arn:aws:organizations::111111111111:handshake/o-exampleorg1/transfer_responsibility/h-examplehandshake2",
"ExpirationTimestamp":1765699200.5,"Id":"h-examplehandshake2",
"Parties":[{"Id":"o-exampleorg1","Type":"ORGANIZATION"},{"Id":"222222222222","Type":"ACCOUNT"}],
"RequestedTimestamp":1764403200.5,
"Resources":[{"Type":"ORGANIZATION","Value":"o-exampleorg1","Resources":[{"Type":"MANAGEMENT_EMAIL","Value":"payer@example.com"},
{"Type":"MANAGEMENT_NAME","Value":"Payer"},{"Type":"MANAGEMENT_ACCOUNT","Value":"111111111111"}]},
{"Type":"RESPONSIBILITY_TRANSFER","Value":"rt-exampletransfer1","Resources":[{"Type":"TRANSFER_TYPE","Value":"BILLING"},
{"Type":"TRANSFER_START_TIMESTAMP","Value":"1798761600"}]},{"Type":"ACCOUNT","Value":"222222222222"}],"State":"REQUESTED"}}`
)

func TestTransferWireDecoding(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(raw))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "AWSOrganizationsV20161128.InviteOrganizationToTransferResponsibility":
			_, _ = io.WriteString(w, awsTransferHandshake)
		default:
			_, _ = io.WriteString(w, awsTransferAnswer)
		}
	}))
	defer srv.Close()
	c := awsorg.New(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}},
		awsorg.Options{OrganizationsEndpoint: srv.URL, MaxAttempts: 1})
	ctx := context.Background()

	h, _, err := c.InviteToTransfer(ctx, payer, target, "Acme", jan, "")
	if err != nil {
		t.Fatal(err)
	}
	want := invite.Handshake{ID: "h-examplehandshake2", Action: invite.ActionTransfer, AccountID: target,
		TransferID: "rt-exampletransfer1", State: invite.HandshakeRequested,
		RequestedAt: time.Unix(1764403200, 5e8).UTC(), ExpiresAt: time.Unix(1765699200, 5e8).UTC(),
		Organization: &invite.Organization{ID: "o-exampleorg1", ManagementAccountID: mgmt, ManagementEmail: "payer@example.com", ManagementName: "Payer"}}
	if !reflect.DeepEqual(h, want) || !h.State.Pending() {
		t.Fatalf("handshake %+v, want %+v", h, want)
	}
	// What the SDK sent: the wire names, the start as epoch seconds.
	for _, part := range []string{`"Type":"BILLING"`, `"SourceName":"Acme"`, `"StartTimestamp":1798761600`, `"Target":{"Id":"` + target + `","Type":"ACCOUNT"}`} {
		if !strings.Contains(bodies[0], part) {
			t.Errorf("request %s lacks %s", bodies[0], part)
		}
	}
	tr, err := c.TerminateTransfer(ctx, payer, "rt-exampletransfer1", time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC))
	wantT := invite.Transfer{ID: "rt-exampletransfer1", Name: "Acme", Status: invite.TransferWithdrawn,
		SourceManagementAccountID: target, SourceManagementEmail: "owner@acme.example", StartAt: jan,
		EndAt: time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC).Add(-time.Millisecond), ActiveHandshakeID: "h-examplehandshake2"}
	if err != nil || tr != wantT {
		t.Fatalf("transfer %+v, %v; want %+v", tr, err, wantT)
	}
	if !strings.Contains(bodies[1], `"EndTimestamp":1809129599.999`) || !strings.Contains(bodies[1], `"Id":"rt-exampletransfer1"`) {
		t.Errorf("terminate request %s", bodies[1])
	}
}
