package store

import (
	"context"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/sqlcols"
)

// The read path of the API's GETs, written by hand: what a request reads, it reads in one round trip (the
// billing profile it authorizes against, and the invite or the page), in SQL whose plans are checked by
// TestListPlansAreIndexRangeScans. Measured with scripts/bench-read, GORM's statement building and reflective
// scanning, and a second round trip for the profile, were most of a GET's time in the database layer
// (docs/read-path.md). Writes keep GORM.
//
// A GET of an invite that exists is one statement joining the invite and its profile; a page is the profile and
// the page's statement sent as one batch. On PostgreSQL the statements go straight to pgx's pool, which prepares
// each once per connection; on SQLite they run one after the other on the read-only connections (a round trip
// there is a function call).

// The columns of the two tables the read path scans, derived from their row types (internal/sqlcols).
// TestRowTypesCoverTheTables fails when a migration adds a column that a row type lacks.
var (
	profileTable = sqlcols.Of[billingProfileRow]()
	inviteTable  = sqlcols.Of[inviteRow]()
)

func (r *billingProfileRow) fields() []any { return profileTable.Fields(r) }

func (r *inviteRow) fields() []any { return inviteTable.Fields(r) }

var (
	profileByID = "SELECT " + profileTable.List + " FROM billing_profiles WHERE id = $1"
	inviteByID  = "SELECT " + inviteTable.List + " FROM invites WHERE id = $1 AND billing_profile_id = $2"
	// inviteWithProfile is an invite and its billing profile in one row.
	inviteWithProfile = "SELECT " + profileTable.Prefixed("p.") + ", " + inviteTable.Prefixed("i.") +
		" FROM invites i JOIN billing_profiles p ON p.id = i.billing_profile_id WHERE i.id = $1 AND i.billing_profile_id = $2"
)

// statement is one SQL statement with its arguments, written with PostgreSQL's $n placeholders.
type statement struct {
	sql  string
	args []any
}

// scanner is a row or a result set positioned on a row: pgx's and database/sql's both.
type scanner interface{ Scan(dest ...any) error }

// TraceReads makes a span of every statement batch of the read path (the hand-written SELECTs that GORM's plugin
// does not see) within a traced request; the statement's text, never its values. Call it before the store is
// shared (WithEvents copies it).
func (s *Store) TraceReads(tp trace.TracerProvider) {
	s.tracer = tp.Tracer("github.com/cloudreseller/aws-invites")
}

// readBatch runs statements, in one round trip on PostgreSQL, and gives each one's rows to its reader in turn. A
// failed or slow batch is logged as GORM's statements are (log.go): the SQL without its parameters.
func (s *Store) readBatch(ctx context.Context, stmts []statement, readers []func(next func() bool, row scanner) error) error {
	start := time.Now()
	var span trace.Span
	if s.tracer != nil && trace.SpanFromContext(ctx).SpanContext().IsValid() {
		ctx, span = s.tracer.Start(ctx, "db.read", trace.WithSpanKind(trace.SpanKindClient))
	}
	err := s.runBatch(ctx, stmts, readers)
	elapsed := time.Since(start)
	if span != nil {
		sqls := make([]string, len(stmts))
		for i, st := range stmts {
			sqls[i] = st.sql
		}
		span.SetAttributes(attribute.String("db.operation.name", "read"), attribute.String("db.query.text", strings.Join(sqls, "; ")),
			attribute.Int("db.statements", len(stmts)))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	var msg string
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		msg = "database statement failed"
	case err == nil && elapsed > s.slow:
		msg = "slow database statement"
	default:
		return err
	}
	sqls := make([]string, len(stmts))
	for i, st := range stmts {
		sqls[i] = st.sql
	}
	attrs := []slog.Attr{slog.String("sql", strings.Join(sqls, "; ")), slog.Float64("elapsed_ms", float64(elapsed.Microseconds())/1000)}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	return err
}

