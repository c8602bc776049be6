package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// stateNames lists the names of the states with a property of the lifecycle table (invite.State.Terminal, ...),
// for SQL lists: the store derives every state list from the domain's table.
func stateNames(property func(invite.State) bool) []string {
	return names(invite.StatesWhere(property))
}

func names(states []invite.State) []string {
	out := make([]string, len(states))
	for i, st := range states {
		out[i] = string(st)
	}
	return out
}

// openInviteIndex is the partial unique index that lets one invite at a time hold an account on a payer (the states where
// invite.State.HoldsAccount): its predicate lists the terminal states, and a test checks that it matches the
// lifecycle table.
const openInviteIndex = "invites_open_account_key"

// PutBillingProfile creates or replaces a billing profile and reports whether it was created. A replacement keeps
// the original creation time. Zero timestamps are stamped with the store's clock.
func (s *Store) PutBillingProfile(ctx context.Context, bp invite.BillingProfile) (invite.BillingProfile, bool, error) {
	return s.putBillingProfile(ctx, bp, invite.IfMatch{})
}

// stamped gives a billing profile's zero timestamps the time now.
func stamped(bp invite.BillingProfile, now time.Time) invite.BillingProfile {
	if bp.CreatedAt.IsZero() {
		bp.CreatedAt = now
	}
	if bp.UpdatedAt.IsZero() {
		bp.UpdatedAt = now
	}
	return bp
}

// putBillingProfile is the write of PutBillingProfile and PutBillingProfileIfMatch: m is checked first, in the
// write's transaction, under the row's lock (checkIfMatch).
func (s *Store) putBillingProfile(ctx context.Context, bp invite.BillingProfile, m invite.IfMatch) (invite.BillingProfile, bool, error) {
	row := profileToRow(stamped(bp, s.now()))
	var created bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.checkIfMatch(tx, row.ID, m); err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			created = true
			return nil
		}
		var current billingProfileRow
		if err := tx.Where("id = ?", row.ID).Take(&current).Error; err != nil {
			return err
		}
		if current.ManagementAccountID != row.ManagementAccountID {
			var holding int64
			if err := tx.Model(&inviteRow{}).Where("billing_profile_id = ? AND state NOT IN ?", row.ID,
				stateNames(invite.State.Terminal)).Count(&holding).Error; err != nil {
				return err
			}
			if holding > 0 {
				return payerChangeRefused(row.ID, int(holding), current.ManagementAccountID)
			}
		}
		return tx.Model(&billingProfileRow{}).Where("id = ?", row.ID).Updates(profileTable.Updates(row)).Error
	})
	var domErr *invite.Error
	if errors.As(err, &domErr) {
		return invite.BillingProfile{}, false, err
	}
	if err != nil {
		return invite.BillingProfile{}, false, fmt.Errorf("store: put billing profile %s: %w", bp.ID, err)
	}
	stored, err := s.BillingProfile(ctx, bp.ID)
	if err != nil {
		return invite.BillingProfile{}, false, err
	}
	return stored, created, nil
}

// ProfilesOfPayer returns the billing profiles that name a management account, ordered by id.
func (s *Store) ProfilesOfPayer(ctx context.Context, managementAccountID string) ([]invite.BillingProfile, error) {
	var rows []billingProfileRow
	if err := s.db.WithContext(ctx).Where("management_account_id = ?", managementAccountID).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: billing profiles of payer %s: %w", managementAccountID, err)
	}
	out := make([]invite.BillingProfile, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// CreateInvite inserts a new invite and its first event in one transaction. A second invite holding the same
// account on the same payer violates the partial unique index; that is CodeAlreadyOpen and nothing is written.
func (s *Store) CreateInvite(ctx context.Context, inv invite.Invite, ev invite.Event) error {
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = s.now()
	}
	if inv.UpdatedAt.IsZero() {
		inv.UpdatedAt = inv.CreatedAt
	}
	row := inviteToRow(inv)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The invite's payer is its billing profile's, as the database has it: the unique index relies on it.
		var bp billingProfileRow
		if err := tx.Select("management_account_id").Where("id = ?", inv.BillingProfileID).Take(&bp).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return invite.Errorf(invite.CodeNotFound, "billing profile %s not found", inv.BillingProfileID)
			}
			return err
		}
		row.Payer, inv.Payer = bp.ManagementAccountID, bp.ManagementAccountID
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := recordHandshake(tx, inv, row.UpdatedAt); err != nil {
			return err
		}
		return s.writeEvents(ctx, tx, row.UpdatedAt, eventOf(ev, inv))
	})
	var domErr *invite.Error
	if errors.As(err, &domErr) {
		return err
	}
	if uniqueViolation(err, openInviteIndex, "invites.payer", "invites.account_id") {
		return alreadyHeld(inv, err)
	}
	if foreignKeyViolation(err) {
		return &invite.Error{
			Code:   invite.CodeNotFound,
			Detail: fmt.Sprintf("billing profile %s not found", inv.BillingProfileID),
			Err:    err,
		}
	}
	if err != nil {
		return fmt.Errorf("store: create invite %s: %w", inv.ID, err)
	}
	return nil
}

