package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/api"
)

// fill sets every field of v, recursively (pointers allocated, slices of two), so that a field the generated
// types gain and the hand encoder lacks shows up as a difference.
func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 13, 4, 5, 123456789, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), s+"/"+v.Type().Field(i).Name)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), s)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), s+"[0]")
		fill(v.Index(1), s+"[1]")
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(len(s)))
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

func sameJSON(t *testing.T, what string, hand []byte, value any) {
	t.Helper()
	std, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(hand) {
		t.Fatalf("%s: the hand encoder wrote invalid JSON: %s", what, hand)
	}
	var a, b any
	if err := json.Unmarshal(hand, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(std, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s:\nhand          %s\nencoding/json %s", what, hand, std)
	}
}

func TestHandEncodedInvitesMatchEncodingJSON(t *testing.T) {
	hostile := "x <b>&amp; \"q\" \\ \n\r\t\x00\x01\x1f é \u2028\u2029 \xff\xfe end"
	var full api.Invite
	fill(reflect.ValueOf(&full).Elem(), hostile)
	// Each optional part absent in turn, and every optional scalar of the parts absent.
	sparse := full
	sparse.CloudHealth, sparse.Cur, sparse.Handshake, sparse.JoinedAt, sparse.Organization, sparse.Transfer = nil, nil, nil, nil, nil, nil
	sparse.InvitedBy = api.Actor{Kind: api.ActorKind("system")}
	sparse.NextSteps = []api.NextStep{}
	emptyParts := full
	emptyParts.Cur = &api.CURView{FirstSeenAt: full.CreatedAt}
	emptyParts.Transfer = &api.Transfer{StartAt: full.CreatedAt, Status: api.TransferStatus("REQUESTED")}
	emptyParts.Organization = &api.Organization{Id: "o-1"}
	emptyParts.CloudHealth = &api.CloudHealthView{CheckedAt: full.CreatedAt}
	emptyParts.BillingData = &api.BillingData{State: api.BillingDataState("present")}
	emptyParts.BillingGroup = &api.BillingGroupLink{Arn: "arn", State: api.BillingGroupLinkState("pending")}
	emptyParts.NextSteps = nil
	for name, v := range map[string]api.Invite{"every field": full, "no optional part": sparse, "parts with only what is required": emptyParts, "zero": {}} {
		sameJSON(t, name, appendInvite(nil, &v), v)
	}
	cursor := "eyJhZnRlciI6IngifQ"
	for name, l := range map[string]api.InviteList{
		"page":      {Items: []api.Invite{full, sparse, emptyParts}, NextCursor: &cursor},
		"last page": {Items: []api.Invite{full}},
		"empty":     {Items: []api.Invite{}},
	} {
		sameJSON(t, name, appendInviteList(nil, &l), l)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<>&", "\u2028\u2029", "\xff", "\x00\x7f", "é😀", "\"\\/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hand := appendString(nil, s)
		var got, want string
		if err := json.Unmarshal(hand, &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, hand, err)
		}
		std, _ := json.Marshal(s)
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q: hand %s decodes to %q, encoding/json %s to %q", s, hand, got, std, want)
		}
	})
}
