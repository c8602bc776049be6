package invite

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PayerHandshake is a handshake AWS holds for a payer organization, with the invite that owns it, if any.
type PayerHandshake struct {
	Handshake
	Owner *HandshakeOwner // nil when no invite has it: sent from the console or by another tool
}

// HandshakeQuery selects the handshakes of one payer.
type HandshakeQuery struct {
	Payer     string
	Unclaimed bool   // only those no invite owns
	Limit     int    // 1..MaxPageSize; DefaultPageSize when zero
	After     string // the Next of the previous page; empty for the first page
}

// HandshakePage is one page of a payer's handshakes, newest first, and where the next page starts (empty on the
// last).
type HandshakePage struct {
	Handshakes []PayerHandshake
	Next       string
}

// Handshakes lists the INVITE handshakes AWS holds for a payer organization (platform administrators only), with
// the invite that owns each; Unclaimed keeps those no invite owns, which Invites.Create can adopt. It reads AWS
// (every page of the payer's handshakes) at each call, so what it shows is current.
func (s *Reconciler) Handshakes(ctx context.Context, p Principal, q HandshakeQuery) (HandshakePage, error) {
	if !p.IsPlatformAdmin() {
		return HandshakePage{}, Errorf(CodeForbidden, "listing a payer's handshakes needs the %q role", RolePlatformAdmin)
	}
	acct, err := NormalizeAccountID(q.Payer)
	if err != nil {
		return HandshakePage{}, err
	}
	after, err := parseHandshakeCursor(q.After)
	if err != nil {
		return HandshakePage{}, err
	}
	payer, err := s.payer(ctx, acct)
	if err != nil {
		return HandshakePage{}, err
	}
	owners, err := s.store.HandshakeOwners(ctx, acct)
	if err != nil {
		return HandshakePage{}, err
	}
	var all []PayerHandshake
	err = s.orgs.ListInviteHandshakes(ctx, payer, func(h Handshake) error {
		ph := PayerHandshake{Handshake: h}
		if o, ok := owners[h.ID]; ok {
			ph.Owner = &o
		}
		if !q.Unclaimed || ph.Owner == nil {
			all = append(all, ph)
		}
		return nil
	})
	if err != nil {
		return HandshakePage{}, err
	}
	slices.SortFunc(all, func(a, b PayerHandshake) int { return compareNewestFirst(a.Handshake, b.Handshake) })
	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(all, *after, func(e PayerHandshake, t Handshake) int {
			if c := compareNewestFirst(e.Handshake, t); c != 0 {
				return c
			}
			return -1 // the cursor's own handshake comes before where the page starts
		})
	}
	limit := PageSize(q.Limit)
	end := min(start+limit, len(all))
	page := HandshakePage{Handshakes: all[start:end]}
	if end < len(all) {
		last := all[end-1]
		page.Next = strconv.FormatInt(last.RequestedAt.UnixNano(), 10) + "/" + last.ID
	}
	return page, nil
}

// compareNewestFirst orders handshakes by request time, newest first, then by id.
func compareNewestFirst(a, b Handshake) int {
	if c := b.RequestedAt.Compare(a.RequestedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

func parseHandshakeCursor(s string) (*Handshake, error) {
	if s == "" {
		return nil, nil
	}
	ns, id, ok := strings.Cut(s, "/")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, Errorf(CodeInvalidCursor, "cursor is not one this service issued for this list; start again without a cursor")
	}
	return &Handshake{ID: id, RequestedAt: time.Unix(0, n).UTC()}, nil
}
