package orgsim

import (
	"context"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/sqlcols/sqlcolstest"
	"github.com/cloudreseller/aws-invites/internal/store"
	"github.com/cloudreseller/aws-invites/internal/store/storetest"
)

// Every column of every table of the SQL store, filled with distinct values, comes back as written through each of
// the store's reads of it, on both databases; an upsert overwrites every column but the key, an update writes its
// columns and keeps the create-only ones, and a zero time of a nullable column is stored as NULL.
func TestSQLStoreRoundTrips(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			s := NewSQLStore(storetest.Open(t, dialect, store.Options{}).SQLDB())
			for name, test := range map[string]func(*testing.T, stepFunc){"organizations": orgsRoundTrip,
				"members": membersRoundTrip, "accounts": accountsRoundTrip, "handshakes": handshakesRoundTrip,
				"transfers": transfersRoundTrip} {
				t.Run(name, func(t *testing.T) {
					test(t, func(step string, fn func(x tx) error) {
						t.Helper()
						if err := s.transact(context.Background(), fn); err != nil {
							t.Fatalf("%s: %v", step, err)
						}
					})
				})
			}
		})
	}
}

// stepFunc runs one step in a transaction of its own, as the simulator's operations do.
type stepFunc func(step string, fn func(x tx) error)

// found fails the test unless a read found its row.
func found[T any](t *testing.T, what string, v T, ok bool, err error) T {
	t.Helper()
	if err != nil || !ok {
		t.Fatalf("%s: found %v, %v", what, ok, err)
	}
	return v
}

func orgsRoundTrip(t *testing.T, in stepFunc) {
	// The organization id is derived from the management account; every other column is the caller's.
	want := sqlcolstest.Distinct(orgTable, 1, nil).domain()
	want.ID = orgIDFor(want.MgmtID)
	other := sqlcolstest.Distinct(orgTable, 2, nil).domain()
	other.ID = orgIDFor(other.MgmtID)
	later := other.CreatedAt.Add(time.Hour)
	// Each step in order, and in a transaction of its own: the first of each organization creates it.
	for _, step := range []struct {
		name string
		call func(x tx) (org, error)
		want org
	}{
		{"lockOrg creates", func(x tx) (org, error) { return x.lockOrg(want.MgmtID, want.CreatedAt) }, want},
		{"lockOrg finds", func(x tx) (org, error) { return x.lockOrg(want.MgmtID, later) }, want},
		{"org finds", func(x tx) (org, error) { return x.org(want.MgmtID, later) }, want},
		{"org creates", func(x tx) (org, error) { return x.org(other.MgmtID, other.CreatedAt) }, other},
		{"lockOrg finds it", func(x tx) (org, error) { return x.lockOrg(other.MgmtID, later) }, other},
	} {
		in(step.name, func(x tx) error {
			got, err := step.call(x)
			sqlcolstest.Same(t, step.name, got, step.want)
			return err
		})
	}
}

