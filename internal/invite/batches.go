package invite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// A batch invites many accounts of one billing profile at once: a customer moving to the reseller brings dozens
// or hundreds. Its items are checked together (one bad item refuses the whole batch, and nothing is created), then
// each is invited in the background as a single create would, except that an item meeting the payer's daily quota
// waits in the queue (QueueBatch: the slots reserved for single invites and re-sends stay free) and an account that
// already has an invite is left as it is (a batch never re-sends).

// Batch limits.
const (
	MaxBatchItems = 500
	// BatchStale is how long a running batch may go without progress before the payer's reconciliation pass takes
	// it over (its process stopped): the runner records progress at least this often while it works.
	BatchStale = 2 * time.Minute
	// batchChunk is how many items the runner processes between two records of its progress.
	batchChunk = 25
	// batchMaxAttempts is how many times an item whose create failed for a passing reason (AWS or the database
	// unavailable) is tried before it counts as failed.
	batchMaxAttempts = 5
)

// BatchState says whether a batch's items are still being processed.
type BatchState string

// The states of a batch.
const (
	BatchRunning BatchState = "running"
	BatchDone    BatchState = "done"
)

// BatchOutcome is what became of one item of a batch (or, in a dry run, what would).
type BatchOutcome string

// The outcomes of a batch's items.
const (
	OutcomePending        BatchOutcome = "pending"                 // not processed yet
	OutcomeSent           BatchOutcome = "sent"                    // a new invite, its invitation sent
	OutcomeAdopted        BatchOutcome = "adopted"                 // a new invite around the open invitation AWS already had
	OutcomeQueued         BatchOutcome = "queued"                  // a new invite waiting for a slot of the payer's quota
	OutcomeAlreadyInvited BatchOutcome = "already_invited"         // the profile already had an invite in progress for the account
	OutcomeAlreadyJoined  BatchOutcome = "already_joined"          // the account already joined through this profile
	OutcomeHeldElsewhere  BatchOutcome = "held_by_another_profile" // another billing profile of the payer holds the account
	OutcomeRefused        BatchOutcome = "refused"                 // refused (by AWS or a rule): code and detail say why
	OutcomeRetrying       BatchOutcome = "retrying"                // failed for a passing reason; tried again
	OutcomeFailed         BatchOutcome = "failed"                  // failed batchMaxAttempts times for a passing reason
	OutcomeCanceled       BatchOutcome = "canceled"                // queued, then canceled with the batch's queued items
	OutcomeWouldSend      BatchOutcome = "would_send"              // dry run: a slot is free for it
	OutcomeWouldQueue     BatchOutcome = "would_queue"             // dry run: it would wait in the queue
)

// BatchItemInput is one account of a batch, with what a single create takes.
type BatchItemInput struct {
	AccountID     string
	Notes         string
	NotesSet      bool
	Kind          InviteKind
	TransferStart time.Time
	TransferName  string
}

// BatchInput is a batch as submitted. Key identifies the request (its Idempotency-Key, scoped to the caller), so a
// retry of a request that died finds the batch it made.
type BatchInput struct {
	Items  []BatchItemInput
	DryRun bool
	Key    string
}

// BatchItem is one item of a batch and what became of it.
type BatchItem struct {
	Index        int
	Input        BatchItemInput // the account id normalized, the defaults applied
	Outcome      BatchOutcome
	InviteID     string
	ScheduledFor *time.Time // queued: when its slot is expected
	Code         Code       // refused, retrying, failed: the problem
	Detail       string
	Attempts     int
}

// Batch is a batch of invites of one billing profile.
type Batch struct {
	ID               string
	BillingProfileID string
	Payer            string
	Key              string
	DryRun           bool
	State            BatchState
	CreatedBy        Actor
	CreatedAt        time.Time
	UpdatedAt        time.Time // the runner's last progress
	CompletedAt      *time.Time
	Items            []BatchItem
	Version          int64
}

// Counts is how many items have each outcome.
func (b Batch) Counts() map[BatchOutcome]int {
	out := map[BatchOutcome]int{}
	for _, it := range b.Items {
		out[it.Outcome]++
	}
	return out
}

// unfinished reports whether an item still waits for its outcome.
func (it BatchItem) unfinished() bool {
	return it.Outcome == OutcomePending || it.Outcome == OutcomeRetrying
}

