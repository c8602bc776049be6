package awsorg_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// An answer written the way AWS writes it, independently of the simulator: epoch seconds with fractions, nested
// resources. Checking the adapter against it keeps the simulator and the adapter from agreeing on a wrong format.
const awsInviteAnswer = `{"Handshake":{"Action":"INVITE",
"Arn":"arn:aws:organizations::111111111111:handshake/o-exampleorg1/invite/h-examplehandshake1",
"ExpirationTimestamp":1765699200.512,"Id":"h-examplehandshake1",
"Parties":[{"Id":"o-exampleorg1","Type":"ORGANIZATION"},{"Id":"222222222222","Type":"ACCOUNT"}],
"RequestedTimestamp":1764403200.512,
"Resources":[{"Resources":[{"Type":"MASTER_EMAIL","Value":"payer@example.com"},{"Type":"MASTER_NAME","Value":"Payer"},
{"Type":"ORGANIZATION_FEATURE_SET","Value":"ALL"}],"Type":"ORGANIZATION","Value":"o-exampleorg1"},
{"Type":"ACCOUNT","Value":"222222222222"},{"Type":"NOTES","Value":"hi"}],"State":"OPEN"}}`

func TestWireDecoding(t *testing.T) {
	var gotReq struct {
		target, contentType, auth string
		body                      map[string]any
	}
	answers := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		gotReq.target, gotReq.contentType, gotReq.auth = r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"), r.Header.Get("Authorization")
		_ = json.Unmarshal(raw, &gotReq.body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("x-amzn-RequestId", "req-1")
		answers++
		if answers == 1 {
			_, _ = io.WriteString(w, awsInviteAnswer)
			return
		}
		// Errors as AWS sends them: a namespaced __type and a header with a suffix, both trimmed by the SDK.
		w.Header().Set("X-Amzn-ErrorType", "HandshakeConstraintViolationException:http://internal.amazon.com/coral/com.amazonaws.awsorganizations/")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.awsorganizations#HandshakeConstraintViolationException",`+
			`"Message":"AWS says no","Reason":"ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD"}`)
	}))
	t.Cleanup(srv.Close)

	c := awsorg.New(aws.Config{
		Region:      "ap-southeast-2",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}, awsorg.Options{OrganizationsEndpoint: srv.URL, MaxAttempts: 1})

	h, adopted, err := c.InviteAccount(context.Background(), payer, target, "hi")
	if err != nil {
		t.Fatal(err)
	}
	want := invite.Handshake{
		ID: "h-examplehandshake1", Action: invite.ActionInvite, AccountID: target, State: invite.HandshakeOpen,
		RequestedAt: time.Unix(1764403200, 512e6).UTC(), ExpiresAt: time.Unix(1765699200, 512e6).UTC(),
		Organization: &invite.Organization{ID: "o-exampleorg1", ManagementAccountID: "111111111111",
			ManagementEmail: "payer@example.com", ManagementName: "Payer"},
	}
	if adopted || !reflect.DeepEqual(h, want) {
		t.Fatalf("decoded %+v, want %+v", h, want)
	}
	if gotReq.target != "AWSOrganizationsV20161128.InviteAccountToOrganization" || gotReq.contentType != "application/x-amz-json-1.1" {
		t.Errorf("request headers: %q %q", gotReq.target, gotReq.contentType)
	}
	// Organizations is signed for us-east-1 whatever the config's region.
	if !strings.Contains(gotReq.auth, "/us-east-1/organizations/aws4_request") {
		t.Errorf("Authorization %q", gotReq.auth)
	}
	tgt, _ := gotReq.body["Target"].(map[string]any)
	if tgt["Id"] != target || tgt["Type"] != "ACCOUNT" || gotReq.body["Notes"] != "hi" {
		t.Errorf("request body %v", gotReq.body)
	}

	_, _, err = c.InviteAccount(context.Background(), payer, target2, "")
	de := wantDomain(t, err, invite.CodeDifferentSeller)
	if !strings.Contains(de.Err.Error(), "AWS says no") || !strings.Contains(de.Err.Error(), "req-1") {
		t.Errorf("Err %v lacks the message or request id", de.Err)
	}
}
