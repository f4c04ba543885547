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
// Unix nanoseconds. lease_until is the message's one "not before" time: no
// worker claims it earlier. While it is leased (owner set) that is the end
// of the lease; while it is queued (owner ”) the time it is due, its
// send_at or its next retry (0: at once), so the index messages_pending
// serves expired leases, schedules and retries alike. send_at is the time
// the client asked for (0: none), kept for the record. phone_key is the
// rate-limit key (NormalizePhone's digits): the per-phone limit counts the
// messages of the phone created in the window on the index messages_phone
// (made by migrate, after the column of an older database).
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
	lease_until INTEGER NOT NULL,
	send_at     INTEGER NOT NULL DEFAULT 0,
	phone_key   TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_pending ON messages (lease_until) WHERE status IN ('queued', 'sending');
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

// messageSelect is what scanMessage reads: messageColumns and the times the
// record derives its schedule from.
const messageSelect = messageColumns + `, lease_until, send_at`

// SQLiteStore is the embedded store: one SQLite database in WAL mode that
// every worker process on the host opens. SQLite's locks serialise the
// writers of all processes; readers never wait. Each process funnels its
// writes through one goroutine that commits whatever has queued up meanwhile
// in one transaction (group commit), so a commit's fsync is shared by many
// requests. The processes' writers queue for the database on a lock file
// (writerLock) and each takes, once it holds the lock, every op that queued
// up while it waited: the busier the database, the larger the group commit.
// With synchronous=FULL a committed message survives a crash of the process
// and of the machine.
type SQLiteStore struct {
	path       string
	legacyRate bool // the database has the rate stamps of older gateways: Prune empties it

	lock  *writerLock // queues this database's writers across processes
	write *sql.DB     // one connection, used by the writer goroutine only
	read  *sql.DB     // a pool for Get, Stats and Claim's look-ahead

	stmts      map[string]*sql.Stmt // prepared on write, by query; the writer goroutine's
	unprepared map[string]bool      // queries to prepare after the current transaction

	ops  chan *sqliteOp
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// sqliteOp is one write of a group commit. fn runs inside the batch's
// transaction and reports results through its closure; an error from fn
// rolls the batch back, after which each op is retried alone. A lazy op
// may wait up to lazyDelay for other ops to share its commit.
type sqliteOp struct {
	fn   func(tx *wtx) error
	done chan error
	lazy bool
}

// lazyDelay is how long a lazy write (a delivery's final outcome) waits
// for other writes to commit with: every commit is an fsync and a turn of
// the writer lock shared by all the processes, so an outcome that rides
// along with the next accept's commit halves the commits of a steady
// stream of sends. Nobody waits for an outcome but the lease holder, and
// if it is lost meanwhile the message is delivered again under the same
// id, as after any crash between the provider's answer and its record.
const lazyDelay = 10 * time.Millisecond

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
	lock, err := openWriterLock(path)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	s := &SQLiteStore{path: path, lock: lock, write: write, read: read, stmts: map[string]*sql.Stmt{}, unprepared: map[string]bool{}, ops: make(chan *sqliteOp, maxBatch), quit: make(chan struct{})}
	// The schema is made with SQLite's busy handler on: the workers of a
	// fresh gateway open the database at once, and the first connections
	// to a new database meet its switch to WAL mode and its first
	// checkpoints, which the writer lock does not cover.
	if err := s.migrate(); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlite store %s: creating the schema: %w", path, err)
	}
	// From here the writers queue on the writer lock; a database busy in
	// spite of it (a writer that does not take it) is retried in steps far
	// finer than SQLite's busy handler's sleeps of 1, 2, 5, 10… ms (see
	// begin).
	if _, err := s.write.Exec(`PRAGMA busy_timeout = 0`); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

func (s *SQLiteStore) closeDBs() error {
	return errors.Join(s.write.Close(), s.read.Close(), s.lock.close())
}

func (s *SQLiteStore) migrate() error {
	tx, err := s.begin()
	if err != nil {
		return err
	}
	defer s.lock.unlock()
	defer tx.Rollback()
	if _, err := tx.Exec(sqliteSchema + sqliteAuthSchema); err != nil {
		return err
	}
	if _, err := addColumn(tx, "send_at", "INTEGER NOT NULL DEFAULT 0"); err != nil {
		return err
	}
	if err := addPhoneKey(tx); err != nil {
		return err
	}
	if _, err := tx.Exec(`CREATE INDEX IF NOT EXISTS messages_phone ON messages (phone_key, created_at)`); err != nil {
		return err
	}
	if err := tx.QueryRow(`SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'rate'`).Scan(&s.legacyRate); err != nil {
		return err
	}
	return tx.Commit()
}

