package sms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteFile is the database file of the embedded store in the data directory.
const SQLiteFile = "sms.db"

// maxBatch bounds how many writes share one transaction (group commit).
const maxBatch = 256

// sqliteSchema is created by the first worker; the others find it. Times are
// Unix nanoseconds; lease_until 0 and owner ” mean "not leased".
const sqliteSchema = `
CREATE TABLE IF NOT EXISTS messages (
	id          TEXT PRIMARY KEY,
	phone       TEXT NOT NULL,
	template    TEXT NOT NULL,
	text        TEXT NOT NULL,
	status      TEXT NOT NULL,
	attempts    INTEGER NOT NULL,
	last_error  TEXT NOT NULL,
	worker      INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	sent_at     INTEGER NOT NULL,
	owner       TEXT NOT NULL,
	lease_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_pending ON messages (lease_until) WHERE status IN ('queued', 'sending');
CREATE TABLE IF NOT EXISTS rate (phone TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS rate_phone ON rate (phone, at);
CREATE TABLE IF NOT EXISTS deliveries (
	provider    TEXT NOT NULL,
	provider_id TEXT NOT NULL,
	id          TEXT NOT NULL,
	status      TEXT NOT NULL,
	code        TEXT NOT NULL,
	at          INTEGER NOT NULL,
	PRIMARY KEY (provider, provider_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_id ON deliveries (id);
CREATE TABLE IF NOT EXISTS idempotency (
	key         TEXT PRIMARY KEY,
	id          TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	expires     INTEGER NOT NULL
) WITHOUT ROWID;
`

const messageColumns = `id, phone, template, text, status, attempts, last_error, worker, created_at, updated_at, sent_at, owner`

