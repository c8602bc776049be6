package sqlcols

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ScanTargets returns the scan targets of r's columns for database/sql, in the order of List: Fields, with every
// time.Time read through Time.
func (c Columns[R]) ScanTargets(r *R) []any {
	dest := c.Fields(r)
	for i, d := range dest {
		if t, ok := d.(*time.Time); ok {
			dest[i] = (*Time)(t)
		}
	}
	return dest
}

// ScanAll reads every row of a query of List (rows and err as QueryContext returns them), and closes rows.
func (c Columns[R]) ScanAll(rows *sql.Rows, err error) ([]R, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []R
	var r R
	dest := c.ScanTargets(&r)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ScanOne reads the row of a query of List; found is false when there is none.
func (c Columns[R]) ScanOne(row *sql.Row) (r R, found bool, err error) {
	err = row.Scan(c.ScanTargets(&r)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, false, nil
	case err != nil:
		return r, false, err
	}
	return r, true, nil
}

// Time reads a timestamp column on both drivers, as UTC: pgx gives a time.Time in the session's zone, SQLite a
// time.Time where it knows the column's declared type and text elsewhere (a RETURNING clause). NULL is the zero
// time.
type Time time.Time

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*t = Time{}
	case time.Time:
		*t = Time(v.UTC())
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("sqlcols: cannot read a time from %T", v)
	}
	return nil
}

// sqliteTime is how the SQLite driver writes a time.Time.
const sqliteTime = "2006-01-02 15:04:05.999999999-07:00"

func (t *Time) parse(s string) error {
	v, err := time.Parse(sqliteTime, s)
	if err != nil {
		return fmt.Errorf("sqlcols: read a time: %w", err)
	}
	*t = Time(v.UTC())
	return nil
}