// BatchStore keeps batches.
type BatchStore interface {
	// CreateBatch inserts a new batch; CodeAlreadyOpen when a batch with the same non-empty Key exists.
	CreateBatch(ctx context.Context, b Batch) error
	// Batch returns a batch of a billing profile, or CodeNotFound.
	Batch(ctx context.Context, billingProfileID, id string) (Batch, error)
	// BatchByKey returns the batch a request with key made, or CodeNotFound.
	BatchByKey(ctx context.Context, key string) (Batch, error)
	// UpdateBatch writes b, whose Version is the version it was read at, and ev unless it is empty, in one
	// transaction; CodeConcurrentUpdate when the stored version differs. It returns the batch as stored.
	UpdateBatch(ctx context.Context, b Batch, ev Event) (Batch, error)
	// RunningBatches returns the running batches of the billing profiles of a payer that made no progress since
	// before.
	RunningBatches(ctx context.Context, payer string, before time.Time) ([]Batch, error)
	// InviteStates returns the states of those of ids that are invites of the billing profile.
	InviteStates(ctx context.Context, billingProfileID string, ids []string) (map[string]State, error)
}

// Batches is the use case of batches of invites.
type Batches struct {
	*core
	store   BatchStore
	invites *Invites
	log     *slog.Logger
	running sync.WaitGroup
	// stopping ends the background runs (Stop); stop cancels it.
	stopping context.Context
	stop     context.CancelFunc
}

// NewBatches builds the batch use case over the invites' use case.
func NewBatches(st BatchStore, invites *Invites) *Batches {
	b := &Batches{core: invites.core, store: st, invites: invites, log: invites.log}
	b.stopping, b.stop = context.WithCancel(context.Background())
	return b
}

// Submit checks a batch and keeps it: a dry run with every item's predicted outcome (done at once, nothing asked
// of AWS but reads), otherwise running with every item pending, for Run. A request whose Key already made a batch
// gets that batch (the Idempotency-Key layer in front answers most retries before they get here).
func (s *Batches) Submit(ctx context.Context, p Principal, billingProfileID string, in BatchInput) (Batch, error) {
	bp, err := s.profileFor(ctx, p, billingProfileID, write)
	if err != nil {
		return Batch{}, err
	}
	items, err := s.check(bp, in.Items)
	if err != nil {
		return Batch{}, err
	}
	now := s.now(bp.ManagementAccountID)
	b := Batch{ID: newID(), BillingProfileID: bp.ID, Payer: bp.ManagementAccountID, Key: in.Key, DryRun: in.DryRun,
		State: BatchRunning, CreatedBy: p.Actor(), CreatedAt: now, UpdatedAt: now, Items: items, Version: 1}
	if in.DryRun {
		if b, err = s.predict(ctx, p, bp, b); err != nil {
			return Batch{}, err
		}
	}
	if err := s.store.CreateBatch(ctx, b); err != nil {
		if IsCode(err, CodeAlreadyOpen) && in.Key != "" {
			return s.store.BatchByKey(ctx, in.Key)
		}
		return Batch{}, err
	}
	return b, nil
}

// check validates every item and applies nothing; one malformed item refuses the batch with all its problems.
func (s *Batches) check(bp BillingProfile, in []BatchItemInput) ([]BatchItem, error) {
	if len(in) == 0 || len(in) > MaxBatchItems {
		return nil, Invalid("accounts", fmt.Sprintf("a batch has 1 to %d accounts; this one has %d", MaxBatchItems, len(in)))
	}
	var problems []ItemProblem
	first := map[string]int{}
	items := make([]BatchItem, len(in))
	for i, it := range in {
		acct, _, _, err := s.invites.checkCreate(bp, CreateInput{AccountID: it.AccountID, Notes: it.Notes, NotesSet: it.NotesSet,
			Kind: it.Kind, TransferStart: it.TransferStart, TransferName: it.TransferName})
		if err != nil {
			problems = append(problems, ItemProblem{Index: i, Code: ErrorCode(err), Detail: errorDetail(err)})
			continue
		}
		if j, dup := first[acct]; dup {
			problems = append(problems, ItemProblem{Index: i, Code: CodeDuplicateAccount,
				Detail: fmt.Sprintf("account %s is already item %d of this batch", acct, j)})
			continue
		}
		first[acct] = i
		it.AccountID = acct
		items[i] = BatchItem{Index: i, Input: it, Outcome: OutcomePending}
	}
	if len(problems) > 0 {
		return nil, &Error{Code: CodeBatchInvalid, Items: problems,
			Detail: fmt.Sprintf("%d of the batch's %d accounts are malformed (see items); nothing was created", len(problems), len(in))}
	}
	return items, nil
}