func membersRoundTrip(t *testing.T, in stepFunc) {
	first := sqlcolstest.Distinct(memberTable, 1, nil).domain()
	// The same account joins another organization: every column but the key is overwritten.
	moved := sqlcolstest.Distinct(memberTable, 2, map[string]any{"account_id": first.AccountID}).domain()
	for _, want := range []member{first, moved} {
		in("put "+want.MgmtID, func(x tx) error { return x.putMember(want) })
		in("read "+want.MgmtID, func(x tx) error {
			m, ok, err := x.member(want.AccountID)
			sqlcolstest.Same(t, "member", found(t, "member", m, ok, err), want)
			list, err := x.listMembers(want.MgmtID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			sqlcolstest.Same(t, "listMembers", list, []member{want})
			return nil
		})
	}
	in("the former organization", func(x tx) error {
		list, err := x.listMembers(first.MgmtID, "", 10)
		if err != nil || len(list) != 0 {
			t.Errorf("listMembers of the former organization: %v %v", list, err)
		}
		return nil
	})
}

func accountsRoundTrip(t *testing.T, in stepFunc) {
	first := sqlcolstest.Distinct(accountTable, 1, nil)
	id := first.AccountID
	replaced := sqlcolstest.Distinct(accountTable, 2, map[string]any{"account_id": id})
	added := sqlcolstest.Distinct(accountTable, 3, nil)
	check := func(step, id string, want accountRow) {
		t.Helper()
		in(step, func(x tx) error {
			a, ok, err := x.account(id)
			sqlcolstest.Same(t, step, found(t, step, a, ok, err), want.domain())
			return nil
		})
	}
	in("putAccount", func(x tx) error { return x.putAccount(id, first.domain()) })
	check("put", id, first)
	in("putAccount again", func(x tx) error { return x.putAccount(id, replaced.domain()) })
	check("put again", id, replaced)
	add := func(id string, a Account, want bool) {
		in("addAccount", func(x tx) error {
			did, err := x.addAccount(id, a)
			if err != nil || did != want {
				t.Errorf("addAccount %s: %v %v, want %v", id, did, err, want)
			}
			return nil
		})
	}
	add(added.AccountID, added.domain(), true)
	check("added", added.AccountID, added)
	add(added.AccountID, replaced.domain(), false)
	check("added again", added.AccountID, added)
}

func handshakesRoundTrip(t *testing.T, in stepFunc) {
	h := sqlcolstest.Distinct(handshakeTable, 1, map[string]any{"state": "OPEN"}).domain()
	in("insert", func(x tx) error { return x.insertHandshake(&h) })
	checkHandshake(t, in, "inserted", h, true)

	// An update writes the state and the end, whatever else its handshake says.
	next := sqlcolstest.Distinct(handshakeTable, 2, map[string]any{"id": h.ID, "state": "DECLINED"}).domain()
	in("update", func(x tx) error { return x.updateHandshake(next) })
	want := h
	want.State, want.EndedAt = next.State, next.EndedAt
	checkHandshake(t, in, "updated", want, false)

	// Zero times of the nullable columns are NULL; a row without an expiry is written with the one it has.
	zero := sqlcolstest.Distinct(handshakeTable, 3, map[string]any{"state": "OPEN", "ended_at": time.Time{},
		"expires_at": time.Time{}, "transfer_start": time.Time{}}).domain()
	in("insert zero times", func(x tx) error { return x.insertHandshake(&zero) })
	want = zero
	want.Expires = zero.expiresAt()
	checkHandshake(t, in, "zero times", want, true)
	in("NULLs", func(x tx) error {
		n, err := x.(*sqlTx).count(`SELECT count(*) FROM orgsim_handshakes WHERE id = $1 AND ended_at IS NULL AND transfer_start IS NULL`, zero.ID)
		if err != nil || n != 1 {
			t.Errorf("the zero times are not NULL: %d %v", n, err)
		}
		return nil
	})
}

// checkHandshake reads the handshake through every read of the store: by id, as the open one when it is, and in
// its organization's lists while it is not purged, which it is at purgeAt.
func checkHandshake(t *testing.T, in stepFunc, step string, want handshake, open bool) {
	t.Helper()
	in(step, func(x tx) error {
		h, ok, err := x.handshake(want.ID)
		sqlcolstest.Same(t, step+": handshake", found(t, step+": handshake", h, ok, err), want)
		h, ok, err = x.openHandshake(want.MgmtID, want.Action, want.AccountID)
		switch {
		case err != nil || ok != open:
			t.Errorf("%s: openHandshake: found %v, %v", step, ok, err)
		case open:
			sqlcolstest.Same(t, step+": openHandshake", h, want)
		}
		purged := want.purgeAt()
		for _, action := range []string{"", want.Action} {
			list, err := x.listHandshakes(want.MgmtID, action, 0, purged.Add(-time.Microsecond), 10)
			if err != nil {
				t.Fatal(err)
			}
			sqlcolstest.Same(t, step+": listHandshakes "+action, list, []handshake{want})
			if list, err := x.listHandshakes(want.MgmtID, action, 0, purged, 10); err != nil || len(list) != 0 {
				t.Errorf("%s: listHandshakes %s once purged: %v %v", step, action, list, err)
			}
		}
		return nil
	})
}

func transfersRoundTrip(t *testing.T, in stepFunc) {
	r := sqlcolstest.Distinct(transferTable, 1, map[string]any{"status": "REQUESTED"}).domain()
	in("insert", func(x tx) error { return x.insertTransfer(&r) })
	checkTransfer(t, in, "inserted", r, time.Time{})

	// An update writes the status and the end, whatever else its transfer says.
	next := sqlcolstest.Distinct(transferTable, 2, map[string]any{"id": r.ID, "status": "WITHDRAWN"}).domain()
	in("update", func(x tx) error { return x.updateTransfer(next) })
	want := r
	want.Status, want.EndAt = next.Status, next.EndAt
	checkTransfer(t, in, "updated", want, want.EndAt)

	zero := sqlcolstest.Distinct(transferTable, 3, map[string]any{"status": "ACCEPTED", "end_at": time.Time{}}).domain()
	in("insert without an end", func(x tx) error { return x.insertTransfer(&zero) })
	checkTransfer(t, in, "without an end", zero, time.Time{})
	in("NULL", func(x tx) error {
		n, err := x.(*sqlTx).count(`SELECT count(*) FROM orgsim_transfers WHERE id = $1 AND end_at IS NULL`, zero.ID)
		if err != nil || n != 1 {
			t.Errorf("the zero end is not NULL: %d %v", n, err)
		}
		return nil
	})
}

// checkTransfer reads the transfer through every read of the store: by id, in the lists of both sides, and among
// its source's live transfers (until ends, when it is withdrawn).
func checkTransfer(t *testing.T, in stepFunc, step string, want transfer, ends time.Time) {
	t.Helper()
	in(step, func(x tx) error {
		r, ok, err := x.transfer(want.ID)
		sqlcolstest.Same(t, step+": transfer", found(t, step+": transfer", r, ok, err), want)
		for side, account := range map[string]string{"source": want.SourceID, "target": want.TargetID} {
			list, err := x.listTransfers(side, account, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			sqlcolstest.Same(t, step+": listTransfers "+side, list, []transfer{want})
		}
		since := want.CreatedAt
		if !ends.IsZero() {
			since = ends.Add(-time.Microsecond)
		}
		live, err := x.liveTransfers(want.SourceID, since)
		if err != nil {
			t.Fatal(err)
		}
		sqlcolstest.Same(t, step+": liveTransfers", live, []transfer{want})
		if !ends.IsZero() {
			if live, err := x.liveTransfers(want.SourceID, ends); err != nil || len(live) != 0 {
				t.Errorf("%s: liveTransfers once ended: %v %v", step, live, err)
			}
		}
		return nil
	})
}