// UpdateInvite writes inv if the stored version still equals inv.Version, increments the version and appends ev,
// in one transaction. It returns the invite as stored; on a version mismatch it returns CodeConcurrentUpdate and
// writes nothing (the event neither).
func (s *Store) UpdateInvite(ctx context.Context, inv invite.Invite, ev invite.Event) (invite.Invite, error) {
	if inv.UpdatedAt.IsZero() {
		inv.UpdatedAt = s.now()
	}
	row := inviteToRow(inv)
	// Everything but the create-only columns (id, payer, account, kind, creation time); the billing profile is
	// written as the WHERE clause pins it (a reassignment moves it, in a write of its own).
	cols := inviteTable.Updates(row)
	cols["version"] = gorm.Expr("version + 1")
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&inviteRow{}).
			Where("id = ? AND billing_profile_id = ? AND version = ?", inv.ID, inv.BillingProfileID, inv.Version).
			Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return s.staleOrMissing(tx, inv)
		}
		if err := recordHandshake(tx, inv, row.UpdatedAt); err != nil {
			return err
		}
		return s.writeEvents(ctx, tx, row.UpdatedAt, eventOf(ev, inv)) // none when ev is empty
	})
	var domErr *invite.Error
	if errors.As(err, &domErr) {
		return invite.Invite{}, err
	}
	if uniqueViolation(err, openInviteIndex, "invites.payer", "invites.account_id") {
		return invite.Invite{}, alreadyHeld(inv, err)
	}
	if err != nil {
		return invite.Invite{}, fmt.Errorf("store: update invite %s: %w", inv.ID, err)
	}
	row.Version = inv.Version + 1
	return row.domain(), nil
}

// recordHandshake remembers that the invite has its current handshake, so that handshakes no invite ever had can
// be told apart from those of re-sent invites.
func recordHandshake(tx *gorm.DB, inv invite.Invite, at time.Time) error {
	if inv.Handshake == nil {
		return nil
	}
	return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "handshake_id"}}, DoNothing: true}).
		Create(&inviteHandshakeRow{HandshakeID: inv.Handshake.ID, InviteID: inv.ID, Payer: inv.Payer, RecordedAt: at}).Error
}

// eventOf fills in what an event of an invite says and the caller left out: whose it is, and its public id.
func eventOf(ev invite.Event, inv invite.Invite) invite.Event {
	if ev.Empty() {
		return ev
	}
	if ev.InviteID == "" {
		ev.InviteID = inv.ID
	}
	if ev.BillingProfileID == "" {
		ev.BillingProfileID = inv.BillingProfileID
	}
	if ev.Payer == "" {
		ev.Payer = inv.Payer
	}
	if ev.AccountID == "" {
		ev.AccountID = inv.AccountID
	}
	if ev.PublicID == "" {
		ev.PublicID = uuid.Must(uuid.NewV7()).String()
	}
	return ev
}

func alreadyHeld(inv invite.Invite, err error) *invite.Error {
	return &invite.Error{
		Code:   invite.CodeAlreadyOpen,
		Detail: fmt.Sprintf("account %s is already held by an invite on payer %s", inv.AccountID, inv.Payer),
		Err:    err,
	}
}

