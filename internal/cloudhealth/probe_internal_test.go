package cloudhealth

import (
	"slices"
	"testing"
)

// The probe table holds the wildcard entries of the published list and nothing else: an entry gone from the list
// takes its probe with it.
func TestProbeTableHasNoStaleEntries(t *testing.T) {
	for entry := range probeActions {
		if !slices.Contains(ReadOnlyActions, entry) {
			t.Errorf("probeActions has %s, which the published list does not", entry)
		}
	}
}
