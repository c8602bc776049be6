package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudreseller/aws-invites/api"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/notify"
)

// server implements the generated strict server interface by converting between API and domain types.
type server struct {
	cloudHealth invite.CloudHealthReporter // nil without CloudHealth
	invites     *invite.Invites
	batches     *invite.Batches // nil: batches are not offered
	profiles    *invite.Profiles
	reconciler  *invite.Reconciler
	sandbox     *invite.Sandbox // nil outside the sandbox
	webhooks    *notify.Webhooks
	idem        idempotency
	ready       func(context.Context) error
	stopping    func() bool // nil: never
	mode        string
	// hostedTemplate is the CloudHealth role's template for resellers to host: the same bytes for everyone.
	hostedTemplate func() ([]byte, error)
}

var _ api.StrictServerInterface = (*server)(nil)

func (s *server) GetBillingProfile(ctx context.Context, req api.GetBillingProfileRequestObject) (api.GetBillingProfileResponseObject, error) {
	bp, err := s.profiles.Get(ctx, principal(ctx), req.BillingProfileId)
	if err != nil {
		return nil, err
	}
	return api.GetBillingProfile200JSONResponse{Body: toBillingProfile(bp), Headers: api.GetBillingProfile200ResponseHeaders{ETag: bp.ETag()}}, nil
}