// ReassignInvite moves an invite, with its handshakes and history, to another billing profile of the same payer,
// writing out under the profile it leaves and in under the one it joins, in one transaction guarded by the
// invite's version. A target profile of another payer (or a missing one) is CodeDifferentPayer and changes
// nothing.
func (s *Store) ReassignInvite(ctx context.Context, inv invite.Invite, toProfileID string, out, in invite.Event) (invite.Invite, error) {
	now := s.now()
	if !in.At.IsZero() {
		now = dbTime(in.At) // the domain's time (the sandbox's clock, say), like every other change
	}
	moved := inv
	moved.BillingProfileID = toProfileID
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var target billingProfileRow
		err := tx.Where("id = ?", toProfileID).Take(&target).Error
		if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && target.ManagementAccountID != inv.Payer) {
			return differentPayer(toProfileID, inv.Payer)
		}
		if err != nil {
			return err
		}
		res := tx.Model(&inviteRow{}).
			Where("id = ? AND billing_profile_id = ? AND version = ?", inv.ID, inv.BillingProfileID, inv.Version).
			Updates(map[string]any{"billing_profile_id": toProfileID, "updated_at": now, "version": gorm.Expr("version + 1")})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return s.staleOrMissing(tx, inv)
		}
		// The history moves with the invite; the profile it leaves keeps the one event saying it left.
		if err := tx.Model(&eventRow{}).Where("invite_id = ? AND billing_profile_id = ?", inv.ID, inv.BillingProfileID).
			Update("billing_profile_id", toProfileID).Error; err != nil {
			return err
		}
		return s.writeEvents(ctx, tx, now, eventOf(out, inv), eventOf(in, moved))
	})
	var domErr *invite.Error
	if errors.As(err, &domErr) {
		return invite.Invite{}, err
	}
	if err != nil {
		return invite.Invite{}, fmt.Errorf("store: reassign invite %s: %w", inv.ID, err)
	}
	return s.Invite(ctx, toProfileID, inv.ID)
}

// HandshakeOwners returns, for every handshake an invite of the payer has (or had), which invite that is.
func (s *Store) HandshakeOwners(ctx context.Context, payer string) (map[string]invite.HandshakeOwner, error) {
	var rows []struct {
		HandshakeID      string
		InviteID         string
		BillingProfileID string
	}
	err := s.db.WithContext(ctx).Table("invite_handshakes AS h").
		Select("h.handshake_id, h.invite_id, i.billing_profile_id").
		Joins("JOIN invites i ON i.id = h.invite_id").
		Where("h.payer = ?", payer).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: handshakes of payer %s: %w", payer, err)
	}
	out := make(map[string]invite.HandshakeOwner, len(rows))
	for _, r := range rows {
		out[r.HandshakeID] = invite.HandshakeOwner{InviteID: r.InviteID, BillingProfileID: r.BillingProfileID}
	}
	return out, nil
}

// DeleteInvite removes an invite and its events if the stored version still equals inv.Version, and writes
// refusal (unless empty: the event that keeps a refused attempt in the activity feed), in one transaction;
// otherwise it returns CodeConcurrentUpdate (or CodeNotFound) and changes nothing.
func (s *Store) DeleteInvite(ctx context.Context, inv invite.Invite, refusal invite.Event) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("invite_id = ?", inv.ID).Delete(&eventRow{}).Error; err != nil {
			return err
		}
		if err := tx.Where("invite_id = ?", inv.ID).Delete(&inviteHandshakeRow{}).Error; err != nil {
			return err
		}
		res := tx.Where("id = ? AND billing_profile_id = ? AND version = ?", inv.ID, inv.BillingProfileID, inv.Version).
			Delete(&inviteRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return s.staleOrMissing(tx, inv) // rolls back the deleted events too
		}
		if refusal.Empty() {
			return nil
		}
		refusal = eventOf(refusal, inv)
		refusal.InviteID = "" // the invite is gone; the event stays with its profile and account
		return s.writeEvents(ctx, tx, s.now(), refusal)
	})
	var domErr *invite.Error
	if err != nil && !errors.As(err, &domErr) {
		return fmt.Errorf("store: delete invite %s: %w", inv.ID, err)
	}
	return err
}

// staleOrMissing explains why a versioned write matched no row.
func (s *Store) staleOrMissing(tx *gorm.DB, inv invite.Invite) error {
	var n int64
	if err := tx.Model(&inviteRow{}).Where("id = ? AND billing_profile_id = ?", inv.ID, inv.BillingProfileID).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return invite.Errorf(invite.CodeNotFound, "invite %s not found", inv.ID)
	}
	return staleVersion(inv)
}

// staleVersion is the refusal of a write whose invite changed since the version it read.
func staleVersion(inv invite.Invite) error {
	return invite.Errorf(invite.CodeConcurrentUpdate,
		"invite %s was changed by another request since version %d; reload it and try again", inv.ID, inv.Version)
}

