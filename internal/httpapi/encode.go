package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cloudreseller/aws-invites/api"
)

// The answers of the read path (GET of an invite, a page of invites) are written by hand rather than by
// encoding/json, whose reflection, and the re-validation of every time.Time it marshals, were a third of the CPU
// of a page of 50 under load (docs/read-path.md). The output is the same JSON value as encoding/json's, field
// for field: TestHandEncodedInvitesMatchEncodingJSON checks it with every field of the generated types set, so a
// field added to the spec and missing here fails the test.

// inviteAnswer is the 200 answer of getInvite.
type inviteAnswer struct{ v api.Invite }

func (a inviteAnswer) VisitGetInviteResponse(w http.ResponseWriter) error {
	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	*buf = appendInvite((*buf)[:0], &a.v)
	return writeJSON(w, buf)
}

// pageAnswer is the 200 answer of listInvites.
type pageAnswer struct{ v api.InviteList }

func (a pageAnswer) VisitListInvitesResponse(w http.ResponseWriter) error {
	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	*buf = appendInviteList((*buf)[:0], &a.v)
	return writeJSON(w, buf)
}

// VisitListAllInvitesResponse answers the list across billing profiles the same way.
func (a pageAnswer) VisitListAllInvitesResponse(w http.ResponseWriter) error {
	return a.VisitListInvitesResponse(w)
}

// buffers keep the answers' buffers between requests; one grown past maxKeptBuffer (a page of large invites) is
// let go rather than kept.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxKeptBuffer = 256 << 10

func writeJSON(w http.ResponseWriter, buf *[]byte) error {
	*buf = append(*buf, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(*buf)
	if cap(*buf) > maxKeptBuffer {
		*buf = make([]byte, 0, 4096)
	}
	return err
}

func appendInviteList(b []byte, l *api.InviteList) []byte {
	b = append(b, `{"items":[`...)
	for i := range l.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendInvite(b, &l.Items[i])
	}
	b = append(b, ']')
	if l.NextCursor != nil {
		b = appendField(b, "nextCursor", *l.NextCursor)
	}
	return append(b, '}')
}

