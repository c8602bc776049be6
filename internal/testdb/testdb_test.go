package testdb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cloudreseller/aws-invites/internal/testdb"
)

func TestNewCreatesAndDropsDatabase(t *testing.T) {
	var url string
	var leaked *pgx.Conn
	t.Run("use", func(t *testing.T) {
		url = testdb.New(t)
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatalf("connect to the new database: %v", err)
		}
		if _, err := conn.Exec(context.Background(), "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("the new database is not writable: %v", err)
		}
		// Left open on purpose, as a failed test might: the drop must not wait for it.
		leaked = conn
	})
	if leaked != nil {
		defer func() { _ = leaked.Close(context.Background()) }()
	}
	name := url[strings.LastIndex(url, "/")+1:]
	admin, err := pgx.Connect(context.Background(), testdb.AdminURL())
	if err != nil {
		t.Fatalf("connect admin: %v", err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	var n int
	if err := admin.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatalf("look for database: %v", err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after the test ended", name)
	}
}

func TestNewGivesDistinctDatabases(t *testing.T) {
	a, b := testdb.New(t), testdb.New(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and stops the calling goroutine, as the real
// one does, so a test can check how New fails.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestNewFailsWithAdviceWhenServerIsDown(t *testing.T) {
	// Port 1 on loopback refuses connections at once.
	t.Setenv("TEST_DATABASE_URL", "postgres://postgres:secret@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	rec := &fatalRecorder{TB: t}
	done := make(chan string)
	go func() {
		defer func() { done <- rec.msg }()
		testdb.New(rec)
	}()
	msg := <-done
	if msg == "" {
		t.Fatal("New returned without failing although no server answers")
	}
	if !strings.Contains(msg, "README") {
		t.Errorf("failure message %q does not point to the README's test command", msg)
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("failure message %q prints the password", msg)
	}
}

func TestSQLiteIsAFreshPathInTempDir(t *testing.T) {
	p := testdb.SQLite(t)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("SQLite path %s should not exist yet (stat: %v)", p, err)
	}
	if !filepath.IsAbs(p) {
		t.Fatalf("SQLite path %s is not absolute", p)
	}
}