func (s *server) ListBillingProfiles(ctx context.Context, req api.ListBillingProfilesRequestObject) (api.ListBillingProfilesResponseObject, error) {
	q := invite.ProfileQuery{CustomerID: deref(req.Params.CustomerId)}
	if req.Params.Limit != nil {
		q.Limit = *req.Params.Limit
	}
	list := listOf("billing-profiles", q.CustomerID)
	after, err := decodeCursor[string](list, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	q.After = after
	choices, next, err := s.profiles.List(ctx, principal(ctx), q)
	if err != nil {
		return nil, err
	}
	out := api.BillingProfileList{Items: make([]api.BillingProfile, 0, len(choices)), NextCursor: encodeCursor(list, next)}
	for _, c := range choices {
		bp := toBillingProfile(c.ProfileView)
		bp.CanInvite = &c.CanInvite
		out.Items = append(out.Items, bp)
	}
	return api.ListBillingProfiles200JSONResponse(out), nil
}

func (s *server) PutBillingProfile(ctx context.Context, req api.PutBillingProfileRequestObject) (api.PutBillingProfileResponseObject, error) {
	b := req.Body
	in := invite.BillingProfile{
		ID: req.BillingProfileId, CustomerID: b.CustomerId, Name: b.Name, ManagementAccountID: b.ManagementAccountId,
		RoleARN: deref(b.RoleArn), ExternalID: deref(b.ExternalId), CloudHealthClientID: deref(b.CloudHealthClientApiId),
		BillingGroupARN: deref(b.BillingGroupArn),
	}
	if c := b.Cur; c != nil {
		in.CUR = invite.CURLocation{Bucket: c.Bucket, Prefix: deref(c.Prefix), Report: c.ReportName, Format: invite.CURLegacy}
		if c.Format != nil {
			in.CUR.Format = string(*c.Format)
		}
	}
	m, err := parseIfMatch(req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	bp, created, err := s.profiles.PutIfMatch(ctx, principal(ctx), in, m)
	if err != nil {
		return nil, err
	}
	if created {
		loc := "/billing-profiles/" + bp.ID
		return api.PutBillingProfile201JSONResponse{Body: toBillingProfile(bp), Headers: api.PutBillingProfile201ResponseHeaders{Location: &loc, ETag: bp.ETag()}}, nil
	}
	return api.PutBillingProfile200JSONResponse{Body: toBillingProfile(bp), Headers: api.PutBillingProfile200ResponseHeaders{ETag: bp.ETag()}}, nil
}

func (s *server) ListInvites(ctx context.Context, req api.ListInvitesRequestObject) (api.ListInvitesResponseObject, error) {
	p := req.Params
	out, err := s.listInvites(ctx, listQuery(req.BillingProfileId, p.AccountId, (*string)(p.Kind), p.Limit, p.State), p.Cursor)
	if err != nil {
		return nil, err
	}
	return pageAnswer{out}, nil
}

func (s *server) ListAllInvites(ctx context.Context, req api.ListAllInvitesRequestObject) (api.ListAllInvitesResponseObject, error) {
	p := req.Params
	out, err := s.listInvites(ctx, listQuery(deref(p.BillingProfileId), p.AccountId, (*string)(p.Kind), p.Limit, p.State), p.Cursor)
	if err != nil {
		return nil, err
	}
	return pageAnswer{out}, nil
}

// listQuery is the domain's query of a list of invites, from either list's parameters.
func listQuery(profileID string, accountID, kind *string, limit *int, states *[]api.InviteState) invite.ListQuery {
	q := invite.ListQuery{BillingProfileID: profileID, AccountID: deref(accountID), Kind: invite.InviteKind(deref(kind))}
	if limit != nil {
		q.Limit = *limit
	}
	if states != nil {
		for _, st := range *states {
			q.States = append(q.States, invite.State(st))
		}
	}
	return q
}

// listInvites answers a page of one billing profile's invites (q.BillingProfileID), or of every profile the
// caller may read.
func (s *server) listInvites(ctx context.Context, q invite.ListQuery, cursor *string) (api.InviteList, error) {
	list := inviteList(q)
	after, err := decodeCursor[string](list, cursor)
	if err != nil {
		return api.InviteList{}, err
	}
	q.After = after
	page, err := s.invites.ListAcross(ctx, principal(ctx), q)
	if err != nil {
		return api.InviteList{}, err
	}
	out := api.InviteList{Items: make([]api.Invite, 0, len(page.Views)), NextCursor: encodeCursor(list, page.NextID)}
	for _, v := range page.Views {
		out.Items = append(out.Items, toInvite(v))
	}
	return out, nil
}

func (s *server) CreateInvite(ctx context.Context, req api.CreateInviteRequestObject) (api.CreateInviteResponseObject, error) {
	p := principal(ctx)
	if req.Body.AccountId == nil && req.Body.AdoptHandshakeId == nil {
		// The schema cannot say "one of the two": this is its required-property error.
		return nil, invite.FieldProblem(invite.CodeValidationFailed, "accountId", "required",
			"accountId is required (or adoptHandshakeId, for platform administrators)")
	}
	in := invite.CreateInput{AccountID: deref(req.Body.AccountId), Notes: deref(req.Body.Notes),
		NotesSet: req.Body.Notes != nil, AdoptHandshakeID: deref(req.Body.AdoptHandshakeId), TransferName: deref(req.Body.TransferName)}
	if k := req.Body.Kind; k != nil {
		in.Kind = invite.InviteKind(*k)
	}
	if d := req.Body.TransferStart; d != nil {
		in.TransferStart = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	if prefersAsync(req.Params.Prefer) {
		in.Queue = invite.QueueWhenFull
	}
	create := func() (api.CreateInviteResponseObject, error) {
		return s.createInvite(ctx, p, req.BillingProfileId, in)
	}
	replay := func(r replayed) api.CreateInviteResponseObject { return r }
	settle := func(since time.Time) (api.CreateInviteResponseObject, bool, error) {
		return s.createdSince(ctx, p, req.BillingProfileId, in, since)
	}
	key := keyOf(req.Params.IdempotencyKey, p, req.BillingProfileId, createInviteRequest(req.Body))
	return idempotently(ctx, s.idem, key, create, createInviteKept, replay, settle)
}

// createdSince is the invite a create by p that died with its Idempotency-Key wrote: the newest invite of the
// account in the billing profile, sent by p no earlier than the key was reserved, with the handshake its invitation
// went out as. It is the create's answer, as it is now.
func (s *server) createdSince(ctx context.Context, p invite.Principal, billingProfileID string, in invite.CreateInput, since time.Time) (api.CreateInviteResponseObject, bool, error) {
	acct, err := invite.NormalizeAccountID(in.AccountID)
	if err != nil || in.AdoptHandshakeID != "" {
		return nil, false, nil // a create that cannot have written an invite of its own account: run it again
	}
	page, err := s.invites.List(ctx, p, invite.ListQuery{BillingProfileID: billingProfileID, AccountID: acct, Limit: 1})
	if err != nil {
		return nil, false, err
	}
	// Stamps may come from different clocks in the sandbox (the shared one for the key, the payer's test clock for
	// the invite); a second of slack covers stamps taken in one request on one clock.
	if len(page.Views) == 0 || page.Views[0].InvitedBy.Subject != p.Subject || page.Views[0].CreatedAt.Before(since.Add(-time.Second)) {
		return nil, false, nil
	}
	if page.Views[0].Handshake == nil {
		// Reserved, but its send died before AWS's answer was recorded: running the create again resumes that
		// send (the domain's re-entry), which adopts the invitation if AWS has it, or sends it once.
		return nil, false, nil
	}
	v := page.Views[0]
	loc := inviteLocation(v.Invite)
	return api.CreateInvite201JSONResponse{Body: toInvite(v), Headers: api.CreateInvite201ResponseHeaders{Location: &loc}}, true, nil
}

func (s *server) createInvite(ctx context.Context, p invite.Principal, billingProfileID string, in invite.CreateInput) (api.CreateInviteResponseObject, error) {
	v, created, err := s.invites.Create(ctx, p, billingProfileID, in)
	if err != nil {
		return nil, err
	}
	loc := inviteLocation(v.Invite)
	body := toInvite(v)
	if created && v.State == invite.StateQueued {
		applied := "respond-async"
		return api.CreateInvite202JSONResponse{Body: body, Headers: api.CreateInvite202ResponseHeaders{Location: &loc, PreferenceApplied: &applied}}, nil
	}
	if created {
		return api.CreateInvite201JSONResponse{Body: body, Headers: api.CreateInvite201ResponseHeaders{Location: &loc}}, nil
	}
	return api.CreateInvite200JSONResponse{Body: body, Headers: api.CreateInvite200ResponseHeaders{Location: &loc}}, nil
}

// prefersAsync reports whether a Prefer header (RFC 7240) asks for respond-async: preferences are separated by
// commas, each a token with optional parameters after ';', compared case-insensitively.
func prefersAsync(prefer *string) bool {
	if prefer == nil {
		return false
	}
	for _, pref := range strings.Split(*prefer, ",") {
		token, _, _ := strings.Cut(pref, ";")
		token, _, _ = strings.Cut(token, "=")
		if strings.EqualFold(strings.TrimSpace(token), "respond-async") {
			return true
		}
	}
	return false
}

func (s *server) GetInvite(ctx context.Context, req api.GetInviteRequestObject) (api.GetInviteResponseObject, error) {
	v, err := s.invites.Get(ctx, principal(ctx), req.BillingProfileId, req.InviteId)
	if err != nil {
		return nil, err
	}
	return inviteAnswer{toInvite(v)}, nil
}

func (s *server) CancelInvite(ctx context.Context, req api.CancelInviteRequestObject) (api.CancelInviteResponseObject, error) {
	v, err := s.invites.Cancel(ctx, principal(ctx), req.BillingProfileId, req.InviteId)
	if err != nil {
		return nil, err
	}
	return api.CancelInvite200JSONResponse(toInvite(v)), nil
}

func (s *server) ResendInvite(ctx context.Context, req api.ResendInviteRequestObject) (api.ResendInviteResponseObject, error) {
	v, err := s.invites.Resend(ctx, principal(ctx), req.BillingProfileId, req.InviteId)
	if err != nil {
		return nil, err
	}
	return api.ResendInvite200JSONResponse(toInvite(v)), nil
}

func (s *server) ReassignInvite(ctx context.Context, req api.ReassignInviteRequestObject) (api.ReassignInviteResponseObject, error) {
	v, err := s.invites.Reassign(ctx, principal(ctx), req.BillingProfileId, req.InviteId, req.Body.BillingProfileId)
	if err != nil {
		return nil, err
	}
	return api.ReassignInvite200JSONResponse(toInvite(v)), nil
}

func (s *server) ListPayerHandshakes(ctx context.Context, req api.ListPayerHandshakesRequestObject) (api.ListPayerHandshakesResponseObject, error) {
	p := req.Params
	q := invite.HandshakeQuery{Payer: req.ManagementAccountId, Unclaimed: p.Unclaimed != nil && *p.Unclaimed}
	if p.Limit != nil {
		q.Limit = *p.Limit
	}
	list := listOf("handshakes", req.ManagementAccountId, strconv.FormatBool(q.Unclaimed))
	after, err := decodeCursor[string](list, p.Cursor)
	if err != nil {
		return nil, err
	}
	q.After = after
	page, err := s.reconciler.Handshakes(ctx, principal(ctx), q)
	if err != nil {
		return nil, err
	}
	out := api.PayerHandshakeList{Items: make([]api.PayerHandshake, 0, len(page.Handshakes)), NextCursor: encodeCursor(list, page.Next)}
	for _, h := range page.Handshakes {
		out.Items = append(out.Items, toPayerHandshake(h))
	}
	return api.ListPayerHandshakes200JSONResponse(out), nil
}

func (s *server) ListInviteEvents(ctx context.Context, req api.ListInviteEventsRequestObject) (api.ListInviteEventsResponseObject, error) {
	events, err := s.invites.Events(ctx, principal(ctx), req.BillingProfileId, req.InviteId)
	if err != nil {
		return nil, err
	}
	items, err := toEvents(events)
	if err != nil {
		return nil, err
	}
	return api.ListInviteEvents200JSONResponse(api.EventList{Items: items}), nil
}

func (s *server) ListBillingProfileEvents(ctx context.Context, req api.ListBillingProfileEventsRequestObject) (api.ListBillingProfileEventsResponseObject, error) {
	p := req.Params
	list, err := s.activity(ctx, req.BillingProfileId, feedParams{p.Type, p.Since, p.AccountId, p.Limit, p.Cursor})
	if err != nil {
		return nil, err
	}
	return api.ListBillingProfileEvents200JSONResponse(list), nil
}

func (s *server) ListEvents(ctx context.Context, req api.ListEventsRequestObject) (api.ListEventsResponseObject, error) {
	p := req.Params
	list, err := s.activity(ctx, "", feedParams{p.Type, p.Since, p.AccountId, p.Limit, p.Cursor})
	if err != nil {
		return nil, err
	}
	return api.ListEvents200JSONResponse(list), nil
}

// feedParams are the query parameters both activity feeds take.
type feedParams struct {
	types     *[]api.EventType
	since     *time.Time
	accountID *string
	limit     *int
	cursor    *string
}

// activity answers a page of an activity feed (of one billing profile, or of all of them with none).
func (s *server) activity(ctx context.Context, billingProfileID string, p feedParams) (api.EventList, error) {
	q := invite.EventQuery{BillingProfileID: billingProfileID, AccountID: deref(p.accountID)}
	var typeNames []string
	if p.types != nil {
		for _, t := range *p.types {
			q.Types = append(q.Types, invite.EventType(t))
			typeNames = append(typeNames, string(t))
		}
	}
	slices.Sort(typeNames)
	if p.since != nil {
		q.Since = *p.since
	}
	if p.limit != nil {
		q.Limit = *p.limit
	}
	list := listOf("events", billingProfileID, strings.Join(typeNames, ","), q.Since.UTC().Format(time.RFC3339Nano), q.AccountID)
	before, err := decodeCursor[int64](list, p.cursor)
	if err != nil {
		return api.EventList{}, err
	}
	q.Before = before
	page, err := s.invites.Activity(ctx, principal(ctx), q)
	if err != nil {
		return api.EventList{}, err
	}
	items, err := toEvents(page.Events)
	if err != nil {
		return api.EventList{}, err
	}
	return api.EventList{Items: items, NextCursor: encodeCursor(list, page.Next)}, nil
}

// sandboxed runs a sandbox use case; outside the sandbox the sandbox endpoints do not exist.
func (s *server) sandboxed(run func(*invite.Sandbox) (invite.View, error)) (api.Invite, error) {
	if s.sandbox == nil {
		return api.Invite{}, invite.Errorf(invite.CodeSandboxOnly, "this endpoint exists only in the sandbox (AWS_INVITES_MODE=sandbox); here AWS answers for the account")
	}
	v, err := run(s.sandbox)
	if err != nil {
		return api.Invite{}, err
	}
	return toInvite(v), nil
}

func (s *server) SandboxAcceptInvite(ctx context.Context, req api.SandboxAcceptInviteRequestObject) (api.SandboxAcceptInviteResponseObject, error) {
	out, err := s.sandboxed(func(sb *invite.Sandbox) (invite.View, error) {
		return sb.Answer(ctx, principal(ctx), req.BillingProfileId, req.InviteId, true)
	})
	if err != nil {
		return nil, err
	}
	return api.SandboxAcceptInvite200JSONResponse(out), nil
}

func (s *server) SandboxDeclineInvite(ctx context.Context, req api.SandboxDeclineInviteRequestObject) (api.SandboxDeclineInviteResponseObject, error) {
	out, err := s.sandboxed(func(sb *invite.Sandbox) (invite.View, error) {
		return sb.Answer(ctx, principal(ctx), req.BillingProfileId, req.InviteId, false)
	})
	if err != nil {
		return nil, err
	}
	return api.SandboxDeclineInvite200JSONResponse(out), nil
}

func (s *server) RefreshInvite(ctx context.Context, req api.RefreshInviteRequestObject) (api.RefreshInviteResponseObject, error) {
	v, err := s.reconciler.Refresh(ctx, principal(ctx), req.BillingProfileId, req.InviteId)
	if err != nil {
		return nil, err
	}
	return api.RefreshInvite200JSONResponse(toInvite(v)), nil
}

func (s *server) GetCloudHealthSetup(ctx context.Context, req api.GetCloudHealthSetupRequestObject) (api.GetCloudHealthSetupResponseObject, error) {
	setup, err := s.invites.CloudHealthSetup(ctx, principal(ctx), req.BillingProfileId, req.InviteId,
		policyParts(req.Params.ReadBucket, req.Params.ModifyReservedInstances))
	if err != nil {
		return nil, err
	}
	if prefersYAML(accept(ctx)) {
		return api.GetCloudHealthSetup200ApplicationyamlResponse{Body: bytes.NewReader(setup.Template), ContentLength: int64(len(setup.Template))}, nil
	}
	var out api.CloudHealthSetup
	raw, err := json.Marshal(setup.JSON)
	if err == nil {
		err = json.Unmarshal(raw, &out)
	}
	if err != nil {
		return nil, fmt.Errorf("rendering the CloudHealth setup: %w", err)
	}
	return api.GetCloudHealthSetup200JSONResponse(out), nil
}

func (s *server) ValidateCloudHealth(ctx context.Context, req api.ValidateCloudHealthRequestObject) (api.ValidateCloudHealthResponseObject, error) {
	v, err := s.invites.ValidateCloudHealth(ctx, principal(ctx), req.BillingProfileId, req.InviteId)
	if err != nil {
		return nil, err
	}
	return api.ValidateCloudHealth200JSONResponse(toValidation(v)), nil
}

func (s *server) GetCloudHealthValidation(ctx context.Context, req api.GetCloudHealthValidationRequestObject) (api.GetCloudHealthValidationResponseObject, error) {
	v, err := s.invites.LastCloudHealthValidation(ctx, principal(ctx), req.BillingProfileId, req.InviteId)
	if err != nil {
		return nil, err
	}
	return api.GetCloudHealthValidation200JSONResponse(toValidation(v)), nil
}

// policyParts are the optional parts of CloudHealth's policy a setup request chose.
func policyParts(buckets *[]string, modifyRI *bool) invite.CloudHealthPolicyParts {
	var p invite.CloudHealthPolicyParts
	if buckets != nil {
		p.ReadBuckets = *buckets
	}
	if modifyRI != nil {
		p.ModifyReservedInstances = *modifyRI
	}
	return p
}

func (s *server) GetCloudHealthHostedTemplate(context.Context, api.GetCloudHealthHostedTemplateRequestObject) (api.GetCloudHealthHostedTemplateResponseObject, error) {
	tmpl, err := s.hostedTemplate()
	if err != nil {
		return nil, err
	}
	return api.GetCloudHealthHostedTemplate200ApplicationyamlResponse{Body: bytes.NewReader(tmpl), ContentLength: int64(len(tmpl))}, nil
}

func (s *server) ListCloudHealthTenants(ctx context.Context, _ api.ListCloudHealthTenantsRequestObject) (api.ListCloudHealthTenantsResponseObject, error) {
	if !principal(ctx).IsPlatformAdmin() {
		return nil, invite.Errorf(invite.CodeForbidden, "the CloudHealth tenants' report needs the %q role", invite.RolePlatformAdmin)
	}
	out := api.CloudHealthTenantList{Configured: s.cloudHealth != nil, Items: []api.CloudHealthTenant{}}
	if s.cloudHealth != nil {
		for _, t := range s.cloudHealth.Tenants() {
			out.Items = append(out.Items, toCloudHealthTenant(t))
		}
	}
	return api.ListCloudHealthTenants200JSONResponse(out), nil
}

func (s *server) GetCloudHealthTemplate(ctx context.Context, req api.GetCloudHealthTemplateRequestObject) (api.GetCloudHealthTemplateResponseObject, error) {
	setup, err := s.invites.CloudHealthSetup(ctx, principal(ctx), req.BillingProfileId, req.InviteId,
		policyParts(req.Params.ReadBucket, req.Params.ModifyReservedInstances))
	if err != nil {
		return nil, err
	}
	return api.GetCloudHealthTemplate200ApplicationyamlResponse{Body: bytes.NewReader(setup.Template), ContentLength: int64(len(setup.Template))}, nil
}

func (s *server) GetSandboxClock(ctx context.Context, _ api.GetSandboxClockRequestObject) (api.GetSandboxClockResponseObject, error) {
	if s.sandbox == nil {
		return nil, invite.Errorf(invite.CodeSandboxOnly, "the sandbox clock exists only in the sandbox (AWS_INVITES_MODE=sandbox); here time is the real time")
	}
	return api.GetSandboxClock200JSONResponse{Now: s.sandbox.Clock(ctx, principal(ctx)).UTC()}, nil
}

func (s *server) AdvanceSandboxClock(ctx context.Context, req api.AdvanceSandboxClockRequestObject) (api.AdvanceSandboxClockResponseObject, error) {
	if s.sandbox == nil {
		return nil, invite.Errorf(invite.CodeSandboxOnly, "the sandbox clock exists only in the sandbox (AWS_INVITES_MODE=sandbox); here time is the real time")
	}
	advance, to, err := clockMove(req.Body)
	if err != nil {
		return nil, err
	}
	rep, err := s.sandbox.AdvanceClock(ctx, principal(ctx), advance, to)
	if err != nil {
		return nil, err
	}
	return api.AdvanceSandboxClock200JSONResponse(clockReportOut(rep)), nil
}

func (s *server) CreateTestClock(ctx context.Context, req api.CreateTestClockRequestObject) (api.CreateTestClockResponseObject, error) {
	if s.sandbox == nil {
		return nil, invite.Errorf(invite.CodeSandboxOnly, "test clocks exist only in the sandbox (AWS_INVITES_MODE=sandbox); here time is the real time")
	}
	c, err := s.sandbox.CreateTestClock(ctx, principal(ctx), req.Body.ManagementAccountId, req.Body.CustomerId)
	if err != nil {
		return nil, err
	}
	loc := "/sandbox/test-clocks/" + c.Payer
	return api.CreateTestClock201JSONResponse{Body: testClockOut(c), Headers: api.CreateTestClock201ResponseHeaders{Location: &loc}}, nil
}

func (s *server) GetTestClock(ctx context.Context, req api.GetTestClockRequestObject) (api.GetTestClockResponseObject, error) {
	if s.sandbox == nil {
		return nil, invite.Errorf(invite.CodeSandboxOnly, "test clocks exist only in the sandbox (AWS_INVITES_MODE=sandbox); here time is the real time")
	}
	c, err := s.sandbox.TestClock(ctx, principal(ctx), req.ManagementAccountId)
	if err != nil {
		return nil, err
	}
	return api.GetTestClock200JSONResponse(testClockOut(c)), nil
}

func (s *server) AdvanceTestClock(ctx context.Context, req api.AdvanceTestClockRequestObject) (api.AdvanceTestClockResponseObject, error) {
	if s.sandbox == nil {
		return nil, invite.Errorf(invite.CodeSandboxOnly, "test clocks exist only in the sandbox (AWS_INVITES_MODE=sandbox); here time is the real time")
	}
	advance, to, err := clockMove(req.Body)
	if err != nil {
		return nil, err
	}
	rep, err := s.sandbox.AdvanceTestClock(ctx, principal(ctx), req.ManagementAccountId, advance, to)
	if err != nil {
		return nil, err
	}
	return api.AdvanceTestClock200JSONResponse(clockReportOut(rep)), nil
}

func testClockOut(c invite.TestClock) api.TestClock {
	return api.TestClock{ManagementAccountId: c.Payer, CustomerId: c.CustomerID, Now: c.Now.UTC(), CreatedAt: c.CreatedAt.UTC()}
}

// clockMove reads how far a clock is to move: by advance, or to a time.
func clockMove(body *api.SandboxClockRequest) (time.Duration, time.Time, error) {
	var advance time.Duration
	if a := body.Advance; a != nil {
		d, err := invite.ParseAdvance(*a)
		if err != nil {
			return 0, time.Time{}, err
		}
		advance = d
	}
	var to time.Time
	if body.To != nil {
		to = *body.To
	}
	return advance, to, nil
}

func clockReportOut(rep invite.ClockReport) api.SandboxClock {
	payers, changed := rep.Payers, rep.Changed
	out := api.SandboxClock{Now: rep.Now.UTC(), PayersReconciled: &payers, InvitesChanged: &changed}
	if len(rep.Errors) > 0 {
		out.Errors = &rep.Errors
	}
	return out
}

func (s *server) SandboxSetCloudHealth(ctx context.Context, req api.SandboxSetCloudHealthRequestObject) (api.SandboxSetCloudHealthResponseObject, error) {
	out, err := s.sandboxed(func(sb *invite.Sandbox) (invite.View, error) {
		return sb.SetCloudHealth(ctx, principal(ctx), req.BillingProfileId, req.InviteId,
			string(req.Body.Level), deref(req.Body.PayerAccountId))
	})
	if err != nil {
		return nil, err
	}
	return api.SandboxSetCloudHealth200JSONResponse(out), nil
}

func (s *server) SandboxDeliverCUR(ctx context.Context, req api.SandboxDeliverCURRequestObject) (api.SandboxDeliverCURResponseObject, error) {
	out, err := s.sandboxed(func(sb *invite.Sandbox) (invite.View, error) {
		return sb.DeliverCUR(ctx, principal(ctx), req.BillingProfileId, req.InviteId, req.Body.UnblendedCost)
	})
	if err != nil {
		return nil, err
	}
	return api.SandboxDeliverCUR200JSONResponse(out), nil
}

// prefersYAML reports whether an Accept header asks for YAML rather than JSON.
func prefersYAML(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		switch mt {
		case "application/yaml", "application/x-yaml", "text/yaml":
			return true
		case "application/json":
			return false
		}
	}
	return false
}

func (s *server) GetHealth(ctx context.Context, _ api.GetHealthRequestObject) (api.GetHealthResponseObject, error) {
	mode := api.HealthMode(s.mode)
	return api.GetHealth200JSONResponse{Status: "ok", Mode: &mode}, nil
}

func (s *server) GetReadiness(ctx context.Context, _ api.GetReadinessRequestObject) (api.GetReadinessResponseObject, error) {
	mode := api.HealthMode(s.mode)
	if s.stopping != nil && s.stopping() {
		detail := "shutting down: send new requests to another instance"
		return api.GetReadiness503JSONResponse{Status: "unavailable", Mode: &mode, Detail: &detail}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		detail := "the database is not reachable"
		return api.GetReadiness503JSONResponse{Status: "unavailable", Mode: &mode, Detail: &detail}, nil
	}
	return api.GetReadiness200JSONResponse{Status: "ok", Mode: &mode}, nil
}

func inviteLocation(inv invite.Invite) string {
	return "/billing-profiles/" + inv.BillingProfileID + "/aws-invites/" + inv.ID
}

// inviteList is the list key of a page of invites: its billing profile and filters.
func inviteList(q invite.ListQuery) listKey {
	states := make([]string, 0, len(q.States))
	for _, s := range q.States {
		states = append(states, string(s))
	}
	slices.Sort(states)
	return listOf("invites", q.BillingProfileID, strings.Join(states, ","), q.AccountID, string(q.Kind))
}