// payerChangeRefused is the refusal to move a billing profile that has invites holding accounts to another payer.
func payerChangeRefused(profileID string, holding int, payer string) error {
	return &invite.Error{Code: invite.CodePayerChangeWithOpenInvites, Detail: fmt.Sprintf(
		"billing profile %s has %d invites in progress or joined under payer %s; its management account cannot change until they end (cancel them, or reassign them to another billing profile of that payer)",
		profileID, holding, payer)}
}

// differentPayer is the refusal to reassign an invite to a billing profile of another payer (or a missing one).
func differentPayer(toProfileID, payer string) error {
	return invite.Errorf(invite.CodeDifferentPayer,
		"billing profile %s is not a billing profile of payer %s; an invite moves only between billing profiles of its payer", toProfileID, payer)
}

// HolderOf returns the invite that holds an account on a payer (whatever its billing profile), or CodeNotFound.
func (s *Store) HolderOf(ctx context.Context, payer, accountID string) (invite.Invite, error) {
	var row inviteRow
	err := s.db.WithContext(ctx).
		Where("payer = ? AND account_id = ? AND state NOT IN ?", payer, accountID, stateNames(invite.State.Terminal)).
		Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return invite.Invite{}, invite.Errorf(invite.CodeNotFound, "no invite holds account %s on payer %s", accountID, payer)
	}
	if err != nil {
		return invite.Invite{}, fmt.Errorf("store: get open invite for account %s: %w", accountID, err)
	}
	return row.domain(), nil
}

// payerHolding returns the first of the payers (in their order) where an open or joined invite holds the account.
func (s *Store) payerHolding(ctx context.Context, payers []string, accountID string) (string, bool) {
	var found []string
	err := s.db.WithContext(ctx).Model(&inviteRow{}).
		Where("payer IN ? AND account_id = ? AND state NOT IN ?", payers, accountID, stateNames(invite.State.Terminal)).
		Order("payer").Limit(1).Pluck("payer", &found).Error
	if err != nil || len(found) == 0 {
		return "", false
	}
	return found[0], true
}

// InvitesOfPayer returns the invites in the given states of every billing profile whose payer is the management
// account, oldest first. Reconciliation reads them all at once: one query per payer, whatever the number of invites.
// It is read as the API's GETs are (reads.go), not through GORM: every pass of every payer reads all its open
// invites, and GORM's reflective scanning was a third of a pass's CPU in the database layer.
func (s *Store) InvitesOfPayer(ctx context.Context, managementAccountID string, states []invite.State) ([]invite.Invite, error) {
	return s.invitesIn(ctx, "payer = $1 AND ", []any{managementAccountID}, states, "payer "+managementAccountID)
}

// InvitesInStates returns every invite in the given states, of all billing profiles, oldest first.
func (s *Store) InvitesInStates(ctx context.Context, states []invite.State) ([]invite.Invite, error) {
	return s.invitesIn(ctx, "", nil, states, "all payers")
}

// invitesIn reads the invites that match where (a condition and AND, with its $n arguments args) in the given states.
func (s *Store) invitesIn(ctx context.Context, where string, args []any, states []invite.State, what string) ([]invite.Invite, error) {
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	cond := "FALSE" // no states: nothing, as GORM's empty IN was
	if ns := names(states); len(ns) > 0 {
		cond = "state IN (" + placeholders(arg, ns) + ")"
	}
	var out []invite.Invite
	q := statement{"SELECT " + inviteTable.List + " FROM invites WHERE " + where + cond + " ORDER BY id", args}
	// Each row is scanned into one reused row and kept as the domain's invite, less than half its size: a payer's
	// hundreds of invites, read on every pass, are not held twice nor regrown as rows.
	read := func(next func() bool, row scanner) error {
		var r inviteRow
		dest := r.fields()
		for next() {
			if err := scanRow(row, &invitePlans, dest); err != nil {
				return err
			}
			out = append(out, r.domain())
		}
		return nil
	}
	if err := s.readBatch(ctx, []statement{q}, []func(func() bool, scanner) error{read}); err != nil {
		return nil, fmt.Errorf("store: invites of %s: %w", what, err)
	}
	return out, nil
}

// Payers returns the management accounts of all billing profiles, each once.
func (s *Store) Payers(ctx context.Context) ([]string, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&billingProfileRow{}).Distinct("management_account_id").
		Order("management_account_id").Pluck("management_account_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("store: payers: %w", err)
	}
	return ids, nil
}
