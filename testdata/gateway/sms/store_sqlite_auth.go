package sms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nodeagent/node-agent/testdata/gateway/auth"
)

// sqliteAuthSchema holds what package auth shares between the workers of
// the host: used nonces, the applications' quota buckets and the default
// application's secret (sqliteSchema runs it too).
const sqliteAuthSchema = `
CREATE TABLE IF NOT EXISTS auth_nonces (
	app     TEXT NOT NULL,
	nonce   TEXT NOT NULL,
	expires INTEGER NOT NULL,
	PRIMARY KEY (app, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS auth_nonces_expires ON auth_nonces (expires);
CREATE TABLE IF NOT EXISTS auth_quota (
	app       TEXT PRIMARY KEY,
	tokens    REAL NOT NULL,
	refilled  INTEGER NOT NULL,
	day       INTEGER NOT NULL,
	day_count INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_secrets (
	app    TEXT PRIMARY KEY,
	secret TEXT NOT NULL
) WITHOUT ROWID;
`

var _ auth.Store = (*SQLiteStore)(nil)

// noncePruneBatch is how many expired nonces each new one deletes: more
// than one, so the table shrinks back after a burst.
const noncePruneBatch = 4

// UseNonce implements auth.Store: a nonce is a row until it expires; each
// use deletes a few expired ones, so the table stays bounded by the
// requests of one NonceTTL.
func (s *SQLiteStore) UseNonce(ctx context.Context, app, nonce string, now time.Time, ttl time.Duration) (bool, error) {
	var first bool
	err := s.do(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`DELETE FROM auth_nonces WHERE (app, nonce) IN (SELECT app, nonce FROM auth_nonces WHERE expires <= ? LIMIT ?)`, now.UnixNano(), noncePruneBatch); err != nil {
			return err
		}
		res, err := tx.Exec(`INSERT INTO auth_nonces (app, nonce, expires) VALUES (?, ?, ?)
			ON CONFLICT (app, nonce) DO UPDATE SET expires = excluded.expires WHERE auth_nonces.expires <= ?`,
			app, nonce, now.Add(ttl).UnixNano(), now.UnixNano())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite store: nonce: %w", err)
	}
	return first, nil
}

// TakeQuota implements auth.Store on this host's clock (every process
// sharing the database runs on it).
func (s *SQLiteStore) TakeQuota(ctx context.Context, app string, q auth.Quota, now time.Time) (auth.QuotaResult, error) {
	var res auth.QuotaResult
	err := s.do(ctx, func(tx *wtx) error {
		b, err := loadBucket(tx, app, q, now)
		if err != nil {
			return err
		}
		b, res = q.Take(b, now)
		if !res.Allowed {
			return nil
		}
		return saveBucket(tx, app, b)
	})
	if err != nil {
		return auth.QuotaResult{}, fmt.Errorf("sqlite store: quota: %w", err)
	}
	return res, nil
}

// ReturnQuota implements auth.Store.
func (s *SQLiteStore) ReturnQuota(ctx context.Context, app string, q auth.Quota, now time.Time) error {
	err := s.do(ctx, func(tx *wtx) error {
		b, err := loadBucket(tx, app, q, now)
		if err != nil {
			return err
		}
		return saveBucket(tx, app, q.Return(b, now))
	})
	if err != nil {
		return fmt.Errorf("sqlite store: quota: %w", err)
	}
	return nil
}

func loadBucket(tx *wtx, app string, q auth.Quota, now time.Time) (auth.Bucket, error) {
	var b auth.Bucket
	err := tx.QueryRow(`SELECT tokens, refilled, day, day_count FROM auth_quota WHERE app = ?`, app).Scan(&b.Tokens, &b.Refilled, &b.Day, &b.Count)
	if errors.Is(err, sql.ErrNoRows) {
		return q.NewBucket(now), nil
	}
	return b, err
}

func saveBucket(tx *wtx, app string, b auth.Bucket) error {
	_, err := tx.Exec(`INSERT OR REPLACE INTO auth_quota (app, tokens, refilled, day, day_count) VALUES (?, ?, ?, ?, ?)`,
		app, b.Tokens, b.Refilled, b.Day, b.Count)
	return err
}

// InitSecret implements auth.Store.
func (s *SQLiteStore) InitSecret(ctx context.Context, app, secret string) (string, error) {
	var stored string
	err := s.do(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO auth_secrets (app, secret) VALUES (?, ?)`, app, secret); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT secret FROM auth_secrets WHERE app = ?`, app).Scan(&stored)
	})
	if err != nil {
		return "", fmt.Errorf("sqlite store: application secret: %w", err)
	}
	return stored, nil
}