// predict fills a dry run's outcomes from what the payer's invites and quota say now: no AWS write is made (the
// quota's ledger is the service's own, kept from AWS's handshake list by reconciliation), and each new account
// gets the place and time PredictCreates gives the batch's creates, in order.
func (s *Batches) predict(ctx context.Context, p Principal, bp BillingProfile, b Batch) (Batch, error) {
	var fresh []int // the items whose accounts have no invite yet
	for i, it := range b.Items {
		out, inviteID, ok, err := s.existing(ctx, bp, it.Input.AccountID)
		if err != nil {
			return Batch{}, err
		}
		if ok {
			b.Items[i].Outcome, b.Items[i].InviteID = out, inviteID
			continue
		}
		fresh = append(fresh, i)
	}
	predictions, err := s.invites.PredictCreates(ctx, p, bp.ID, len(fresh), QueueBatch)
	if err != nil {
		return Batch{}, err
	}
	for k, i := range fresh {
		b.Items[i].Outcome = OutcomeWouldSend
		if k < len(predictions) && !predictions[k].Send {
			b.Items[i].Outcome = OutcomeWouldQueue
			if q := predictions[k].Queue; q != nil {
				at := q.ScheduledFor
				b.Items[i].ScheduledFor = &at
			}
		}
	}
	now := s.now(bp.ManagementAccountID)
	b.State, b.CompletedAt = BatchDone, &now
	return b, nil
}

// existing says what a batch item meets when its account already has an invite holding it on the payer.
func (s *Batches) existing(ctx context.Context, bp BillingProfile, acct string) (BatchOutcome, string, bool, error) {
	holder, err := s.invites.store.HolderOf(ctx, bp.ManagementAccountID, acct)
	switch {
	case IsCode(err, CodeNotFound):
		return "", "", false, nil
	case err != nil:
		return "", "", false, err
	case holder.BillingProfileID != bp.ID:
		return OutcomeHeldElsewhere, "", true, nil
	case holder.State.Joined() || holder.State == StateAccepted:
		return OutcomeAlreadyJoined, holder.ID, true, nil
	}
	return OutcomeAlreadyInvited, holder.ID, true, nil
}

// Run processes a batch's unfinished items in order, recording progress every batchChunk items, and completes the
// batch (event batch.completed) when none is left. A failure to record leaves the rest to the payer's
// reconciliation pass, which resumes a batch that made no progress for BatchStale.
func (s *Batches) Run(ctx context.Context, b Batch) error {
	if b.DryRun || b.State != BatchRunning {
		return nil
	}
	bp, err := s.invites.store.BillingProfile(ctx, b.BillingProfileID)
	if err != nil {
		return err
	}
	// The items are invited on behalf of the user who submitted the batch, with the rights the submission checked.
	p := Principal{Subject: b.CreatedBy.Subject, Email: b.CreatedBy.Email, CustomerID: bp.CustomerID,
		BillingProfiles: []string{bp.ID}, Permissions: []string{PermissionLicensesManager}}
	done := 0
	for i := range b.Items {
		if !b.Items[i].unfinished() {
			continue
		}
		if err := ctx.Err(); err != nil {
			_, rerr := s.record(ctx, b) // what was done is kept; the rest waits for a resume
			return errors.Join(err, rerr)
		}
		// An item under way finishes (an invitation AWS took must be recorded); a stop is seen between items.
		b.Items[i] = s.process(context.WithoutCancel(ctx), p, bp, b, b.Items[i])
		if done++; done%batchChunk == 0 {
			if b, err = s.record(ctx, b); err != nil {
				return err
			}
		}
	}
	_, err = s.record(ctx, b)
	return err
}

// process invites one item's account and says what became of it.
func (s *Batches) process(ctx context.Context, p Principal, bp BillingProfile, b Batch, it BatchItem) BatchItem {
	it.Attempts++
	it.Code, it.Detail, it.ScheduledFor = "", "", nil
	if out, inviteID, ok, err := s.existing(ctx, bp, it.Input.AccountID); err != nil {
		return s.failed(it, err)
	} else if ok {
		// An invite this batch made before its process stopped counts as this batch's.
		if inv, gerr := s.invite(ctx, bp.ID, inviteID); gerr == nil && out == OutcomeAlreadyInvited &&
			inv.InvitedBy.Subject == b.CreatedBy.Subject && inv.CreatedAt.After(b.CreatedAt) {
			return outcomeOf(it, s.view(inv))
		}
		it.Outcome, it.InviteID = out, inviteID
		return it
	}
	in := it.Input
	v, _, err := s.invites.Create(ctx, p, bp.ID, CreateInput{AccountID: in.AccountID, Notes: in.Notes, NotesSet: in.NotesSet,
		Kind: in.Kind, TransferStart: in.TransferStart, TransferName: in.TransferName, Queue: QueueBatch})
	switch {
	case err == nil:
		return outcomeOf(it, v)
	case IsCode(err, CodeAlreadyJoined):
		it.Outcome = OutcomeAlreadyJoined
	case IsCode(err, CodeHeldByAnotherProfile):
		it.Outcome = OutcomeHeldElsewhere
	default:
		return s.failed(it, err)
	}
	return it
}

