package testclock_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudreseller/aws-invites/internal/testclock"
)

func TestStartReadsTheInstant(t *testing.T) {
	t.Setenv(testclock.NowVar, "2028-02-29T23:30:00.1234+01:00")
	got, err := testclock.Start()
	want := time.Date(2028, 2, 29, 22, 30, 0, 123_000_000, time.UTC)
	if err != nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Start() = %v, %v; want %v in UTC, to the millisecond", got, err, want)
	}
	c := testclock.NewAtStart()
	c.Advance(time.Hour)
	if !c.Now().Equal(want.Add(time.Hour)) {
		t.Errorf("a clock at the start, an hour on: %v", c.Now())
	}
	r := testclock.NewRunning()
	if d := r.Now().Sub(want); d < 0 || d > time.Minute {
		t.Errorf("a running clock from the start reads %v", r.Now())
	}
}

func TestStartWithoutTheVariableIsNow(t *testing.T) {
	t.Setenv(testclock.NowVar, "")
	before := time.Now().Add(-time.Millisecond)
	got, err := testclock.Start()
	if err != nil || got.Before(before) || got.After(time.Now()) || got.Location() != time.UTC {
		t.Fatalf("Start() = %v, %v; want now in UTC", got, err)
	}
}

func TestStartRefusesAMalformedInstant(t *testing.T) {
	for _, v := range []string{"2028-02-30T00:00:00Z", "tomorrow", "2028-02-29"} {
		t.Setenv(testclock.NowVar, v)
		if _, err := testclock.Start(); err == nil || !strings.Contains(err.Error(), testclock.NowVar) {
			t.Errorf("%q: %v, want an error naming %s", v, err, testclock.NowVar)
		}
	}
}
