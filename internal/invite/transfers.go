package invite

import (
	"fmt"
	"time"
)

// Rules of billing transfers, as AWS's billing user guide gives them: a transfer starts at 00:00 UTC on the first
// day of a month, more than a day ahead; its invitation must be accepted at least a day before the start (and at
// the latest after 15 days, as every handshake); it ends at the end of a month.
const (
	// TransferLeadTime is how long before its start a transfer must be accepted (and how far ahead it must start).
	TransferLeadTime = 24 * time.Hour
	// MaxTransferAhead bounds how far ahead a transfer may be set to start.
	MaxTransferAhead = 366 * 24 * time.Hour
	// MaxTransferName is the longest transfer name AWS accepts (printable ASCII).
	MaxTransferName = 128
)

// DefaultTransferStart is the start a billing transfer gets when the caller gives none: the first day of a month
// that leaves the customer at least a day to accept. The invitation must be accepted TransferLeadTime before the
// start, so the earliest start AWS takes (earliestTransferStart) would leave minutes on a month's last day.
func DefaultTransferStart(now time.Time) time.Time {
	return firstOfMonthAfter(now.Add(2 * TransferLeadTime))
}

// earliestTransferStart is the first day of a month more than TransferLeadTime after now: the earliest start AWS
// takes.
func earliestTransferStart(now time.Time) time.Time {
	return firstOfMonthAfter(now.Add(TransferLeadTime))
}

// firstOfMonthAfter is the first instant of the first month that starts after t.
func firstOfMonthAfter(t time.Time) time.Time { return periodStart(t).AddDate(0, 1, 0) }

// transferEnd is when a transfer ended at now ends: at the end of the month (the start of the next one).
func transferEnd(now time.Time) time.Time { return periodStart(now).AddDate(0, 1, 0) }

// latest is the later of two times.
func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// checkTransfer validates a transfer's start and name, and returns the name to send.
func checkTransfer(start time.Time, name string, now time.Time, bp BillingProfile) (string, error) {
	switch {
	case !start.Equal(periodStart(start)):
		return "", Invalid("transferStart", fmt.Sprintf("a billing transfer starts on the first day of a month (00:00 UTC); %s is not one",
			start.UTC().Format(time.DateOnly)))
	case !start.After(now.Add(TransferLeadTime)):
		return "", Invalid("transferStart", fmt.Sprintf("a billing transfer must start more than 24 hours ahead; the earliest start is %s",
			earliestTransferStart(now).Format(time.DateOnly)))
	case start.After(now.Add(MaxTransferAhead)):
		return "", Invalid("transferStart", "a billing transfer starts within the next 12 months")
	}
	if name == "" {
		name = asciiName("Billing transfer to " + bp.Name)
	}
	return name, ValidateTransferName(name)
}

// ValidateTransferName checks a billing transfer's name as AWS does: 1 to 128 printable ASCII characters.
func ValidateTransferName(name string) error {
	if name == "" || len(name) > MaxTransferName {
		return Invalid("transferName", fmt.Sprintf("1 to %d characters", MaxTransferName))
	}
	for _, r := range name {
		if r < 0x20 || r > 0x7e {
			return Invalid("transferName", fmt.Sprintf("printable ASCII characters only; %q is not one", r))
		}
	}
	return nil
}

// asciiName keeps the printable ASCII of a default name, within AWS's limit.
func asciiName(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			out = append(out, r)
		}
	}
	if len(out) > MaxTransferName {
		out = out[:MaxTransferName]
	}
	return string(out)
}