// outcomeOf is the outcome of an item whose account now has invite v.
func outcomeOf(it BatchItem, v View) BatchItem {
	it.InviteID = v.ID
	switch {
	case v.State == StateQueued:
		it.Outcome = OutcomeQueued
		if v.Queue != nil {
			at := v.Queue.ScheduledFor
			it.ScheduledFor = &at
		}
	case v.Handshake != nil && v.Handshake.RequestedAt.Before(v.CreatedAt):
		it.Outcome = OutcomeAdopted // AWS's invitation predates the invite: it was open already
	default:
		it.Outcome = OutcomeSent
	}
	return it
}

// failed records a create that failed: refused for good, or retried later when the reason passes.
func (s *Batches) failed(it BatchItem, err error) BatchItem {
	it.Code, it.Detail = ErrorCode(err), errorDetail(err)
	switch kind := it.Code.ErrorKind(); {
	case kind == KindUnavailable || it.Code == CodeInternal || it.Code == CodeConcurrentUpdate || it.Code == CodeSendInProgress:
		it.Outcome = OutcomeRetrying
		if it.Attempts >= batchMaxAttempts {
			it.Outcome = OutcomeFailed
		}
	default:
		it.Outcome = OutcomeRefused
	}
	return it
}

// record writes a batch's progress, completing it (with its event) when no item is unfinished.
func (s *Batches) record(ctx context.Context, b Batch) (Batch, error) {
	now := s.now(b.Payer)
	b.UpdatedAt = now
	ev := Event{}
	if b.State == BatchRunning && !b.hasUnfinished() {
		b.State, b.CompletedAt = BatchDone, &now
		ev = Event{Type: EventBatchCompleted, At: now, Actor: b.CreatedBy, BillingProfileID: b.BillingProfileID, Payer: b.Payer,
			PublicID: newID(), Reason: fmt.Sprintf("batch %s done: %s", b.ID, countsText(b.Counts()))}
	}
	return s.store.UpdateBatch(context.WithoutCancel(ctx), b, ev)
}

func (b Batch) hasUnfinished() bool {
	for _, it := range b.Items {
		if it.unfinished() {
			return true
		}
	}
	return false
}

// countsText says a batch's counts in a line, in a fixed order.
func countsText(c map[BatchOutcome]int) string {
	out := ""
	for _, o := range []BatchOutcome{OutcomeSent, OutcomeAdopted, OutcomeQueued, OutcomeAlreadyInvited, OutcomeAlreadyJoined,
		OutcomeHeldElsewhere, OutcomeRefused, OutcomeFailed, OutcomeCanceled} {
		if c[o] > 0 {
			if out != "" {
				out += ", "
			}
			out += fmt.Sprintf("%d %s", c[o], o)
		}
	}
	if out == "" {
		return "nothing to do"
	}
	return out
}

// Get returns a batch of a billing profile.
func (s *Batches) Get(ctx context.Context, p Principal, billingProfileID, id string) (Batch, error) {
	if _, err := s.profileFor(ctx, p, billingProfileID, read); err != nil {
		return Batch{}, err
	}
	b, err := s.store.Batch(ctx, billingProfileID, id)
	if IsCode(err, CodeNotFound) {
		return Batch{}, Errorf(CodeNotFound, "batch %q was not found in billing profile %q", id, billingProfileID)
	}
	if err != nil {
		return Batch{}, err
	}
	return s.sinceQueued(ctx, b)
}

