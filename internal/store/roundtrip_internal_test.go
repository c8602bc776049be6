package store

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/sqlcols/sqlcolstest"
	"github.com/cloudreseller/aws-invites/internal/testdb"
)

// Every column of a billing profile and of an invite, filled with distinct values, comes back as written through
// every path that writes or reads it, on both databases: create and update (GORM, their sets derived from the row
// types), the hand-written read path (one invite, an invite with its profile, a page with its profile, a page),
// and GORM's reads (the holder of an account, the invites of a payer).
func TestEveryColumnRoundTrips(t *testing.T) {
	for _, dialect := range []string{DialectPostgres, DialectSQLite} {
		t.Run(dialect, func(t *testing.T) {
			url := t.TempDir() + "/r.db"
			if dialect == DialectPostgres {
				url = testdb.New(t)
			}
			s := openMigrated(t, url)
			ctx := context.Background()

			const payer = "210987654321"
			bpFixed := map[string]any{"id": "bp-roundtrip", "management_account_id": payer}
			bpRow := sqlcolstest.Distinct(profileTable, 1, bpFixed)
			_, created, err := s.PutBillingProfile(ctx, bpRow.domain())
			if err != nil || !created {
				t.Fatalf("create the profile: %v (created %v)", err, created)
			}
			checkProfile := func(step string, want billingProfileRow) {
				t.Helper()
				got, err := s.BillingProfile(ctx, want.ID)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				sameRow(t, step+": BillingProfile", profileToRow(got), want)
				gormRows, err := s.ProfilesOfPayer(ctx, payer)
				if err != nil || len(gormRows) != 1 {
					t.Fatalf("%s: ProfilesOfPayer: %v %v", step, gormRows, err)
				}
				sameRow(t, step+": ProfilesOfPayer", profileToRow(gormRows[0]), want)
			}
			checkProfile("created", bpRow)

			invFixed := map[string]any{"id": "inv-roundtrip", "billing_profile_id": bpRow.ID, "payer": payer,
				"account_id": "123456789012", "kind": string(invite.InviteTransfer), "state": string(invite.StateAwaitingCUR),
				"version": int64(1)}
			invRow := sqlcolstest.Distinct(inviteTable, 1, invFixed)
			if err := s.CreateInvite(ctx, invRow.domain(), invite.Event{}); err != nil {
				t.Fatalf("create the invite: %v", err)
			}
			checkInvite := func(step string, wantBP billingProfileRow, want inviteRow) {
				t.Helper()
				reads := map[string]func() (invite.Invite, error){
					"Invite": func() (invite.Invite, error) { return s.Invite(ctx, want.BillingProfileID, want.ID) },
					"ProfileAndInvite": func() (invite.Invite, error) {
						bp, inv, err := s.ProfileAndInvite(ctx, want.BillingProfileID, want.ID)
						if err == nil && inv == nil {
							err = fmt.Errorf("no invite")
						}
						if err != nil {
							return invite.Invite{}, err
						}
						sameRow(t, step+": ProfileAndInvite's profile", profileToRow(bp), wantBP)
						return *inv, nil
					},
					"ProfileAndPage": func() (invite.Invite, error) {
						bp, page, err := s.ProfileAndPage(ctx, invite.ListQuery{BillingProfileID: want.BillingProfileID})
						if err != nil {
							return invite.Invite{}, err
						}
						sameRow(t, step+": ProfileAndPage's profile", profileToRow(bp), wantBP)
						return onlyInvite(page.Invites)
					},
					"ListInvites by state and kind": func() (invite.Invite, error) {
						page, err := s.ListInvites(ctx, invite.ListQuery{BillingProfileID: want.BillingProfileID,
							States: []invite.State{invite.State(want.State)}, Kind: invite.InviteKind(want.Kind)})
						return onlyInvite(page.Invites, err)
					},
					"HolderOf": func() (invite.Invite, error) { return s.HolderOf(ctx, payer, want.AccountID) },
					"InvitesOfPayer": func() (invite.Invite, error) {
						return onlyInvite(s.InvitesOfPayer(ctx, payer, []invite.State{invite.State(want.State)}))
					},
				}
				for name, read := range reads {
					got, err := read()
					if err != nil {
						t.Fatalf("%s: %s: %v", step, name, err)
					}
					sameRow(t, step+": "+name, inviteToRow(got), want)
				}
			}
			checkInvite("created", bpRow, invRow)

			// An update writes every column but the create-only ones, which keep what the create wrote.
			next := sqlcolstest.Distinct(inviteTable, 2, map[string]any{"billing_profile_id": bpRow.ID,
				"kind": string(invite.InviteTransfer), "state": string(invite.StateActive), "version": int64(1)})
			for _, col := range []string{"id", "payer", "account_id", "kind", "created_at"} {
				if slices.Contains(inviteTable.Updatable, col) {
					t.Errorf("an update may write %s", col)
				}
			}
			stored, err := s.UpdateInvite(ctx, next.domain(), invite.Event{})
			if !invite.IsCode(err, invite.CodeNotFound) {
				t.Fatalf("an update of another invite id: %v %+v", err, stored)
			}
			next.ID, next.Payer, next.AccountID, next.CreatedAt = invRow.ID, invRow.Payer, invRow.AccountID, invRow.CreatedAt
			stored, err = s.UpdateInvite(ctx, next.domain(), invite.Event{})
			if err != nil {
				t.Fatalf("update the invite: %v", err)
			}
			next.Version = 2
			sameRow(t, "UpdateInvite's answer", inviteToRow(stored), next)
			checkInvite("updated", bpRow, next)

			// A billing profile's replacement writes every column but its id and creation time.
			bpNext := sqlcolstest.Distinct(profileTable, 2, bpFixed)
			if _, created, err := s.PutBillingProfile(ctx, bpNext.domain()); err != nil || created {
				t.Fatalf("replace the profile: %v (created %v)", err, created)
			}
			bpNext.CreatedAt = bpRow.CreatedAt
			checkProfile("replaced", bpNext)
			checkInvite("profile replaced", bpNext, next)
		})
	}
}

func onlyInvite(invs []invite.Invite, errs ...error) (invite.Invite, error) {
	for _, err := range errs {
		if err != nil {
			return invite.Invite{}, err
		}
	}
	if len(invs) != 1 {
		return invite.Invite{}, fmt.Errorf("%d invites, want 1", len(invs))
	}
	return invs[0], nil
}

// sameRow reports each column whose value differs.
func sameRow[R any](t *testing.T, what string, got, want R) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if gt, ok := deref(gf).(time.Time); ok {
			if wt, ok := deref(wf).(time.Time); ok && gt.Equal(wt) {
				continue
			}
		}
		if !reflect.DeepEqual(deref(gf), deref(wf)) {
			t.Errorf("%s: %s = %v, want %v", what, g.Type().Field(i).Name, deref(gf), deref(wf))
		}
	}
}

func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return rv.Elem().Interface()
	}
	return v
}
