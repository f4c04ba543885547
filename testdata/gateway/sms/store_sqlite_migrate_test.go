package sms

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestSQLiteRateLimitCountsAnOldDatabasesMessages: a database made when the
// rate limit kept its stamps in the table rate gets phone_key when a worker
// opens it; its recent messages count toward the limit, and Prune empties
// the old stamps.
func TestSQLiteRateLimitCountsAnOldDatabasesMessages(t *testing.T) {
	path, db := oldDatabase(t, `CREATE TABLE messages (id TEXT PRIMARY KEY, phone TEXT NOT NULL, template TEXT NOT NULL, text TEXT NOT NULL,
		status TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL, worker INTEGER NOT NULL,
		created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, sent_at INTEGER NOT NULL, owner TEXT NOT NULL,
		lease_until INTEGER NOT NULL, send_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
		CREATE INDEX messages_pending ON messages (lease_until) WHERE status IN ('queued', 'sending');
		CREATE TABLE rate (phone TEXT NOT NULL, at INTEGER NOT NULL);
		CREATE INDEX rate_phone ON rate (phone, at);`)
	const phone = "+4915112345678"
	now := time.Now()
	for i, at := range []time.Time{now.Add(-2 * time.Hour), now.Add(-20 * time.Second), now.Add(-10 * time.Second)} {
		if _, err := db.Exec(`INSERT INTO messages VALUES (?, ?, '', 'hi', 'sent', 1, '', 1, ?, ?, ?, '', 0, 0)`,
			NewID(), phone, at.UnixNano(), at.UnixNano(), at.UnixNano()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO rate VALUES (?, ?)`, phone[1:], at.UnixNano()); err != nil {
			t.Fatalf("stamp %d: %v", i, err)
		}
	}
	db.Close()

	st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	// Two of the limit's 3 per minute were sent before the upgrade.
	if res, err := st.Accept(ctx, acceptReq(newMessage(phone), "")); err != nil || res.RetryAfter != 0 {
		t.Fatalf("third message of the minute: %+v %v", res, err)
	}
	res, err := st.Accept(ctx, acceptReq(newMessage(phone), ""))
	if err != nil || res.RetryAfter <= 0 || res.RetryAfter > 41*time.Second {
		t.Fatalf("fourth message of the minute: %+v %v", res, err)
	}
	if err := st.Prune(ctx, time.Now(), DefaultRateWindow); err != nil {
		t.Fatal(err)
	}
	var stamps int
	if err := st.read.QueryRow(`SELECT count(*) FROM rate`).Scan(&stamps); err != nil || stamps != 2 {
		t.Fatalf("old stamps after Prune: %d %v (want the 2 of the last minute)", stamps, err)
	}
}

// TestSQLitePruneWithoutOldStamps: a database made by this version has no
// table rate, and Prune does not need one.
func TestSQLitePruneWithoutOldStamps(t *testing.T) {
	st, err := OpenSQLite(filepath.Join(t.TempDir(), "sms.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Prune(context.Background(), time.Now(), DefaultRateWindow); err != nil {
		t.Fatal(err)
	}
}

// oldDatabase makes a database file with schema, the tables of an earlier
// version of the store, and returns its path and an open handle to fill
// it; close the handle before opening the store.
func oldDatabase(t *testing.T, schema string) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sms.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	return path, db
}