// SQLiteStore is the embedded store: one SQLite database in WAL mode that
// every worker process on the host opens. SQLite's locks serialise the
// writers of all processes; readers never wait. Each process funnels its
// writes through one goroutine that commits whatever has queued up meanwhile
// in one transaction (group commit), so a commit's fsync is shared by many
// requests. With synchronous=FULL a committed message survives a crash of
// the process and of the machine.
type SQLiteStore struct {
	path  string
	write *sql.DB // one connection, used by the writer goroutine only
	read  *sql.DB // a pool for Get, Stats and Claim's look-ahead

	stmts      map[string]*sql.Stmt // prepared on write, by query; the writer goroutine's
	unprepared map[string]bool      // queries to prepare after the current transaction

	ops  chan *sqliteOp
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// sqliteOp is one write of a group commit. fn runs inside the batch's
// transaction and reports results through its closure; an error from fn
// rolls the batch back, after which each op is retried alone.
type sqliteOp struct {
	fn   func(tx *wtx) error
	done chan error
}

// errStoreClosed is returned by calls after Close.
var errStoreClosed = errors.New("store closed")

// OpenSQLite opens (creating if missing) the database at path.
func OpenSQLite(path string) (*SQLiteStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(OFF)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := "file:" + path + "?" + pragmas.Encode()
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	s := &SQLiteStore{path: path, write: write, read: read, stmts: map[string]*sql.Stmt{}, unprepared: map[string]bool{}, ops: make(chan *sqliteOp, maxBatch), quit: make(chan struct{})}
	// The writer retries a busy database itself, in steps far finer than
	// SQLite's busy handler (which sleeps 1, 2, 5, 10… ms): with several
	// processes taking turns, those sleeps are most of the latency.
	if _, err := s.write.Exec(`PRAGMA busy_timeout = 0`); err != nil {
		s.write.Close()
		s.read.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	if err := s.migrate(); err != nil {
		s.write.Close()
		s.read.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

func (s *SQLiteStore) migrate() error {
	tx, err := s.begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(sqliteSchema); err != nil {
		return err
	}
	return tx.Commit()
}

// String names the store.
func (s *SQLiteStore) String() string { return "sqlite:" + s.path }

// Close stops the writer and closes the database.
func (s *SQLiteStore) Close() error {
	s.once.Do(func() { close(s.quit) })
	s.wg.Wait()
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	s.stmts = nil
	return errors.Join(append(errs, s.write.Close(), s.read.Close())...)
}

// do runs fn in the next group commit and waits for its outcome. Once
// submitted, the write is waited for even if ctx ends, so the caller never
// answers "failed" for a message that was in fact committed.
func (s *SQLiteStore) do(ctx context.Context, fn func(tx *wtx) error) error {
	op := &sqliteOp{fn: fn, done: make(chan error, 1)}
	select {
	case s.ops <- op:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return errStoreClosed
	}
	return <-op.done
}

// writer owns the write connection: it takes the first waiting op, adds
// every op that queued up behind it, and commits them together.
func (s *SQLiteStore) writer() {
	defer s.wg.Done()
	batch := make([]*sqliteOp, 0, maxBatch)
	for {
		select {
		case op := <-s.ops:
			batch = append(batch[:0], op)
		case <-s.quit:
			s.failPending()
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case op := <-s.ops:
				batch = append(batch, op)
			default:
				break more
			}
		}
		err := s.commit(batch)
		if err != nil && len(batch) > 1 {
			for _, op := range batch { // one bad op must not fail the others
				op.done <- s.commit([]*sqliteOp{op})
			}
			continue
		}
		for _, op := range batch {
			op.done <- err
		}
	}
}

func (s *SQLiteStore) failPending() {
	for {
		select {
		case op := <-s.ops:
			op.done <- errStoreClosed
		default:
			return
		}
	}
}

// busyTimeout bounds how long begin waits for another process's write.
const busyTimeout = 10 * time.Second

// begin starts a write transaction (BEGIN IMMEDIATE), retrying while
// another process writes: waits from 20 µs doubling to 1 ms, with jitter,
// for up to busyTimeout.
func (s *SQLiteStore) begin() (*sql.Tx, error) {
	wait := 20 * time.Microsecond
	deadline := time.Now().Add(busyTimeout)
	for {
		tx, err := s.write.Begin()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return tx, err
		}
		time.Sleep(wait/2 + rand.N(wait))
		wait = min(2*wait, time.Millisecond)
	}
}

// isBusy reports SQLITE_BUSY (another connection holds the write lock).
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// wtx is a write transaction whose statements are prepared once per query
// and reused: parsing SQL is a large share of a small write's cost.
type wtx struct {
	tx *sql.Tx
	s  *SQLiteStore
}

// stmt returns the transaction's copy of the prepared query, or nil the
// first time: a statement cannot be prepared on the one write connection
// while the transaction holds it, so the query runs unprepared and is
// prepared after the commit (see prepareMissing).
func (t *wtx) stmt(query string) *sql.Stmt {
	if st, ok := t.s.stmts[query]; ok {
		return t.tx.Stmt(st)
	}
	t.s.unprepared[query] = true
	return nil
}

// Exec runs query in the transaction.
func (t *wtx) Exec(query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.Exec(args...)
	}
	return t.tx.Exec(query, args...)
}

// Query runs query in the transaction.
func (t *wtx) Query(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(query); st != nil {
		return st.Query(args...)
	}
	return t.tx.Query(query, args...)
}

// QueryRow runs query in the transaction.
func (t *wtx) QueryRow(query string, args ...any) rowScanner {
	if st := t.stmt(query); st != nil {
		return st.QueryRow(args...)
	}
	return t.tx.QueryRow(query, args...)
}

// prepareMissing prepares the queries that ran unprepared, between
// transactions.
func (s *SQLiteStore) prepareMissing() {
	for q := range s.unprepared {
		if st, err := s.write.Prepare(q); err == nil {
			s.stmts[q] = st
		}
		delete(s.unprepared, q)
	}
}

// rowScanner is *sql.Row.
type rowScanner interface{ Scan(...any) error }

func (s *SQLiteStore) commit(batch []*sqliteOp) error {
	defer s.prepareMissing()
	sqlTx, err := s.begin()
	if err != nil {
		return fmt.Errorf("sqlite store: begin: %w", err)
	}
	tx := &wtx{tx: sqlTx, s: s}
	for _, op := range batch {
		if err := op.fn(tx); err != nil {
			sqlTx.Rollback()
			return fmt.Errorf("sqlite store: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlite store: commit: %w", err)
	}
	return nil
}

// Accept implements Store.
func (s *SQLiteStore) Accept(ctx context.Context, req AcceptRequest) (AcceptResult, error) {
	var res AcceptResult
	m := req.Message
	now := m.CreatedAt.UnixNano()
	err := s.do(ctx, func(tx *wtx) error {
		res = AcceptResult{}
		if req.IdempotencyKey != "" {
			var id, fp string
			err := tx.QueryRow(`SELECT id, fingerprint FROM idempotency WHERE key = ? AND expires > ?`, req.IdempotencyKey, now).Scan(&id, &fp)
			switch {
			case err == nil && fp != req.Fingerprint:
				return nil // reported below: res.ID empty, not limited
			case err == nil:
				res.ID, res.Replayed = id, true
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		if req.MaxDepth > 0 {
			var depth int
			if err := tx.QueryRow(`SELECT count(*) FROM (SELECT 1 FROM messages WHERE status IN ('queued', 'sending') LIMIT ?)`, req.MaxDepth).Scan(&depth); err != nil {
				return err
			}
			if depth >= req.MaxDepth {
				res.Full = true
				return nil
			}
		}
		cutoff := now - int64(req.RateWindow)
		if _, err := tx.Exec(`DELETE FROM rate WHERE phone = ? AND at <= ?`, req.PhoneKey, cutoff); err != nil {
			return err
		}
		stamps, err := queryInts(tx, `SELECT at FROM rate WHERE phone = ? ORDER BY at`, req.PhoneKey)
		if err != nil {
			return err
		}
		if len(stamps) >= req.RateLimit {
			res.RetryAfter = max(time.Duration(stamps[len(stamps)-req.RateLimit]-cutoff), time.Nanosecond)
			return nil
		}
		if _, err := tx.Exec(`INSERT INTO rate (phone, at) VALUES (?, ?)`, req.PhoneKey, now); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO messages (`+messageColumns+`, lease_until) VALUES (?, ?, ?, ?, ?, 0, '', ?, ?, ?, 0, '', 0)`,
			m.ID, m.Phone, m.Template, m.Text, StatusQueued, m.Worker, now, now); err != nil {
			return err
		}
		if req.IdempotencyKey != "" {
			if _, err := tx.Exec(`INSERT OR REPLACE INTO idempotency (key, id, fingerprint, expires) VALUES (?, ?, ?, ?)`,
				req.IdempotencyKey, m.ID, req.Fingerprint, now+int64(req.KeyTTL)); err != nil {
				return err
			}
		}
		res.ID = m.ID
		return nil
	})
	if err != nil {
		return AcceptResult{}, err
	}
	if res.ID == "" && res.RetryAfter == 0 && !res.Full {
		return AcceptResult{}, ErrIdempotencyConflict
	}
	return res, nil
}

func queryInts(tx *wtx, query string, args ...any) ([]int64, error) {
	rows, err := tx.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, id string) (Message, error) {
	if !validID(id) {
		return Message{}, ErrNotFound
	}
	m, _, err := scanMessage(s.read.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("sqlite store: %w", err)
	}
	if m.Status == StatusDelivered || m.Status == StatusUndelivered {
		if m.Delivery, err = s.delivery(ctx, id); err != nil {
			return Message{}, fmt.Errorf("sqlite store: %w", err)
		}
	}
	return m, nil
}

func scanMessage(row rowScanner) (Message, string, error) {
	var (
		m                      Message
		created, updated, sent int64
		owner                  string
	)
	err := row.Scan(&m.ID, &m.Phone, &m.Template, &m.Text, &m.Status, &m.Attempts, &m.LastError, &m.Worker, &created, &updated, &sent, &owner)
	m.CreatedAt, m.UpdatedAt = time.Unix(0, created), time.Unix(0, updated)
	if sent != 0 {
		t := time.Unix(0, sent)
		m.SentAt = &t
	}
	return m, owner, err
}

// Claim implements Store. A read looks for due messages first, so an idle
// gateway's polling takes no write lock.
func (s *SQLiteStore) Claim(ctx context.Context, c ClaimRequest) ([]Lease, error) {
	now := c.Now.UnixNano()
	var any int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM messages WHERE status IN ('queued', 'sending') AND lease_until < ? LIMIT 1)`, now).Scan(&any)
	if err != nil || any == 0 {
		if err != nil {
			err = fmt.Errorf("sqlite store: %w", err)
		}
		return nil, err
	}
	var leases []Lease
	err = s.do(ctx, func(tx *wtx) error {
		leases = leases[:0]
		rows, err := tx.Query(`SELECT id FROM messages WHERE status IN ('queued', 'sending') AND lease_until < ? ORDER BY lease_until LIMIT ?`, now, c.Max)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, id := range ids {
			m, prev, err := scanMessage(tx.QueryRow(`SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
			if err != nil {
				return err
			}
			m.Attempts++
			m.Status, m.UpdatedAt = StatusSending, c.Now
			owner, until := c.Owner, now+int64(c.Lease)
			if m.Attempts > c.GiveUpAfter {
				m.Attempts--
				m.Status, m.LastError = StatusFailed, giveUpError(m)
				owner, until = "", 0
			}
			if _, err := tx.Exec(`UPDATE messages SET status = ?, attempts = ?, last_error = ?, updated_at = ?, owner = ?, lease_until = ? WHERE id = ?`,
				m.Status, m.Attempts, m.LastError, now, owner, until, id); err != nil {
				return err
			}
			if m.Status == StatusSending {
				leases = append(leases, Lease{Message: m, Takeover: prev != ""})
			}
		}
		return nil
	})
	return leases, err
}

// giveUpError is the LastError of a message failed by Claim.
func giveUpError(m Message) string {
	msg := fmt.Sprintf("gave up after %d attempts: workers were lost during delivery", m.Attempts)
	if m.LastError != "" {
		msg += " (last provider error: " + m.LastError + ")"
	}
	return msg
}

// Renew implements Store.
func (s *SQLiteStore) Renew(ctx context.Context, owner string, leases []Lease, lease time.Duration) ([]Lease, error) {
	var lost []Lease
	until := time.Now().Add(lease).UnixNano()
	err := s.do(ctx, func(tx *wtx) error {
		lost = lost[:0]
		for _, l := range leases {
			res, err := tx.Exec(`UPDATE messages SET lease_until = ? WHERE id = ? AND owner = ?`, until, l.Message.ID, owner)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				lost = append(lost, l)
			}
		}
		return nil
	})
	return lost, err
}

// Update implements Store.
func (s *SQLiteStore) Update(ctx context.Context, owner string, l Lease, m Message) (bool, error) {
	return s.put(ctx, owner, m, !m.Status.Final())
}

// Release implements Store.
func (s *SQLiteStore) Release(ctx context.Context, owner string, l Lease, m Message) (bool, error) {
	m.Status = StatusQueued
	return s.put(ctx, owner, m, false)
}

// put writes m's mutable fields if owner holds its lease; keep says whether
// the lease continues.
func (s *SQLiteStore) put(ctx context.Context, owner string, m Message, keep bool) (bool, error) {
	var sent int64
	if m.SentAt != nil {
		sent = m.SentAt.UnixNano()
	}
	set := `owner = '', lease_until = 0`
	if keep {
		set = `owner = owner, lease_until = lease_until`
	}
	var held bool
	err := s.do(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`UPDATE messages SET status = ?, attempts = ?, last_error = ?, updated_at = ?, sent_at = ?, `+set+` WHERE id = ? AND owner = ?`,
			m.Status, m.Attempts, m.LastError, m.UpdatedAt.UnixNano(), sent, m.ID, owner)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		held = n == 1
		return err
	})
	return held, err
}

// Stats implements Store.
func (s *SQLiteStore) Stats(ctx context.Context) (StoreStats, error) {
	var (
		n      int
		oldest sql.NullInt64
	)
	err := s.read.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM messages WHERE status IN ('queued', 'sending')`).Scan(&n, &oldest)
	if err != nil {
		return StoreStats{}, fmt.Errorf("sqlite store: %w", err)
	}
	st := StoreStats{Depth: n}
	if oldest.Valid {
		st.Oldest = time.Unix(0, oldest.Int64)
	}
	return st, nil
}

// Prune deletes idempotency keys past their expiry and rate-limit stamps
// older than window; the gateway calls it now and then.
func (s *SQLiteStore) Prune(ctx context.Context, now time.Time, window time.Duration) error {
	return s.do(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`DELETE FROM idempotency WHERE expires <= ?`, now.UnixNano()); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM rate WHERE at <= ?`, now.Add(-window).UnixNano())
		return err
	})
}
