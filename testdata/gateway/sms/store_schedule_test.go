package sms

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nodeagent/node-agent/testdata/gateway/sms/smstest"
)

// TestRedisCancelBeatsAClaimInFlight: a worker has read a message's entry
// (XREADGROUP) but not yet written its claim when the message is
// cancelled. The claim's write sees the cancelled record in the same
// script, drops the entry and leases nothing: a message is cancelled or
// claimed, never both.
func TestRedisCancelBeatsAClaimInFlight(t *testing.T) {
	ctx := context.Background()
	st, err := OpenRedis(ctx, smstest.StartRedis(t).URL())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := newMessage("+4915112345678")
	if _, err := st.Accept(ctx, acceptReq(m, "")); err != nil {
		t.Fatal(err)
	}
	streams, err := st.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: redisGroup, Consumer: "slow", Streams: []string{redisStream, ">"}, Count: 1, Block: -1,
	}).Result()
	if err != nil || len(streams) != 1 || len(streams[0].Messages) != 1 {
		t.Fatalf("read the entry: %v %v", streams, err)
	}
	entry := streams[0].Messages[0].ID

	if _, cancelled, err := st.Cancel(ctx, m.ID, time.Now()); err != nil || !cancelled {
		t.Fatalf("cancel: %v %v", cancelled, err)
	}
	claimed := m
	claimTransition(&claimed, time.Now(), 8)
	held, err := st.put(ctx, "slow", Lease{Message: claimed, Entry: entry}, claimed, putClaim)
	if err != nil || held {
		t.Fatalf("the claim's write after the cancel: held=%v %v, want not held", held, err)
	}
	if got, _ := st.Get(ctx, m.ID); got.Status != StatusCancelled || got.Attempts != 0 {
		t.Fatalf("record %+v, want cancelled and never attempted", got)
	}
	if s, err := st.Stats(ctx); err != nil || s.Depth != 0 {
		t.Fatalf("stats %+v %v: the entry should be gone", s, err)
	}
}

// TestSQLiteAddsSendAtToAnOldDatabase: a database made before scheduled
// sends gets the send_at column when a worker opens it, and its messages
// read and deliver as before.
func TestSQLiteAddsSendAtToAnOldDatabase(t *testing.T) {
	path, db := oldDatabase(t, `CREATE TABLE messages (id TEXT PRIMARY KEY, phone TEXT NOT NULL, template TEXT NOT NULL, text TEXT NOT NULL,
		status TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL, worker INTEGER NOT NULL,
		created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, sent_at INTEGER NOT NULL, owner TEXT NOT NULL,
		lease_until INTEGER NOT NULL) WITHOUT ROWID;
		CREATE INDEX messages_pending ON messages (lease_until) WHERE status IN ('queued', 'sending');`)
	id := NewID()
	now := time.Now().UnixNano()
	if _, err := db.Exec(`INSERT INTO messages VALUES (?, '+4915112345678', '', 'hi', 'queued', 0, '', 1, ?, ?, 0, '', 0)`, id, now, now); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if m, err := st.Get(ctx, id); err != nil || m.Status != StatusQueued || m.SendAt != nil || m.NextAttemptAt != nil {
		t.Fatalf("old message: %+v %v", m, err)
	}
	l, err := st.Claim(ctx, ClaimRequest{Owner: "w", Max: 10, Lease: time.Second, GiveUpAfter: 8, Now: time.Now()})
	if err != nil || len(l) != 1 || l[0].Message.ID != id {
		t.Fatalf("claim of the old message: %+v %v", l, err)
	}
	at := time.Now().Add(time.Hour)
	m := newMessage("+4915100000001")
	m.SendAt = &at
	if _, err := st.Accept(ctx, acceptReq(m, "")); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get(ctx, m.ID); err != nil || got.SendAt == nil || !got.SendAt.Equal(at) {
		t.Fatalf("scheduled message in the migrated database: %+v %v", got, err)
	}
}
