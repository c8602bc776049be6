package main

import (
	"os"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/testclock"
)

// TestMain runs the command's tests over a real clock that starts at the instant AWS_INVITES_TEST_NOW names (now
// when unset), so that the whole command, sandbox clock included, can be tried as if it were another day.
func TestMain(m *testing.M) {
	systemClock = testclock.NewRunning()
	os.Exit(m.Run())
}