// addColumn adds a column to the messages table of a database made before
// it existed, and reports whether it did.
func addColumn(tx *sql.Tx, name, decl string) (bool, error) {
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM pragma_table_info('messages') WHERE name = ?`, name).Scan(&n); err != nil || n == 1 {
		return false, err
	}
	_, err := tx.Exec(`ALTER TABLE messages ADD COLUMN ` + name + ` ` + decl)
	return err == nil, err
}

// phoneKeyBackfill is how far back a database made before phone_key gets
// its messages' keys, so the rate limit still counts them: longer than any
// rate window in use.
const phoneKeyBackfill = 24 * time.Hour

// addPhoneKey adds phone_key to a database whose rate limit counted stamps
// in the table rate (older gateways) and fills it in for its recent
// messages. Messages that a worker of the older version still accepts
// afterwards (a rolling upgrade) have no key and do not count, so for one
// rate window the limit counts old and new workers' messages apart.
func addPhoneKey(tx *sql.Tx) error {
	added, err := addColumn(tx, "phone_key", "TEXT NOT NULL DEFAULT ''")
	if err != nil || !added {
		return err
	}
	_, err = tx.Exec(`UPDATE messages SET phone_key = ltrim(phone, '+') WHERE created_at > ?`, time.Now().Add(-phoneKeyBackfill).UnixNano())
	return err
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
	return errors.Join(append(errs, s.closeDBs())...)
}

// do runs fn in the next group commit and waits for its outcome. Once
// submitted, the write is waited for even if ctx ends, so the caller never
// answers "failed" for a message that was in fact committed.
func (s *SQLiteStore) do(ctx context.Context, fn func(tx *wtx) error) error {
	return s.submit(ctx, &sqliteOp{fn: fn, done: make(chan error, 1)})
}

// doLazy is do for a write that may wait lazyDelay to share a commit.
func (s *SQLiteStore) doLazy(ctx context.Context, fn func(tx *wtx) error) error {
	return s.submit(ctx, &sqliteOp{fn: fn, done: make(chan error, 1), lazy: true})
}

func (s *SQLiteStore) submit(ctx context.Context, op *sqliteOp) error {
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
// every op that queued up behind it, and commits them together. A batch of
// lazy ops only waits for an op that is not (or for lazyDelay) first.
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
		batch = s.gather(batch)
		if allLazy(batch) {
			batch = s.waitUrgent(batch)
		}
		var err error
		batch, err = s.commit(batch, true)
		if err != nil && len(batch) > 1 {
			for _, op := range batch { // one bad op must not fail the others
				_, err := s.commit([]*sqliteOp{op}, false)
				op.done <- err
			}
			continue
		}
		for _, op := range batch {
			op.done <- err
		}
	}
}

// gather adds to batch the ops waiting in the queue, up to maxBatch.
func (s *SQLiteStore) gather(batch []*sqliteOp) []*sqliteOp {
	for len(batch) < maxBatch {
		select {
		case op := <-s.ops:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

func allLazy(batch []*sqliteOp) bool {
	for _, op := range batch {
		if !op.lazy {
			return false
		}
	}
	return true
}

// waitUrgent adds ops to a batch of lazy ones until one is not lazy, the
// batch is full, lazyDelay has passed or the store closes.
func (s *SQLiteStore) waitUrgent(batch []*sqliteOp) []*sqliteOp {
	t := time.NewTimer(lazyDelay)
	defer t.Stop()
	for len(batch) < maxBatch {
		select {
		case op := <-s.ops:
			batch = append(batch, op)
			if !op.lazy {
				return s.gather(batch)
			}
		case <-t.C:
			return batch
		case <-s.quit:
			return batch
		}
	}
	return batch
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

// begin takes the writer lock and starts a write transaction (BEGIN
// IMMEDIATE); the caller ends the transaction, then releases s.lock. The
// database is busy in spite of the lock only when a process that does not
// take it writes (an older gateway, the sqlite3 shell): begin retries then,
// waiting from 20 µs doubling to 1 ms, with jitter, for up to busyTimeout.
func (s *SQLiteStore) begin() (*sql.Tx, error) {
	if err := s.lock.lock(busyTimeout); err != nil {
		return nil, err
	}
	tx, err := s.beginBusy()
	if err != nil {
		s.lock.unlock()
	}
	return tx, err
}

func (s *SQLiteStore) beginBusy() (*sql.Tx, error) {
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

// commit runs batch in one transaction. With more, the ops that queued up
// while begin waited for the write lock join the batch: the busier the
// database, the larger the group commit. It returns the batch it ran.
func (s *SQLiteStore) commit(batch []*sqliteOp, more bool) ([]*sqliteOp, error) {
	defer s.prepareMissing()
	sqlTx, err := s.begin()
	if err != nil {
		return batch, fmt.Errorf("sqlite store: begin: %w", err)
	}
	defer s.lock.unlock()
	if more {
		batch = s.gather(batch)
	}
	tx := &wtx{tx: sqlTx, s: s}
	for _, op := range batch {
		if err := op.fn(tx); err != nil {
			sqlTx.Rollback()
			return batch, fmt.Errorf("sqlite store: %w", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return batch, fmt.Errorf("sqlite store: commit: %w", err)
	}
	return batch, nil
}

// Accept implements Store.
func (s *SQLiteStore) Accept(ctx context.Context, req AcceptRequest) (AcceptResult, error) {
	var res AcceptResult
	now := req.Message.CreatedAt.UnixNano()
	err := s.do(ctx, func(tx *wtx) error {
		res = AcceptResult{}
		m := req.Message
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
		// Leased at once (the accepting worker delivers it), or queued
		// until its send_at (0: due at once).
		m.Status, m.Attempts = StatusQueued, 0
		owner, until := "", unixNano(m.SendAt)
		leased := m.SendAt == nil && req.Lease.Owner != "" && claimTransition(&m, m.CreatedAt, 1)
		if leased {
			owner, until = req.Lease.Owner, now+int64(req.Lease.Duration)
		}
		// The message goes in only while its phone has fewer than
		// RateLimit in the window: one statement checks and stores in
		// the usual case.
		cutoff := now - int64(req.RateWindow)
		ins, err := tx.Exec(`INSERT INTO messages (`+messageColumns+`, lease_until, send_at, phone_key)
			SELECT ?, ?, ?, ?, ?, ?, '', ?, ?, ?, 0, ?, ?, ?, ?
			WHERE (SELECT count(*) FROM messages WHERE phone_key = ? AND created_at > ?) < ?`,
			m.ID, m.Phone, m.Template, m.Text, m.Status, m.Attempts, m.Worker, now, now, owner, until, unixNano(m.SendAt), req.PhoneKey,
			req.PhoneKey, cutoff, req.RateLimit)
		if err != nil {
			return err
		}
		if n, err := ins.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			// Limited: the next send is allowed when the RateLimit-th
			// newest message leaves the window.
			var oldest int64
			if err := tx.QueryRow(`SELECT created_at FROM messages WHERE phone_key = ? AND created_at > ? ORDER BY created_at DESC LIMIT 1 OFFSET ?`,
				req.PhoneKey, cutoff, req.RateLimit-1).Scan(&oldest); err != nil {
				return err
			}
			res.RetryAfter = max(time.Duration(oldest-cutoff), time.Nanosecond)
			return nil
		}
		if leased {
			res.Lease = &Lease{Message: m}
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

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, id string) (Message, error) {
	if !validID(id) {
		return Message{}, ErrNotFound
	}
	m, _, err := scanMessage(s.read.QueryRowContext(ctx, `SELECT `+messageSelect+` FROM messages WHERE id = ?`, id))
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

// scanMessage reads a row of messageSelect; it returns the lease owner too.
func scanMessage(row rowScanner) (Message, string, error) {
	var (
		m                                  Message
		created, updated, sent, until, sAt int64
		owner                              string
	)
	err := row.Scan(&m.ID, &m.Phone, &m.Template, &m.Text, &m.Status, &m.Attempts, &m.LastError, &m.Worker, &created, &updated, &sent, &owner, &until, &sAt)
	m.CreatedAt, m.UpdatedAt = time.Unix(0, created), time.Unix(0, updated)
	m.SentAt, m.SendAt = timeOrNil(sent), timeOrNil(sAt)
	if m.Status == StatusQueued && owner == "" {
		m.NextAttemptAt = timeOrNil(until)
	}
	return m, owner, err
}

// timeOrNil is the time of Unix nanoseconds ns, nil for 0.
func timeOrNil(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns)
	return &t
}

// unixNano is t in Unix nanoseconds, 0 for nil.
func unixNano(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

// Claim implements Store. A read looks for due messages first, so an idle
// gateway's polling takes no write lock. A queued message's lease_until is
// its due time, so one range on the index finds due, scheduled-and-due,
// retry-due and expired-lease messages.
func (s *SQLiteStore) Claim(ctx context.Context, c ClaimRequest) ([]Lease, error) {
	now := c.Now.UnixNano()
	var any int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM messages WHERE status IN ('queued', 'sending') AND lease_until <= ? LIMIT 1)`, now).Scan(&any)
	if err != nil || any == 0 {
		if err != nil {
			err = fmt.Errorf("sqlite store: %w", err)
		}
		return nil, err
	}
	var leases []Lease
	err = s.do(ctx, func(tx *wtx) error {
		leases = leases[:0]
		rows, err := tx.Query(`SELECT id FROM messages WHERE status IN ('queued', 'sending') AND lease_until <= ? ORDER BY lease_until LIMIT ?`, now, c.Max)
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
			m, prev, err := scanMessage(tx.QueryRow(`SELECT `+messageSelect+` FROM messages WHERE id = ?`, id))
			if err != nil {
				return err
			}
			leased := claimTransition(&m, c.Now, c.GiveUpAfter)
			owner, until := c.Owner, now+int64(c.Lease)
			if !leased {
				owner, until = "", 0
			}
			if _, err := tx.Exec(`UPDATE messages SET status = ?, attempts = ?, last_error = ?, updated_at = ?, owner = ?, lease_until = ? WHERE id = ?`,
				m.Status, m.Attempts, m.LastError, now, owner, until, id); err != nil {
				return err
			}
			if leased {
				leases = append(leases, Lease{Message: m, Takeover: prev != ""})
			}
		}
		return nil
	})
	return leases, err
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

