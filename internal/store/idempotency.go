package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// IdempotencyRecord is the domain's record of a request sent with an Idempotency-Key.
type IdempotencyRecord = invite.IdempotencyRecord

// ReserveIdempotencyKey claims (scope, key) for a request with the given body hash. When no record exists it
// inserts a reservation and returns it with reserved set; otherwise it returns the existing record, complete or
// still in progress, with reserved unset. Of concurrent reservations of one key exactly one wins: the primary key
// decides, not a read before the write.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, scope, key, requestHash string, now time.Time) (IdempotencyRecord, bool, error) {
	reserved := dbTime(now)
	row := idempotencyRow{Scope: scope, Key: key, RequestHash: requestHash, CreatedAt: reserved, ReservedAt: &reserved}
	// A record seen as existing may be released before it is read; a few rounds settle that race.
	for range 5 {
		res := s.db.WithContext(ctx).
			Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "scope"}, {Name: "key"}}, DoNothing: true}).
			Create(&row)
		if res.Error != nil {
			return IdempotencyRecord{}, false, fmt.Errorf("store: reserve idempotency key: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return row.record(), true, nil
		}
		var existing idempotencyRow
		err := s.db.WithContext(ctx).Where("scope = ? AND key = ?", scope, key).Take(&existing).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue
		}
		if err != nil {
			return IdempotencyRecord{}, false, fmt.Errorf("store: read idempotency key: %w", err)
		}
		return existing.record(), false, nil
	}
	return IdempotencyRecord{}, false, errors.New("store: reserve idempotency key: the key keeps being released")
}

// CompleteIdempotencyKey stores the response of the request that reserved (scope, key). It returns CodeNotFound
// when there is no such reservation (released, or purged).
func (s *Store) CompleteIdempotencyKey(ctx context.Context, scope, key string, status int, location string, body []byte) error {
	if status == 0 {
		return errors.New("store: complete idempotency key: status 0 means in progress")
	}
	if body == nil {
		body = []byte{}
	}
	res := s.db.WithContext(ctx).Model(&idempotencyRow{}).Where("scope = ? AND key = ?", scope, key).
		Updates(map[string]any{"status": status, "location": location, "body": body})
	if res.Error != nil {
		return fmt.Errorf("store: complete idempotency key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return invite.Errorf(invite.CodeNotFound, "idempotency key %q is not reserved", key)
	}
	return nil
}

// ReleaseIdempotencyKey deletes the reservation of (scope, key) after its request failed, so the client may retry
// with the same key. A completed record is kept.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	err := s.db.WithContext(ctx).Where("scope = ? AND key = ? AND status = 0", scope, key).Delete(&idempotencyRow{}).Error
	if err != nil {
		return fmt.Errorf("store: release idempotency key: %w", err)
	}
	return nil
}

// ReclaimIdempotencyKey re-stamps the reservation of (scope, key) with stamp when it is still in progress and was
// stamped before ifBefore, and reports whether it did. A retry takes over the reservation of a request that died
// (stamped before the time any request may run) with stamp now: of concurrent retries exactly one does, since the
// first update moves the stamp past ifBefore. A request that failed without knowing what it left behind marks its
// reservation to be settled by the next retry at once, by stamping it as old as a dead one.
func (s *Store) ReclaimIdempotencyKey(ctx context.Context, scope, key string, ifBefore, stamp time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&idempotencyRow{}).
		Where("scope = ? AND key = ? AND status = 0 AND created_at < ?", scope, key, dbTime(ifBefore)).
		Update("created_at", dbTime(stamp))
	if res.Error != nil {
		return false, fmt.Errorf("store: reclaim idempotency key: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// PurgeIdempotencyKeys deletes records created before the given time and returns how many it deleted.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("created_at < ?", dbTime(before)).Delete(&idempotencyRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: purge idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