func appendInvite(b []byte, v *api.Invite) []byte {
	b = append(b, `{"accountId":`...)
	b = appendString(b, v.AccountId)
	if v.AccountState != nil {
		b = appendField(b, "accountState", string(*v.AccountState))
	}
	if d := v.BillingData; d != nil {
		b = append(b, `,"billingData":{`...)
		first := len(b)
		for _, f := range []struct {
			name string
			at   *time.Time
		}{{"dataThrough", d.DataThrough}, {"lastReportAt", d.LastReportAt}, {"nextReportExpectedBy", d.NextReportExpectedBy}} {
			if f.at != nil {
				b = append(append(append(b, `,"`...), f.name...), `":`...)
				b = appendTime(b, *f.at)
			}
		}
		b = appendField(b, "state", string(d.State))
		b = append(b[:first], b[first+1:]...) // the first field's comma
		b = append(b, '}')
	}
	if g := v.BillingGroup; g != nil {
		b = append(b, `,"billingGroup":{"arn":`...)
		b = appendString(b, g.Arn)
		if g.AssociatedAt != nil {
			b = append(b, `,"associatedAt":`...)
			b = appendTime(b, *g.AssociatedAt)
		}
		if p := g.Problem; p != nil {
			b = append(b, `,"problem":{"code":`...)
			b = appendString(b, string(p.Code))
			b = appendField(b, "detail", p.Detail)
			b = append(b, `,"since":`...)
			b = appendTime(b, p.Since)
			b = append(b, '}')
		}
		b = appendField(b, "state", string(g.State))
		b = append(b, '}')
	}
	b = appendField(b, "billingProfileId", v.BillingProfileId)
	if c := v.CloudHealth; c != nil {
		b = append(b, `,"cloudHealth":{"checkedAt":`...)
		b = appendTime(b, c.CheckedAt)
		if c.LastUpdate != nil {
			b = append(b, `,"lastUpdate":`...)
			b = appendTime(b, *c.LastUpdate)
		}
		b = appendField(b, "level", string(c.Level))
		b = append(b, `,"listed":`...)
		b = strconv.AppendBool(b, c.Listed)
		b = appendOptional(b, "payerAccountId", c.PayerAccountId)
		b = appendOptional(b, "payerName", c.PayerName)
		b = appendOptional(b, "payerReason", c.PayerReason)
		b = appendOptional(b, "warning", c.Warning)
		b = append(b, '}')
	}
	b = append(b, `,"createdAt":`...)
	b = appendTime(b, v.CreatedAt)
	if c := v.Cur; c != nil {
		b = append(b, `,"cur":{`...)
		first := len(b)
		if c.BillingPeriod != nil {
			b = appendField(b, "billingPeriod", *c.BillingPeriod)
		}
		b = append(b, `,"firstSeenAt":`...)
		b = appendTime(b, c.FirstSeenAt)
		if c.LastUsageStart != nil {
			b = append(b, `,"lastUsageStart":`...)
			b = appendTime(b, *c.LastUsageStart)
		}
		if c.LineItems != nil {
			b = append(b, `,"lineItems":`...)
			b = strconv.AppendInt(b, *c.LineItems, 10)
		}
		b = appendOptional(b, "monthToDateCost", c.MonthToDateCost)
		b = append(b[:first], b[first+1:]...) // the first field's comma
		b = append(b, '}')
	}
	if d := v.Departure; d != nil {
		b = append(b, `,"departure":{`...)
		first := len(b)
		if d.LastAccountState != nil {
			b = appendField(b, "lastAccountState", *d.LastAccountState)
		}
		if d.Method != nil {
			b = appendField(b, "method", string(*d.Method))
		}
		b = append(b, `,"noticedAt":`...)
		b = appendTime(b, d.NoticedAt)
		b = append(b[:first], b[first+1:]...) // the first field's comma
		b = append(b, '}')
	}
	if h := v.Handshake; h != nil {
		b = append(b, `,"handshake":{"expiresAt":`...)
		b = appendTime(b, h.ExpiresAt)
		b = appendField(b, "id", h.Id)
		b = append(b, `,"requestedAt":`...)
		b = appendTime(b, h.RequestedAt)
		b = appendField(b, "state", string(h.State))
		b = append(b, '}')
	}
	b = appendField(b, "id", v.Id)
	b = append(b, `,"invitedBy":{`...)
	first := len(b)
	b = appendOptional(b, "email", v.InvitedBy.Email)
	b = appendField(b, "kind", string(v.InvitedBy.Kind))
	b = appendOptional(b, "subject", v.InvitedBy.Subject)
	b = append(b[:first], b[first+1:]...)
	b = append(b, '}')
	if v.JoinedAt != nil {
		b = append(b, `,"joinedAt":`...)
		b = appendTime(b, *v.JoinedAt)
	}
	b = appendField(b, "kind", string(v.Kind))
	b = append(b, `,"lastSentAt":`...)
	b = appendTime(b, v.LastSentAt)
	b = append(b, `,"nextSteps":`...)
	if v.NextSteps == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range v.NextSteps {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if a := s.Action; a != nil {
				b = append(b, `"action":{`...)
				first := len(b)
				if a.Method != nil {
					b = appendField(b, "method", string(*a.Method))
				}
				b = appendOptional(b, "operationId", a.OperationId)
				b = appendOptional(b, "path", a.Path)
				b = appendOptional(b, "url", a.Url)
				if len(b) > first && b[first] == ',' { // the first field written has no comma before it
					b = append(b[:first], b[first+1:]...)
				}
				b = append(b, `},`...)
			}
			b = append(b, `"actor":`...)
			b = appendString(b, string(s.Actor))
			if s.At != nil {
				b = append(b, `,"at":`...)
				b = appendTime(b, *s.At)
			}
			b = appendField(b, "code", string(s.Code))
			b = appendField(b, "detail", s.Detail)
			b = appendField(b, "title", s.Title)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendField(b, "notes", v.Notes)
	if o := v.Organization; o != nil {
		b = append(b, `,"organization":{"id":`...)
		b = appendString(b, o.Id)
		b = appendOptional(b, "managementAccountId", o.ManagementAccountId)
		b = appendOptional(b, "managementEmail", o.ManagementEmail)
		b = appendOptional(b, "managementName", o.ManagementName)
		b = append(b, '}')
	}
	if q := v.Queue; q != nil {
		b = append(b, `,"queue":{"position":`...)
		b = strconv.AppendInt(b, int64(q.Position), 10)
		b = appendField(b, "reason", string(q.Reason))
		b = append(b, `,"scheduledFor":`...)
		b = appendTime(b, q.ScheduledFor)
		b = append(b, '}')
	}
	b = append(b, `,"resendAvailableAt":`...)
	b = appendTime(b, v.ResendAvailableAt)
	b = appendField(b, "state", string(v.State))
	if t := v.Transfer; t != nil {
		b = append(b, `,"transfer":{`...)
		first := len(b)
		if t.EndAt != nil {
			b = append(b, `,"endAt":`...)
			b = appendTime(b, *t.EndAt)
		}
		b = appendOptional(b, "id", t.Id)
		b = append(b, `,"startAt":`...)
		b = appendTime(b, t.StartAt)
		b = appendField(b, "status", string(t.Status))
		b = append(b[:first], b[first+1:]...)
		b = append(b, '}')
	}
	b = append(b, `,"updatedAt":`...)
	b = appendTime(b, v.UpdatedAt)
	return append(b, '}')
}

// appendField appends ,"name":"value".
func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendOptional appends ,"name":"value" when value is set, as omitempty does.
func appendOptional(b []byte, name string, value *string) []byte {
	if value == nil {
		return b
	}
	return appendField(b, name, *value)
}

// appendTime appends t as encoding/json does (RFC 3339 with nanoseconds, quoted).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json escapes it: quotes, backslashes and control
// characters, <, > and & (for HTML), U+2028 and U+2029, and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