// Update implements Store. A final outcome is a lazy write: it shares the
// commit of the next other write, or waits lazyDelay.
func (s *SQLiteStore) Update(ctx context.Context, owner string, l Lease, m Message) (bool, error) {
	return s.put(ctx, owner, m, !m.Status.Final())
}

// Release implements Store: lease_until becomes the time the message is
// due again.
func (s *SQLiteStore) Release(ctx context.Context, owner string, l Lease, m Message) (bool, error) {
	m.Status = StatusQueued
	return s.put(ctx, owner, m, false)
}

// put writes m's mutable fields if owner holds its lease; keep says whether
// the lease continues. When it ends, m.NextAttemptAt (0 when nil) is when
// the message may be claimed again.
func (s *SQLiteStore) put(ctx context.Context, owner string, m Message, keep bool) (bool, error) {
	args := []any{m.Status, m.Attempts, m.LastError, m.UpdatedAt.UnixNano(), unixNano(m.SentAt)}
	set := `owner = owner, lease_until = lease_until`
	if !keep {
		set = `owner = '', lease_until = ?`
		args = append(args, unixNano(m.NextAttemptAt))
	}
	args = append(args, m.ID, owner)
	var held bool
	do := s.do
	if m.Status.Final() {
		do = s.doLazy
	}
	err := do(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`UPDATE messages SET status = ?, attempts = ?, last_error = ?, updated_at = ?, sent_at = ?, `+set+` WHERE id = ? AND owner = ?`, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		held = n == 1
		return err
	})
	return held, err
}