// sinceQueued shows what became of the batch's queued items since: an invite that left the queue was sent when its
// slot freed (or canceled), which its outcome then says. It is read, not kept: the invites are the truth.
func (s *Batches) sinceQueued(ctx context.Context, b Batch) (Batch, error) {
	var ids []string
	for _, it := range b.Items {
		if it.Outcome == OutcomeQueued && it.InviteID != "" {
			ids = append(ids, it.InviteID)
		}
	}
	if len(ids) == 0 {
		return b, nil
	}
	states, err := s.store.InviteStates(ctx, b.BillingProfileID, ids)
	if err != nil {
		return Batch{}, err
	}
	for i, it := range b.Items {
		st, ok := states[it.InviteID]
		if it.Outcome != OutcomeQueued || !ok || st == StateQueued {
			continue
		}
		b.Items[i].ScheduledFor = nil
		b.Items[i].Outcome = OutcomeSent
		if st == StateCanceled {
			b.Items[i].Outcome = OutcomeCanceled
		}
	}
	return b, nil
}

// ByKey returns the batch a request with key made in a billing profile the caller may write to.
func (s *Batches) ByKey(ctx context.Context, p Principal, billingProfileID, key string) (Batch, error) {
	if _, err := s.profileFor(ctx, p, billingProfileID, write); err != nil {
		return Batch{}, err
	}
	b, err := s.store.BatchByKey(ctx, key)
	if err == nil && b.BillingProfileID != billingProfileID {
		return Batch{}, Errorf(CodeNotFound, "no batch was made by this request")
	}
	return b, err
}

// CancelQueued cancels the batch's items whose invites still wait in the queue (nothing is asked of AWS: they
// were never sent). Items already sent are left alone; a running batch's pending items are canceled too, so the
// batch ends. It returns the batch as it then stands.
func (s *Batches) CancelQueued(ctx context.Context, p Principal, billingProfileID, id string) (Batch, error) {
	if _, err := s.profileFor(ctx, p, billingProfileID, write); err != nil {
		return Batch{}, err
	}
	// The runner may record progress meanwhile: the cancel then applies to the batch as it now stands.
	return retryConflicts(func() (Batch, error) {
		b, err := s.Get(ctx, p, billingProfileID, id)
		if err != nil {
			return Batch{}, err
		}
		if b.DryRun {
			return Batch{}, Errorf(CodeInvalidState, "batch %s is a dry run: it has nothing to cancel", id)
		}
		for i, it := range b.Items {
			switch {
			case it.unfinished():
				b.Items[i].Outcome = OutcomeCanceled
			case it.Outcome == OutcomeQueued:
				v, err := s.invites.Cancel(ctx, p, billingProfileID, it.InviteID)
				switch {
				case err == nil && v.State == StateCanceled:
					b.Items[i].Outcome, b.Items[i].ScheduledFor = OutcomeCanceled, nil
				case err == nil, IsCode(err, CodeInvalidState):
					// Its turn came meanwhile: it went out and stays.
					if cur, gerr := s.invite(ctx, billingProfileID, it.InviteID); gerr == nil {
						b.Items[i] = outcomeOf(it, s.view(cur))
					}
				default:
					return Batch{}, err
				}
			}
		}
		return s.record(ctx, b)
	})
}

// Start runs a batch in the background, beyond the request that submitted it, until Stop.
func (s *Batches) Start(ctx context.Context, b Batch) {
	s.running.Add(1)
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	unhook := context.AfterFunc(s.stopping, cancel)
	go func() {
		defer s.running.Done()
		defer cancel()
		defer unhook()
		if err := s.Run(run, b); err != nil && !IsCode(err, CodeConcurrentUpdate) {
			s.log.WarnContext(ctx, "a batch's run stopped; the payer's reconciliation pass resumes it", "batch", b.ID, "error", err)
		}
	}()
}

// Stop ends the background runs at their next item, each keeping what it did (the payer's reconciliation pass
// resumes the rest, on this replica or another), and waits for them until ctx ends.
func (s *Batches) Stop(ctx context.Context) error {
	s.stop()
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("batches still running at the shutdown's deadline: %w", ctx.Err())
	}
}

// Resume runs the batches of a payer whose runner stopped (no progress for BatchStale), one after another; the
// payer's reconciliation pass calls it.
func (s *Batches) Resume(ctx context.Context, payer string) error {
	stale, err := s.store.RunningBatches(ctx, payer, s.now(payer).Add(-BatchStale))
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range stale {
		// Claim it first (a version bump): a runner that comes back meets a conflict instead of working beside this.
		claimed, err := s.store.UpdateBatch(ctx, withProgress(b, s.now(payer)), Event{})
		if IsCode(err, CodeConcurrentUpdate) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.InfoContext(ctx, "resuming a batch whose runner stopped", "batch", b.ID, "payer", payer)
		if err := s.Run(ctx, claimed); err != nil && !IsCode(err, CodeConcurrentUpdate) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func withProgress(b Batch, at time.Time) Batch {
	b.UpdatedAt = at
	return b
}
