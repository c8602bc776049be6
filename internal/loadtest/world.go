package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudreseller/aws-invites/internal/auth"
	"github.com/cloudreseller/aws-invites/internal/invite"
)

// world is what the load knows of the service's data: its billing profiles with their users' tokens, and the
// invites it created, of which the open ones (never canceled) are the only targets of cancels.
type world struct {
	client *http.Client
	cfg    Config
	runID  int64        // makes the accounts of this run new to a database that already saw a run
	nextID atomic.Int64 // the next account id's serial
	tokens []string     // per profile: its user's token (licenses_manager)
	admins []string     // per profile: a platform administrator's token, each its own rate-limit caller
	mu     sync.Mutex   // guards invites and open
	all    []inviteRef  // every invite created
	open   []inviteRef  // those not canceled yet, in no order
}

type inviteRef struct {
	profile int
	id      string
}

// op is one request to send.
type op struct {
	kind    Kind
	profile int
	invite  string
	list    int // which list query: 0 first page, 1 state=invited, 2 limit=100, 3 the second page
}

func newWorld(_ context.Context, client *http.Client, cfg Config) (*world, error) {
	w := &world{client: client, cfg: cfg, runID: time.Now().Unix() % 100_000}
	ttl := cfg.Duration + 2*time.Hour
	for i := range cfg.Profiles {
		user, err := auth.Mint(cfg.Secret, auth.Claims{
			Subject: fmt.Sprintf("load-user-%d", i), Email: fmt.Sprintf("load-user-%d@example.com", i),
			CustomerID: customerID(i), BillingProfiles: []string{profileID(i)},
			Permissions: []string{invite.PermissionLicensesManager}, Issuer: cfg.Issuer, Audience: cfg.Audience,
		}, ttl, time.Now())
		if err != nil {
			return nil, fmt.Errorf("loadtest: token: %w", err)
		}
		admin, err := auth.Mint(cfg.Secret, auth.Claims{
			Subject: fmt.Sprintf("load-admin-%d", i), CustomerID: "load-reseller",
			Roles: []string{invite.RolePlatformAdmin}, Issuer: cfg.Issuer, Audience: cfg.Audience,
		}, ttl, time.Now())
		if err != nil {
			return nil, fmt.Errorf("loadtest: token: %w", err)
		}
		w.tokens, w.admins = append(w.tokens, user), append(w.admins, admin)
	}
	return w, nil
}

func profileID(i int) string  { return fmt.Sprintf("load-%04d", i) }
func customerID(i int) string { return fmt.Sprintf("load-customer-%04d", i) }

// managementAccount is profile i's payer: 5000 then eight digits, clear of the sandbox's 999x conventions.
func managementAccount(i int) string { return fmt.Sprintf("5000%08d", i) }

// freshAccount is an account id no earlier create of this run used: 4, five digits of the run, six of a serial.
func (w *world) freshAccount() string {
	return fmt.Sprintf("4%05d%06d", w.runID, w.nextID.Add(1)%1_000_000)
}

// setUp creates the billing profiles, then InvitesPerProfile invites in each, eight requests at a time.
func (w *world) setUp(ctx context.Context) error {
	if err := w.parallel(ctx, w.cfg.Profiles, func(i int) error {
		status, _, err := w.send(ctx, http.MethodPut, "/billing-profiles/"+profileID(i), w.admins[i], map[string]string{
			"customerId": customerID(i), "name": "Load profile " + strconv.Itoa(i), "managementAccountId": managementAccount(i),
		})
		if err == nil && status != http.StatusOK && status != http.StatusCreated {
			err = fmt.Errorf("status %d", status)
		}
		if err != nil {
			return fmt.Errorf("loadtest: put billing profile %s: %w", profileID(i), err)
		}
		return nil
	}); err != nil {
		return err
	}
	return w.parallel(ctx, w.cfg.Profiles*w.cfg.InvitesPerProfile, func(n int) error {
		i := n % w.cfg.Profiles
		status, err := w.create(ctx, i)
		if err == nil && status != http.StatusCreated {
			err = fmt.Errorf("status %d", status)
		}
		if err != nil {
			return fmt.Errorf("loadtest: seed an invite of %s: %w", profileID(i), err)
		}
		return nil
	})
}

func (w *world) parallel(ctx context.Context, n int, f func(int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range errs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

func (w *world) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.all)
}

func (w *world) add(inv inviteRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all = append(w.all, inv)
	w.open = append(w.open, inv)
}

// any is a random invite of the run; setUp made sure there is one.
func (w *world) any(rng *rand.Rand) inviteRef {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all[rng.IntN(len(w.all))]
}

// takeOpen removes a random open invite from the open ones and returns it.
func (w *world) takeOpen(rng *rand.Rand) (inviteRef, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.open) == 0 {
		return inviteRef{}, false
	}
	i := rng.IntN(len(w.open))
	inv := w.open[i]
	w.open[i] = w.open[len(w.open)-1]
	w.open = w.open[:len(w.open)-1]
	return inv, true
}

// do sends one request of the load and returns its status.
func (w *world) do(ctx context.Context, o op) (int, error) {
	base := "/billing-profiles/" + profileID(o.profile) + "/aws-invites"
	tok := w.tokens[o.profile]
	switch o.kind {
	case GetInvite:
		status, _, err := w.send(ctx, http.MethodGet, base+"/"+o.invite, tok, nil)
		return status, err
	case ListInvites:
		return w.listPage(ctx, base, tok, o.list)
	case CreateInvite:
		return w.create(ctx, o.profile)
	case CancelInvite:
		status, _, err := w.send(ctx, http.MethodDelete, base+"/"+o.invite, tok, nil)
		return status, err
	default:
		status, _, err := w.send(ctx, http.MethodPost, base+"/"+o.invite+"/refresh", tok, nil)
		return status, err
	}
}

// listPage reads one list page: the first, only invited ones, a page of 100, or the second page of 5. The second
// page needs the first one's cursor: both requests are timed together, as one read (a user turning a page).
func (w *world) listPage(ctx context.Context, base, tok string, which int) (int, error) {
	switch which {
	case 1:
		base += "?state=invited"
	case 2:
		base += "?limit=100"
	case 3:
		status, body, err := w.send(ctx, http.MethodGet, base+"?limit=5", tok, nil)
		if err != nil || status != http.StatusOK {
			return status, err
		}
		var page struct {
			NextCursor string `json:"nextCursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return status, fmt.Errorf("list page: %w", err)
		}
		if page.NextCursor == "" {
			return status, nil
		}
		base += "?limit=5&cursor=" + url.QueryEscape(page.NextCursor)
	}
	status, _, err := w.send(ctx, http.MethodGet, base, tok, nil)
	return status, err
}

// create invites a fresh account into profile i and remembers the invite.
func (w *world) create(ctx context.Context, i int) (int, error) {
	status, body, err := w.send(ctx, http.MethodPost, "/billing-profiles/"+profileID(i)+"/aws-invites", w.tokens[i],
		map[string]string{"accountId": w.freshAccount(), "notes": "load-mixed"})
	if err != nil || status != http.StatusCreated {
		return status, err
	}
	var inv struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &inv); err != nil || inv.ID == "" {
		return status, fmt.Errorf("create: no invite id in the answer")
	}
	w.add(inviteRef{profile: i, id: inv.ID})
	return status, nil
}

// send makes one request and reads the whole answer (so the connection is reused).
func (w *world) send(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.cfg.BaseURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := w.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}