// Cancel implements Store.
func (s *SQLiteStore) Cancel(ctx context.Context, id string, now time.Time) (Message, bool, error) {
	if !validID(id) {
		return Message{}, false, ErrNotFound
	}
	var (
		m         Message
		cancelled bool
		result    error
	)
	err := s.do(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`UPDATE messages SET status = ?, updated_at = ?, lease_until = 0 WHERE id = ? AND status = ? AND owner = ''`,
			StatusCancelled, now.UnixNano(), id, StatusQueued)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		cancelled, result = n == 1, nil
		m, _, err = scanMessage(tx.QueryRow(`SELECT `+messageSelect+` FROM messages WHERE id = ?`, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			result = ErrNotFound
		case err != nil:
			return err
		case m.Status != StatusCancelled:
			result = ErrNotCancellable
		}
		return nil
	})
	if err != nil {
		return Message{}, false, fmt.Errorf("sqlite store: %w", err)
	}
	return m, cancelled, result
}

// Stats implements Store. A queued message waiting for a future time (its
// lease_until) is counted in Depth but not in Oldest; a due one counts from
// the later of its creation and its send_at.
func (s *SQLiteStore) Stats(ctx context.Context) (StoreStats, error) {
	var (
		n      int
		oldest sql.NullInt64
	)
	err := s.read.QueryRowContext(ctx, `SELECT count(*), min(CASE WHEN status = 'sending' OR lease_until <= ? THEN max(created_at, send_at) END)
		FROM messages WHERE status IN ('queued', 'sending')`, time.Now().UnixNano()).Scan(&n, &oldest)
	if err != nil {
		return StoreStats{}, fmt.Errorf("sqlite store: %w", err)
	}
	st := StoreStats{Depth: n}
	if oldest.Valid {
		st.Oldest = time.Unix(0, oldest.Int64)
	}
	return st, nil
}

// Prune deletes idempotency keys past their expiry, and the rate-limit
// stamps older than window that gateways before phone_key kept in the
// table rate; the gateway calls it now and then.
func (s *SQLiteStore) Prune(ctx context.Context, now time.Time, window time.Duration) error {
	return s.do(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`DELETE FROM idempotency WHERE expires <= ?`, now.UnixNano()); err != nil {
			return err
		}
		if !s.legacyRate {
			return nil
		}
		_, err := tx.Exec(`DELETE FROM rate WHERE at <= ?`, now.Add(-window).UnixNano())
		return err
	})
}
