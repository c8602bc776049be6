package sqlcols_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/sqlcols"
)

type row struct {
	Seq     int64     `gorm:"column:seq;<-:false"`
	Key     string    `gorm:"column:k;<-:create"`
	Value   string    `gorm:"column:v"`
	Ended   time.Time `gorm:"column:ended;default:null"`
	PurgeAt time.Time `gorm:"column:purge_at;->:false;<-"`
}

var table = sqlcols.Of[row]()

// The statements and their arguments follow the tags: a sequence is read and never written, a create-only column
// written by the INSERT only, a write-only column never read, and a zero time of a `default:null` column is NULL.
func TestStatementsFollowTheTags(t *testing.T) {
	at := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ got, want any }{
		{table.Names, []string{"seq", "k", "v", "ended"}},
		{table.Updatable, []string{"v", "ended", "purge_at"}},
		{table.Select("t"), "SELECT seq, k, v, ended FROM t"},
		{table.Prefixed("x."), "x.seq, x.k, x.v, x.ended"},
		{table.Insert("t"), "INSERT INTO t (k, v, ended, purge_at) VALUES ($1, $2, $3, $4)"},
		{table.InsertArgs(row{Seq: 7, Key: "a", Value: "b", PurgeAt: at}), []any{"a", "b", nil, at}},
		{table.Update("t", "k", "seq"), "UPDATE t SET v = $1, ended = $2, purge_at = $3 WHERE k = $4 AND seq = $5"},
		{table.UpdateArgs(row{Key: "a", Value: "b", Ended: at, PurgeAt: at}), []any{"b", at, at}},
		{table.Updates(row{Key: "a", Value: "b"}), map[string]any{"v": "b", "ended": nil, "purge_at": time.Time{}}},
		{sqlcols.OnConflictUpdate("k", "v", "ended"), " ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, ended = EXCLUDED.ended"},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("got %#v, want %#v", c.got, c.want)
		}
	}
}

// Scan targets point into the row, in the order of List; times are read through sqlcols.Time.
func TestScanTargets(t *testing.T) {
	var r row
	dest := table.ScanTargets(&r)
	want := []any{&r.Seq, &r.Key, &r.Value, (*sqlcols.Time)(&r.Ended)}
	if !reflect.DeepEqual(dest, want) {
		t.Fatalf("ScanTargets = %#v, want %#v", dest, want)
	}
	if fields := table.Fields(&r); fields[3] != &r.Ended {
		t.Errorf("Fields gives %T for a time, want *time.Time", fields[3])
	}
}

func TestTimeReadsBothDrivers(t *testing.T) {
	want := time.Date(2027, 3, 1, 12, 0, 0, 123456000, time.UTC)
	for name, c := range map[string]struct {
		in   any
		want time.Time
	}{
		"pgx, in the session's zone": {want.In(time.FixedZone("x", 3600)), want},
		"SQLite's text":              {"2027-03-01 13:00:00.123456+01:00", want},
		"SQLite's text as bytes":     {[]byte("2027-03-01 12:00:00.123456+00:00"), want},
		"NULL":                       {nil, time.Time{}},
	} {
		var got sqlcols.Time
		if err := got.Scan(c.in); err != nil || time.Time(got) != c.want {
			t.Errorf("%s: %v %v, want %v", name, time.Time(got), err, c.want)
		}
	}
	var got sqlcols.Time
	if err := got.Scan(int64(1)); err == nil {
		t.Error("an integer reads as a time")
	}
}
