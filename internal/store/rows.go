package store

import (
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// The row types mirror the tables of the migrations, each the one declaration of its table's columns: GORM maps
// and writes them, the read path's SELECT lists and scan targets and the update sets are derived from them
// (internal/sqlcols). A field tagged `<-:create` (GORM's create-only permission) is written once, with the row,
// and never by an update: GORM itself refuses to. The domain
// never sees the rows. Timestamps are written as the domain gave them (normalised by dbTime), never stamped by GORM
// behind the domain's back.

type billingProfileRow struct {
	ID                  string    `gorm:"column:id;primaryKey;<-:create"`
	CustomerID          string    `gorm:"column:customer_id"`
	Name                string    `gorm:"column:name"`
	ManagementAccountID string    `gorm:"column:management_account_id"`
	RoleARN             string    `gorm:"column:role_arn"`
	ExternalID          string    `gorm:"column:external_id"`
	CURBucket           string    `gorm:"column:cur_bucket"`
	CURPrefix           string    `gorm:"column:cur_prefix"`
	CURReport           string    `gorm:"column:cur_report"`
	CURFormat           string    `gorm:"column:cur_format"`
	CloudHealthClientID string    `gorm:"column:cloudhealth_client_api_id"`
	BillingGroupARN     string    `gorm:"column:billing_group_arn"`
	CreatedAt           time.Time `gorm:"column:created_at;autoCreateTime:false;<-:create"`
	UpdatedAt           time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (billingProfileRow) TableName() string { return "billing_profiles" }

type inviteRow struct {
	ID                   string     `gorm:"column:id;primaryKey;<-:create"`
	BillingProfileID     string     `gorm:"column:billing_profile_id"`
	Payer                string     `gorm:"column:payer;<-:create"`
	AccountID            string     `gorm:"column:account_id;<-:create"`
	Notes                string     `gorm:"column:notes"`
	State                string     `gorm:"column:state"`
	HandshakeID          *string    `gorm:"column:handshake_id"`
	HandshakeState       *string    `gorm:"column:handshake_state"`
	HandshakeRequestedAt *time.Time `gorm:"column:handshake_requested_at"`
	HandshakeExpiresAt   *time.Time `gorm:"column:handshake_expires_at"`
	InvitedByKind        string     `gorm:"column:invited_by_kind"`
	InvitedBySubject     string     `gorm:"column:invited_by_subject"`
	InvitedByEmail       string     `gorm:"column:invited_by_email"`
	CreatedAt            time.Time  `gorm:"column:created_at;autoCreateTime:false;<-:create"`
	UpdatedAt            time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
	LastSentAt           *time.Time `gorm:"column:last_sent_at"`
	JoinedAt             *time.Time `gorm:"column:joined_at"`
	Version              int64      `gorm:"column:version"`
	CloudHealthLevel     string     `gorm:"column:cloudhealth_level"`
	CloudHealthPayer     string     `gorm:"column:cloudhealth_payer"`
	CloudHealthListed    bool       `gorm:"column:cloudhealth_listed"`
	CloudHealthCheckedAt *time.Time `gorm:"column:cloudhealth_checked_at"`
	CloudHealthPayerName string     `gorm:"column:cloudhealth_payer_name"`
	CloudHealthReason    string     `gorm:"column:cloudhealth_payer_reason"`
	CloudHealthUpdate    *time.Time `gorm:"column:cloudhealth_last_update"`
	CURSeenAt            *time.Time `gorm:"column:cur_seen_at"`
	CURPeriod            string     `gorm:"column:cur_period"`
	CURLineItems         int64      `gorm:"column:cur_line_items"`
	CURCost              string     `gorm:"column:cur_cost"`
	CURFirstUsage        *time.Time `gorm:"column:cur_first_usage"`
	CURLastUsage         *time.Time `gorm:"column:cur_last_usage"`
	CURPeriodFirstSeen   *time.Time `gorm:"column:cur_period_first_seen"`
	OrgID                string     `gorm:"column:org_id"`
	OrgManagementID      string     `gorm:"column:org_management_account_id"`
	OrgManagementEmail   string     `gorm:"column:org_management_email"`
	OrgManagementName    string     `gorm:"column:org_management_name"`
	ExpiryWarnedFor      string     `gorm:"column:expiry_warned_for"`
	Kind                 string     `gorm:"column:kind;<-:create"`
	TransferID           string     `gorm:"column:transfer_id"`
	TransferStatus       string     `gorm:"column:transfer_status"`
	TransferName         string     `gorm:"column:transfer_name"`
	TransferStart        *time.Time `gorm:"column:transfer_start"`
	TransferEnd          *time.Time `gorm:"column:transfer_end"`

	AccountState          string     `gorm:"column:account_state"`
	DepartedAt            *time.Time `gorm:"column:departed_at"`
	DepartureMethod       string     `gorm:"column:departure_method"`
	DepartureAccountState string     `gorm:"column:departure_account_state"`

	QueueReason       string     `gorm:"column:queue_reason"`
	QueueMode         string     `gorm:"column:queue_mode"`
	QueuePosition     int64      `gorm:"column:queue_position"`
	QueueScheduledFor *time.Time `gorm:"column:queue_scheduled_for"`

	BillingGroupARN           string     `gorm:"column:billing_group_arn"`
	BillingGroupState         string     `gorm:"column:billing_group_state"`
	BillingGroupAssociatedAt  *time.Time `gorm:"column:billing_group_associated_at"`
	BillingGroupProblemCode   string     `gorm:"column:billing_group_problem_code"`
	BillingGroupProblemDetail string     `gorm:"column:billing_group_problem_detail"`
	BillingGroupProblemSince  *time.Time `gorm:"column:billing_group_problem_since"`

	BillingDataState      string     `gorm:"column:billing_data_state"`
	BillingDataLastReport *time.Time `gorm:"column:billing_data_last_report"`
	BillingDataThrough    *time.Time `gorm:"column:billing_data_through"`
	BillingDataExpectedBy *time.Time `gorm:"column:billing_data_expected_by"`
}

func (inviteRow) TableName() string { return "invites" }

type eventRow struct {
	ID               int64     `gorm:"column:id;primaryKey;autoIncrement"`
	EventID          string    `gorm:"column:event_id"`
	Type             string    `gorm:"column:type"`
	InviteID         *string   `gorm:"column:invite_id"`
	BillingProfileID string    `gorm:"column:billing_profile_id"`
	Payer            string    `gorm:"column:payer"`
	AccountID        string    `gorm:"column:account_id"`
	At               time.Time `gorm:"column:at"`
	ActorKind        string    `gorm:"column:actor_kind"`
	ActorSubject     string    `gorm:"column:actor_subject"`
	ActorEmail       string    `gorm:"column:actor_email"`
	FromState        string    `gorm:"column:from_state"`
	ToState          string    `gorm:"column:to_state"`
	Reason           string    `gorm:"column:reason"`
	Code             string    `gorm:"column:code"`
	Snapshot         *string   `gorm:"column:snapshot"`
}

func (eventRow) TableName() string { return "events" }

type inviteHandshakeRow struct {
	HandshakeID string    `gorm:"column:handshake_id;primaryKey"`
	InviteID    string    `gorm:"column:invite_id"`
	Payer       string    `gorm:"column:payer"`
	RecordedAt  time.Time `gorm:"column:recorded_at"`
}

func (inviteHandshakeRow) TableName() string { return "invite_handshakes" }

type idempotencyRow struct {
	Scope       string    `gorm:"column:scope;primaryKey"`
	Key         string    `gorm:"column:key;primaryKey"`
	RequestHash string    `gorm:"column:request_hash"`
	Status      int       `gorm:"column:status"`
	Location    string    `gorm:"column:location"`
	Body        []byte    `gorm:"column:body"`
	CreatedAt   time.Time `gorm:"column:created_at;autoCreateTime:false"`
	// ReservedAt is when the first request reserved the key; a take-over re-stamps CreatedAt only (00016).
	ReservedAt *time.Time `gorm:"column:reserved_at"`
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

func profileToRow(bp invite.BillingProfile) billingProfileRow {
	return billingProfileRow{
		ID:                  bp.ID,
		CustomerID:          bp.CustomerID,
		Name:                bp.Name,
		ManagementAccountID: bp.ManagementAccountID,
		RoleARN:             bp.RoleARN,
		ExternalID:          bp.ExternalID,
		CURBucket:           bp.CUR.Bucket,
		CURPrefix:           bp.CUR.Prefix,
		CURReport:           bp.CUR.Report,
		CURFormat:           bp.CUR.Format,
		CloudHealthClientID: bp.CloudHealthClientID,
		BillingGroupARN:     bp.BillingGroupARN,
		CreatedAt:           dbTime(bp.CreatedAt),
		UpdatedAt:           dbTime(bp.UpdatedAt),
	}
}

func (r billingProfileRow) domain() invite.BillingProfile {
	return invite.BillingProfile{
		ID:                  r.ID,
		CustomerID:          r.CustomerID,
		Name:                r.Name,
		ManagementAccountID: r.ManagementAccountID,
		RoleARN:             r.RoleARN,
		ExternalID:          r.ExternalID,
		CUR:                 invite.CURLocation{Bucket: r.CURBucket, Prefix: r.CURPrefix, Report: r.CURReport, Format: r.CURFormat},
		CloudHealthClientID: r.CloudHealthClientID,
		BillingGroupARN:     r.BillingGroupARN,
		CreatedAt:           r.CreatedAt.UTC(),
		UpdatedAt:           r.UpdatedAt.UTC(),
	}
}

func inviteToRow(inv invite.Invite) inviteRow {
	r := inviteRow{
		ID:               inv.ID,
		BillingProfileID: inv.BillingProfileID,
		Payer:            inv.Payer,
		AccountID:        inv.AccountID,
		Notes:            inv.Notes,
		State:            string(inv.State),
		InvitedByKind:    string(inv.InvitedBy.Kind),
		InvitedBySubject: inv.InvitedBy.Subject,
		InvitedByEmail:   inv.InvitedBy.Email,
		CreatedAt:        dbTime(inv.CreatedAt),
		UpdatedAt:        dbTime(inv.UpdatedAt),
		LastSentAt:       optionalTime(inv.LastSentAt),
		Version:          inv.Version,
		ExpiryWarnedFor:  inv.ExpiryWarnedFor,
		Kind:             string(inv.Kind.OrJoin()),
		AccountState:     inv.AccountState,
	}
	if g := inv.BillingGroup; g != nil {
		r.BillingGroupARN, r.BillingGroupState, r.BillingGroupAssociatedAt = g.ARN, string(g.State), optionalTime(g.AssociatedAt)
		if p := g.Problem; p != nil {
			r.BillingGroupProblemCode, r.BillingGroupProblemDetail, r.BillingGroupProblemSince = string(p.Code), p.Detail, optionalTime(p.Since)
		}
	}
	if d := inv.Departure; d != nil {
		r.DepartedAt, r.DepartureMethod, r.DepartureAccountState = optionalTime(d.NoticedAt), d.Method, d.LastAccountState
	}
	if q := inv.Queue; q != nil {
		r.QueueReason, r.QueueMode, r.QueuePosition, r.QueueScheduledFor = string(q.Reason), string(q.Mode), int64(q.Position), optionalTime(q.ScheduledFor)
	}
	if t := inv.Transfer; t != nil {
		r.TransferID, r.TransferStatus, r.TransferName = t.ID, string(t.Status), t.Name
		r.TransferStart, r.TransferEnd = optionalTime(t.StartAt), optionalTime(t.EndAt)
	}
	if inv.JoinedAt != nil {
		r.JoinedAt = optionalTime(*inv.JoinedAt)
	}
	if inv.CURSeenAt != nil {
		r.CURSeenAt = optionalTime(*inv.CURSeenAt)
	}
	if b := inv.BillingData; b != nil {
		r.BillingDataState = string(b.State)
		r.BillingDataLastReport, r.BillingDataThrough, r.BillingDataExpectedBy = optionalTime(b.LastReportAt), optionalTime(b.DataThrough), optionalTime(b.NextReportExpectedBy)
	}
	if c := inv.CUR; c != nil {
		r.CURPeriod, r.CURLineItems, r.CURCost = c.BillingPeriod, c.LineItems, c.UnblendedCost
		r.CURFirstUsage, r.CURLastUsage = optionalTime(c.FirstUsageAt), optionalTime(c.LastUsageAt)
		r.CURPeriodFirstSeen = optionalTime(c.FirstSeenAt)
	}
	if ch := inv.CloudHealth; ch != nil {
		r.CloudHealthLevel, r.CloudHealthPayer, r.CloudHealthListed = ch.Level, ch.PayerAccountID, ch.Listed
		r.CloudHealthCheckedAt = optionalTime(ch.CheckedAt)
		r.CloudHealthPayerName, r.CloudHealthReason = ch.PayerName, ch.PayerReason
		r.CloudHealthUpdate = optionalTime(ch.LastUpdate)
	}
	if h := inv.Handshake; h != nil {
		id, state := h.ID, string(h.State)
		r.HandshakeID, r.HandshakeState = &id, &state
		r.HandshakeRequestedAt = optionalTime(h.RequestedAt)
		r.HandshakeExpiresAt = optionalTime(h.ExpiresAt)
		if o := h.Organization; o != nil {
			r.OrgID, r.OrgManagementID, r.OrgManagementEmail, r.OrgManagementName = o.ID, o.ManagementAccountID, o.ManagementEmail, o.ManagementName
		}
	}
	return r
}

func (r inviteRow) domain() invite.Invite {
	inv := invite.Invite{
		ID:               r.ID,
		BillingProfileID: r.BillingProfileID,
		Payer:            r.Payer,
		AccountID:        r.AccountID,
		Notes:            r.Notes,
		State:            invite.State(r.State),
		InvitedBy: invite.Actor{
			Kind:    invite.ActorKind(r.InvitedByKind),
			Subject: r.InvitedBySubject,
			Email:   r.InvitedByEmail,
		},
		CreatedAt:       r.CreatedAt.UTC(),
		UpdatedAt:       r.UpdatedAt.UTC(),
		LastSentAt:      valueTime(r.LastSentAt),
		Version:         r.Version,
		ExpiryWarnedFor: r.ExpiryWarnedFor,
		Kind:            invite.InviteKind(r.Kind).OrJoin(),
		AccountState:    r.AccountState,
	}
	if r.BillingGroupState != "" {
		inv.BillingGroup = &invite.BillingGroupLink{ARN: r.BillingGroupARN, State: invite.BillingGroupState(r.BillingGroupState),
			AssociatedAt: valueTime(r.BillingGroupAssociatedAt)}
		if r.BillingGroupProblemCode != "" {
			inv.BillingGroup.Problem = &invite.GroupProblem{Code: invite.Code(r.BillingGroupProblemCode), Detail: r.BillingGroupProblemDetail,
				Since: valueTime(r.BillingGroupProblemSince)}
		}
	}
	if r.DepartedAt != nil {
		inv.Departure = &invite.Departure{NoticedAt: r.DepartedAt.UTC(), Method: r.DepartureMethod, LastAccountState: r.DepartureAccountState}
	}
	if r.QueueReason != "" {
		inv.Queue = &invite.QueueSlot{Reason: invite.QueueReason(r.QueueReason), Mode: invite.QueueMode(r.QueueMode),
			Position: int(r.QueuePosition), ScheduledFor: valueTime(r.QueueScheduledFor)}
	}
	if r.TransferStart != nil {
		inv.Transfer = &invite.Transfer{ID: r.TransferID, Status: invite.TransferStatus(r.TransferStatus), Name: r.TransferName,
			SourceManagementAccountID: r.AccountID, StartAt: valueTime(r.TransferStart), EndAt: valueTime(r.TransferEnd)}
	}
	if r.JoinedAt != nil {
		t := r.JoinedAt.UTC()
		inv.JoinedAt = &t
	}
	if r.CURSeenAt != nil {
		t := r.CURSeenAt.UTC()
		inv.CURSeenAt = &t
	}
	if r.BillingDataState != "" {
		inv.BillingData = &invite.BillingData{State: invite.BillingDataState(r.BillingDataState), LastReportAt: valueTime(r.BillingDataLastReport),
			DataThrough: valueTime(r.BillingDataThrough), NextReportExpectedBy: valueTime(r.BillingDataExpectedBy)}
	}
	if r.CURPeriod != "" {
		inv.CUR = &invite.CURUsage{BillingPeriod: r.CURPeriod, LineItems: r.CURLineItems, UnblendedCost: r.CURCost,
			FirstUsageAt: valueTime(r.CURFirstUsage), LastUsageAt: valueTime(r.CURLastUsage), FirstSeenAt: valueTime(r.CURPeriodFirstSeen)}
	}
	if r.CloudHealthCheckedAt != nil {
		inv.CloudHealth = &invite.CloudHealthStatus{Level: r.CloudHealthLevel, PayerAccountID: r.CloudHealthPayer,
			Listed: r.CloudHealthListed, CheckedAt: r.CloudHealthCheckedAt.UTC(), PayerName: r.CloudHealthPayerName,
			PayerReason: r.CloudHealthReason, LastUpdate: valueTime(r.CloudHealthUpdate)}
	}
	if r.HandshakeID != nil {
		h := &invite.Handshake{
			ID:          *r.HandshakeID,
			AccountID:   r.AccountID, // the handshake's ACCOUNT party is the invited account
			RequestedAt: valueTime(r.HandshakeRequestedAt),
			ExpiresAt:   valueTime(r.HandshakeExpiresAt),
		}
		if r.HandshakeState != nil {
			h.State = invite.HandshakeState(*r.HandshakeState)
		}
		*h = invite.InviteKind(r.Kind).StoredHandshake(*h, r.TransferID)
		if r.OrgID != "" {
			h.Organization = &invite.Organization{ID: r.OrgID, ManagementAccountID: r.OrgManagementID,
				ManagementEmail: r.OrgManagementEmail, ManagementName: r.OrgManagementName}
		}
		inv.Handshake = h
	}
	return inv
}

func eventToRow(ev invite.Event) eventRow {
	r := eventRow{
		EventID:          ev.PublicID,
		Type:             string(ev.Type),
		BillingProfileID: ev.BillingProfileID,
		Payer:            ev.Payer,
		AccountID:        ev.AccountID,
		At:               dbTime(ev.At),
		ActorKind:        string(ev.Actor.Kind),
		ActorSubject:     ev.Actor.Subject,
		ActorEmail:       ev.Actor.Email,
		FromState:        string(ev.From),
		ToState:          string(ev.To),
		Reason:           ev.Reason,
		Code:             string(ev.Code),
	}
	if ev.InviteID != "" {
		id := ev.InviteID
		r.InviteID = &id
	}
	if ev.Snapshot != nil {
		snap := string(ev.Snapshot)
		r.Snapshot = &snap
	}
	return r
}

func (r eventRow) domain() invite.Event {
	ev := invite.Event{
		ID:               r.ID,
		PublicID:         r.EventID,
		Type:             invite.EventType(r.Type),
		BillingProfileID: r.BillingProfileID,
		Payer:            r.Payer,
		AccountID:        r.AccountID,
		At:               r.At.UTC(),
		Actor: invite.Actor{
			Kind:    invite.ActorKind(r.ActorKind),
			Subject: r.ActorSubject,
			Email:   r.ActorEmail,
		},
		From:   invite.State(r.FromState),
		To:     invite.State(r.ToState),
		Reason: r.Reason,
		Code:   invite.Code(r.Code),
	}
	if r.InviteID != nil {
		ev.InviteID = *r.InviteID
	}
	if r.Snapshot != nil {
		ev.Snapshot = []byte(*r.Snapshot)
	}
	return ev
}

func (r idempotencyRow) record() IdempotencyRecord {
	if r.Status != 0 && r.Body == nil {
		r.Body = []byte{} // SQLite reads an empty blob back as NULL; PostgreSQL does not
	}
	return IdempotencyRecord{
		Scope:       r.Scope,
		Key:         r.Key,
		RequestHash: r.RequestHash,
		Status:      r.Status,
		Location:    r.Location,
		Body:        r.Body,
		CreatedAt:   r.CreatedAt.UTC(),
		ReservedAt:  valueTime(r.ReservedAt),
	}
}

// optionalTime stores the zero time as NULL, so "never" reads back as the zero time on both dialects.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = dbTime(t)
	return &t
}

func valueTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
