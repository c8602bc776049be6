package cur

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// AccountUsage is what one report says about one usage account.
type AccountUsage struct {
	// AccountID is the usage account (a string: ids may start with 0).
	AccountID string
	// PayerAccountID is the management (payer) account billed for it.
	PayerAccountID string
	// LineItems counts the account's line items of every type.
	LineItems int64
	// UnblendedCost is the exact sum of lineItem/UnblendedCost.
	UnblendedCost decimal.Decimal
	// FirstUsageStart is the earliest lineItem/UsageStartDate (UTC).
	FirstUsageStart time.Time
	// LastUsageStart is the latest lineItem/UsageStartDate (UTC).
	LastUsageStart time.Time
}

// accum is the running summary of one account.
type accum struct {
	lineItems   int64
	cost        money
	first, last int64 // unix nanoseconds
	hasTime     bool
}

// tally holds the per-account sums of one or more files; its size depends
// on the number of accounts only.
type tally struct {
	// accounts is keyed by the usage account's length (a uvarint), the
	// account and the payer: a usage account can in theory move between
	// payers, and each pairing is reported on its own. The length, not a
	// separator, tells where the account ends, whatever bytes a damaged
	// report puts in it. A string key lets lookups from a byte buffer avoid
	// allocating.
	accounts map[string]*accum
	rows     int64
	keyBuf   []byte

	// The last account and start date seen: rows of one account and hour
	// come in runs, so most rows skip the map lookup and the date parse.
	lastPayer, lastAccount []byte
	lastAcc                *accum
	lastStartRaw           []byte
	lastStart              int64
}

func newTally() *tally {
	return &tally{accounts: make(map[string]*accum)}
}

// account returns the accumulator of payer/account, creating it if needed.
func (t *tally) account(payer, account []byte) *accum {
	if t.lastAcc != nil && bytes.Equal(account, t.lastAccount) && bytes.Equal(payer, t.lastPayer) {
		return t.lastAcc
	}
	t.keyBuf = append(append(binary.AppendUvarint(t.keyBuf[:0], uint64(len(account))), account...), payer...)
	a := t.accounts[string(t.keyBuf)]
	if a == nil {
		a = &accum{}
		t.accounts[string(t.keyBuf)] = a
	}
	t.lastAcc = a
	t.lastPayer = append(t.lastPayer[:0], payer...)
	t.lastAccount = append(t.lastAccount[:0], account...)
	return a
}

// addRow records one line item given its raw CSV fields.
func (t *tally) addRow(payer, account, cost, start []byte) error {
	if len(account) == 0 {
		return fmt.Errorf("empty usage account id")
	}
	a := t.account(payer, account)
	if err := a.cost.addText(cost); err != nil {
		return fmt.Errorf("unblended cost: %w", err)
	}
	if len(start) > 0 {
		var ts int64
		if bytes.Equal(start, t.lastStartRaw) {
			ts = t.lastStart
		} else {
			v, err := parseTimestamp(start)
			if err != nil {
				return fmt.Errorf("usage start date: %w", err)
			}
			ts = v
			t.lastStartRaw = append(t.lastStartRaw[:0], start...)
			t.lastStart = v
		}
		a.seen(ts)
	}
	a.lineItems++
	t.rows++
	return nil
}

// seen widens the account's usage-start range by ts.
func (a *accum) seen(ts int64) {
	if !a.hasTime {
		a.first, a.last, a.hasTime = ts, ts, true
		return
	}
	if ts < a.first {
		a.first = ts
	}
	if ts > a.last {
		a.last = ts
	}
}

// merge adds every account of o into t.
func (t *tally) merge(o *tally) {
	for k, oa := range o.accounts {
		a := t.accounts[k]
		if a == nil {
			a = &accum{}
			t.accounts[k] = a
		}
		a.lineItems += oa.lineItems
		a.cost.addMoney(&oa.cost)
		if oa.hasTime {
			a.seen(oa.first)
			a.seen(oa.last)
		}
	}
	t.rows += o.rows
}

// result returns the accounts sorted by account id, then payer.
func (t *tally) result() []AccountUsage {
	out := make([]AccountUsage, 0, len(t.accounts))
	for k, a := range t.accounts {
		n, w := binary.Uvarint([]byte(k))
		account, payer := k[w:w+int(n)], k[w+int(n):]
		u := AccountUsage{
			AccountID:      account,
			PayerAccountID: payer,
			LineItems:      a.lineItems,
			UnblendedCost:  a.cost.decimal(),
		}
		if a.hasTime {
			u.FirstUsageStart = time.Unix(0, a.first).UTC()
			u.LastUsageStart = time.Unix(0, a.last).UTC()
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AccountID != out[j].AccountID {
			return out[i].AccountID < out[j].AccountID
		}
		return out[i].PayerAccountID < out[j].PayerAccountID
	})
	return out
}

// parseTimestamp reads the date forms CUR uses: 2018-02-01T00:00:00Z,
// 2018-08-01T00:00:00.000Z and 2018-06-20 01:00:00 (no zone: UTC), and
// falls back to RFC 3339 for offsets.
func parseTimestamp(b []byte) (int64, error) {
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(b) >= 19 && b[4] == '-' && b[7] == '-' && (b[10] == 'T' || b[10] == ' ') && b[13] == ':' && b[16] == ':' {
		y, ok1 := num(b[0:4])
		mo, ok2 := num(b[5:7])
		d, ok3 := num(b[8:10])
		h, ok4 := num(b[11:13])
		mi, ok5 := num(b[14:16])
		s, ok6 := num(b[17:19])
		rest := b[19:]
		nanos := 0
		fracOK := true
		if len(rest) > 0 && rest[0] == '.' {
			j := 1
			scale := int(1e9)
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				if scale > 1 {
					scale /= 10
					nanos += int(rest[j]-'0') * scale
				}
				j++
			}
			fracOK = j > 1 // a dot needs digits, as in time.Parse
			rest = rest[j:]
		}
		// time.Date would silently move Feb 30 to March and 23:59:60 to the
		// next day, so days beyond the month's end and leap seconds are
		// refused, as time.Parse refuses them.
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && fracOK && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h < 24 && mi < 60 && s < 60 &&
			(len(rest) == 0 || (len(rest) == 1 && rest[0] == 'Z')) {
			return unixNanos(time.Date(y, time.Month(mo), d, h, mi, s, nanos, time.UTC), b)
		}
	}
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, fmt.Errorf("bad timestamp %q", truncateForError(b))
	}
	return unixNanos(v, b)
}

// daysIn returns the number of days of a month.
func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Instants that int64 nanoseconds since 1970 hold (years 1677 to 2262).
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// unixNanos converts t for the tally, refusing instants whose UnixNano would
// wrap around (year 0000 would otherwise come out as 1753).
func unixNanos(t time.Time, raw []byte) (int64, error) {
	if t.Before(minNanoTime) || t.After(maxNanoTime) {
		return 0, fmt.Errorf("bad timestamp %q: outside years 1678-2261", truncateForError(raw))
	}
	return t.UnixNano(), nil
}

// formatAccountInt renders a numeric account id with the 12 digits AWS uses,
// restoring leading zeros a numeric column would have dropped.
func formatAccountInt(v int64) string {
	s := strconv.FormatInt(v, 10)
	for len(s) < 12 {
		s = "0" + s
	}
	return s
}

// unixNanoTime converts unix nanoseconds to a UTC time.
func unixNanoTime(ns int64) time.Time {
	return time.Unix(0, ns).UTC()
}
