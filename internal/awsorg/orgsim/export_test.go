package orgsim

import (
	"context"
	"fmt"
	"time"
)

// SeedHandshakes adds n handshakes sent by mgmt to the store in one transaction, faster than n calls: they were
// requested 20 days before now and declined the next day, so they are listed and described but count for no
// quota. Account ids start at 7 and handshake ids at h-seed.
func SeedHandshakes(ctx context.Context, s World, mgmt string, n int, now time.Time) error {
	now = now.UTC().Truncate(time.Microsecond)
	return s.transact(ctx, func(t tx) error {
		o, err := t.lockOrg(mgmt, now.Add(-60*24*time.Hour))
		if err != nil {
			return err
		}
		for i := range n {
			h := handshake{ID: fmt.Sprintf("h-seed%010d", i), Action: actionInvite, MgmtID: mgmt, OrgID: o.ID, AccountID: fmt.Sprintf("7%011d", i),
				State: "DECLINED", RequestedAt: now.Add(-20 * 24 * time.Hour), EndedAt: now.Add(-19 * 24 * time.Hour)}
			if err := t.insertHandshake(&h); err != nil {
				return err
			}
		}
		return nil
	})
}