func (s *Store) runBatch(ctx context.Context, stmts []statement, readers []func(next func() bool, row scanner) error) error {
	if s.pool != nil && len(stmts) == 1 {
		rows, err := s.pool.Query(ctx, stmts[0].sql, stmts[0].args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := readers[0](rows.Next, rows); err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	}
	if s.pool != nil {
		b := &pgx.Batch{}
		for _, st := range stmts {
			b.Queue(st.sql, st.args...)
		}
		br := s.pool.SendBatch(ctx, b)
		for _, read := range readers {
			rows, err := br.Query()
			if err != nil {
				_ = br.Close()
				return err
			}
			err = read(rows.Next, rows)
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			if err != nil {
				_ = br.Close()
				return err
			}
		}
		return br.Close()
	}
	db := s.readDB
	if db == nil {
		db = s.sqlDB // an in-memory database has only the one connection
	}
	for i, st := range stmts {
		rows, err := db.QueryContext(ctx, st.sql, st.args...)
		if err != nil {
			return err
		}
		err = readers[i](rows.Next, rows)
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// one reads at most one row into dest, reporting whether there was one.
func one(found *bool, plans *scanPlans, dest func() []any) func(next func() bool, row scanner) error {
	return func(next func() bool, row scanner) error {
		if !next() {
			return nil
		}
		*found = true
		return scanRow(row, plans, dest())
	}
}

// scanRow scans a row into dest: pgx's rows with plans, database/sql's with their own Scan.
func scanRow(row scanner, plans *scanPlans, dest []any) error {
	if rows, ok := row.(pgx.Rows); ok {
		return plans.scan(rows, dest)
	}
	return row.Scan(dest...)
}

// scanPlans keeps pgx's plans for scanning one shape of row (its columns' types and formats, and the types of the
// targets) between statements. pgx's Rows.Scan plans every column again for every statement it runs: for the GET's
// row of 75 columns that was about 70 allocations, a quarter of all a GET made (docs/read-path.md). A plan depends
// only on the column's type and format and the target's type, never on the target itself or the connection (pgx
// reuses a statement's plans for all its rows the same way); a row of another shape (a migration, another
// database) is planned again, and that plan kept instead. Safe for concurrent use: a set of plans is never changed
// once kept.
type scanPlans struct{ kept atomic.Pointer[plannedRow] }

type plannedRow struct {
	oids    []uint32
	formats []int16
	targets []reflect.Type
	plans   []pgtype.ScanPlan
}

// fits reports whether the plans were made for rows of these columns into targets of these types.
func (p *plannedRow) fits(fields []pgconn.FieldDescription, dest []any) bool {
	if p == nil || len(p.plans) != len(fields) {
		return false
	}
	for i, f := range fields {
		if p.oids[i] != f.DataTypeOID || p.formats[i] != f.Format || p.targets[i] != reflect.TypeOf(dest[i]) {
			return false
		}
	}
	return true
}

// scan scans the current row of rows into dest, as rows.Scan(dest...) would.
func (sp *scanPlans) scan(rows pgx.Rows, dest []any) error {
	fields := rows.FieldDescriptions()
	values := rows.RawValues()
	if len(fields) != len(dest) || len(values) != len(dest) {
		return fmt.Errorf("store: a row of %d columns scanned into %d targets", len(fields), len(dest))
	}
	p := sp.kept.Load()
	if !p.fits(fields, dest) {
		types := rows.Conn().TypeMap()
		p = &plannedRow{oids: make([]uint32, len(fields)), formats: make([]int16, len(fields)),
			targets: make([]reflect.Type, len(fields)), plans: make([]pgtype.ScanPlan, len(fields))}
		for i, f := range fields {
			p.oids[i], p.formats[i], p.targets[i] = f.DataTypeOID, f.Format, reflect.TypeOf(dest[i])
			p.plans[i] = types.PlanScan(f.DataTypeOID, f.Format, dest[i])
		}
		sp.kept.Store(p)
	}
	for i, plan := range p.plans {
		if err := plan.Scan(values[i], dest[i]); err != nil {
			return pgx.ScanArgError{ColumnIndex: i, FieldName: fields[i].Name, Err: err}
		}
	}
	return nil
}

// The plans of each shape of row the read path scans.
var (
	profileInvitePlans, profilePlans, invitePlans scanPlans
)

// profileAndInviteRow is the target of the GET's one row, the profile's columns then the invite's. The targets
// are kept between requests (getRows), each with its scan destinations made once: every scan sets every field,
// pointers included (a NULL to nil, a value to a new one), so nothing read before shows through, and what a
// request took out of one (its domain values) stays its own.
type profileAndInviteRow struct {
	profile billingProfileRow
	invite  inviteRow
	dest    []any
}

var getRows = sync.Pool{New: func() any {
	r := &profileAndInviteRow{}
	r.dest = append(r.profile.fields(), r.invite.fields()...)
	return r
}}

// ProfileAndInvite returns a billing profile and one of its invites: CodeNotFound when the profile is missing, a
// nil invite when the profile has no such invite. When both exist (a GET that finds its invite) it is one
// statement joining the two; otherwise a second one tells a missing invite from a missing profile.
func (s *Store) ProfileAndInvite(ctx context.Context, billingProfileID, inviteID string) (invite.BillingProfile, *invite.Invite, error) {
	row := getRows.Get().(*profileAndInviteRow)
	defer getRows.Put(row)
	var found bool
	err := s.readBatch(ctx, []statement{{inviteWithProfile, []any{inviteID, billingProfileID}}},
		[]func(func() bool, scanner) error{one(&found, &profileInvitePlans, func() []any { return row.dest })})
	if err != nil {
		return invite.BillingProfile{}, nil, fmt.Errorf("store: get invite %s of billing profile %s: %w", inviteID, billingProfileID, err)
	}
	if !found {
		p, err := s.BillingProfile(ctx, billingProfileID)
		return p, nil, err
	}
	inv := row.invite.domain()
	return row.profile.domain(), &inv, nil
}

// BillingProfile returns one billing profile, or CodeNotFound.
func (s *Store) BillingProfile(ctx context.Context, id string) (invite.BillingProfile, error) {
	var bp billingProfileRow
	var found bool
	if err := s.readBatch(ctx, []statement{{profileByID, []any{id}}},
		[]func(func() bool, scanner) error{one(&found, &profilePlans, bp.fields)}); err != nil {
		return invite.BillingProfile{}, fmt.Errorf("store: get billing profile %s: %w", id, err)
	}
	if !found {
		return invite.BillingProfile{}, invite.Errorf(invite.CodeNotFound, "billing profile %s not found", id)
	}
	return bp.domain(), nil
}

// Invite returns one invite of a billing profile, or CodeNotFound.
func (s *Store) Invite(ctx context.Context, billingProfileID, inviteID string) (invite.Invite, error) {
	var row inviteRow
	var found bool
	if err := s.readBatch(ctx, []statement{{inviteByID, []any{inviteID, billingProfileID}}},
		[]func(func() bool, scanner) error{one(&found, &invitePlans, row.fields)}); err != nil {
		return invite.Invite{}, fmt.Errorf("store: get invite %s: %w", inviteID, err)
	}
	if !found {
		return invite.Invite{}, invite.Errorf(invite.CodeNotFound, "invite %s not found", inviteID)
	}
	return row.domain(), nil
}

// ProfileAndPage returns a billing profile and a page of its invites, newest first, read in one round trip;
// CodeNotFound when the profile is missing.
func (s *Store) ProfileAndPage(ctx context.Context, q invite.ListQuery) (invite.BillingProfile, invite.Page, error) {
	var bp billingProfileRow
	var haveProfile bool
	rows := make([]inviteRow, 0, pageLimit(q.Limit)+1)
	err := s.readBatch(ctx, []statement{{profileByID, []any{q.BillingProfileID}}, s.pageQuery(q)},
		[]func(func() bool, scanner) error{one(&haveProfile, &profilePlans, bp.fields), scanRows(&rows)})
	if err != nil {
		return invite.BillingProfile{}, invite.Page{}, fmt.Errorf("store: list invites of billing profile %s: %w", q.BillingProfileID, err)
	}
	if !haveProfile {
		return invite.BillingProfile{}, invite.Page{}, invite.Errorf(invite.CodeNotFound, "billing profile %s not found", q.BillingProfileID)
	}
	return bp.domain(), pageOf(rows, pageLimit(q.Limit)), nil
}

// ListInvites returns a page of a billing profile's invites, newest first, without the profile (the API reads both
// with ProfileAndPage; tests page through a profile with this).
func (s *Store) ListInvites(ctx context.Context, q invite.ListQuery) (invite.Page, error) {
	rows := make([]inviteRow, 0, pageLimit(q.Limit)+1)
	err := s.readBatch(ctx, []statement{s.pageQuery(q)}, []func(func() bool, scanner) error{scanRows(&rows)})
	if err != nil {
		return invite.Page{}, fmt.Errorf("store: list invites of billing profile %s: %w", q.BillingProfileID, err)
	}
	return pageOf(rows, pageLimit(q.Limit)), nil
}

// scanRows appends every row to rows, scanning each into one row value whose field pointers are made once.
func scanRows(rows *[]inviteRow) func(next func() bool, row scanner) error {
	return func(next func() bool, row scanner) error {
		var r inviteRow
		dest := r.fields()
		for next() {
			if err := scanRow(row, &invitePlans, dest); err != nil {
				return err
			}
			*rows = append(*rows, r)
		}
		return nil
	}
}

// pageLimit is a page's size: the domain's default when the caller gives none (the domain bounds what users ask).
func pageLimit(limit int) int {
	if limit <= 0 {
		return invite.DefaultPageSize
	}
	return limit
}

// onePage cuts rows read with one row more than a page (limit+1) to the page, and returns the page's last row when
// another page follows: one query tells both.
func onePage[R any](rows []R, limit int) ([]R, *R) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	return rows, &rows[limit-1]
}

// pageOf makes a page of invites of rows read with one row more than the page.
func pageOf(rows []inviteRow, limit int) invite.Page {
	var page invite.Page
	rows, last := onePage(rows, limit)
	if last != nil {
		page.NextID = last.ID
	}
	page.Invites = make([]invite.Invite, len(rows))
	for i, r := range rows {
		page.Invites[i] = r.domain()
	}
	return page
}

// pageQuery is the SQL of one page of a billing profile's invites, newest first. Ids are UUIDv7 strings, so id
// order is creation order and the keyset "id < after" neither repeats nor skips rows when invites are added
// between pages. Each form is a range scan of one index, read backwards from the cursor and stopped after the
// page (migration 00011): (billing_profile_id, account_id, id) for an account, (billing_profile_id, state, id)
// for one state, one such scan per state merged in id order for several, (billing_profile_id, kind, id) for a
// kind, (billing_profile_id, kind, state, id) for a kind and states, and (billing_profile_id, id) otherwise. With
// an account, states and kind filter the few rows of that account. On PostgreSQL ids are compared and ordered byte
// by byte, as those indexes hold them (see migration 00011); SQLite's default order is that already. A list across
// profiles (ListQuery.BillingProfileIDs) merges one such scan per profile; one across every profile
// (AllProfiles) scans the (id), (state, id) and (account_id, id) indexes of migration 00014.
func (s *Store) pageQuery(q invite.ListQuery) statement {
	before, newestFirst := s.dialect.idBefore, s.dialect.idNewestFirst
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// The profiles' scans: one profile's; each profile's of a customer-wide list, merged in id order like the
	// states' (a customer has a few profiles); or the whole table's, for a platform administrator.
	var profiles []string
	switch {
	case q.BillingProfileID != "":
		profiles = []string{"billing_profile_id = " + arg(q.BillingProfileID)}
	case q.AllProfiles:
		profiles = []string{""}
	default:
		for _, id := range q.BillingProfileIDs {
			profiles = append(profiles, "billing_profile_id = "+arg(id))
		}
	}
	var filters []string
	if q.AccountID != "" {
		filters = append(filters, "account_id = "+arg(q.AccountID))
	}
	if q.Kind != "" {
		filters = append(filters, "kind = "+arg(string(q.Kind)))
	}
	if q.After != "" {
		filters = append(filters, "id"+before+arg(q.After))
	}
	limit := arg(pageLimit(q.Limit) + 1)
	states := slices.Compact(slices.Sorted(slices.Values(names(q.States))))
	perState := []string{""}
	switch {
	case len(states) == 1:
		filters = append(filters, "state = "+arg(states[0]))
	case len(states) > 1 && q.AccountID != "":
		filters = append(filters, "state IN ("+placeholders(arg, states)+")")
	case len(states) > 1:
		perState = perState[:0]
		for _, st := range states {
			perState = append(perState, "state = "+arg(st))
		}
	}
	cols := inviteTable.List
	if len(profiles)*len(perState) > 1 && s.dialect.mergeIDs {
		cols = "id"
	}
	var parts []string
	for _, p := range profiles {
		for _, st := range perState {
			where := slices.DeleteFunc(append([]string{p}, append(slices.Clone(filters), st)...), func(c string) bool { return c == "" })
			part := "SELECT " + cols + " FROM invites"
			if len(where) > 0 {
				part += " WHERE " + strings.Join(where, " AND ")
			}
			parts = append(parts, part+" ORDER BY id"+newestFirst+" LIMIT "+limit)
		}
	}
	if len(parts) == 1 {
		return statement{parts[0], args}
	}
	for i, part := range parts {
		parts[i] = "SELECT * FROM (" + part + ") s" + strconv.Itoa(i)
	}
	merged := strings.Join(parts, " UNION ALL ") + " ORDER BY id" + newestFirst + " LIMIT " + limit
	if cols == "id" {
		merged = "SELECT " + inviteTable.List + " FROM invites WHERE id IN (" + merged + ") ORDER BY id" + newestFirst
	}
	return statement{merged, args}
}

func placeholders(arg func(any) string, values []string) string {
	ps := make([]string, len(values))
	for i, v := range values {
		ps[i] = arg(v)
	}
	return strings.Join(ps, ", ")
}
