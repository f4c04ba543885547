// Package sms is the domain of the reference SMS gateway: request
// validation, message templates, and a durable delivery pipeline shared by
// every worker of a gateway, on one host or many.
//
// The package knows nothing of node-agent: main wires it to the container
// library by passing a net.Listener, a done channel, a *slog.Logger, the
// worker id (Config.WorkerID), business metrics (Hooks.Metrics) and the
// process actions of the fault switches (Hooks). See the gateway's own
// doc.go for the HTTP API.
//
// # The store
//
// Everything workers share goes through one Store: message records, the
// delivery queue with leases, the per-phone rate limit and idempotency
// keys. OpenStore picks the backend from Config.Store:
//
//   - SQLiteStore (default): one SQLite database in WAL mode (pure Go,
//     modernc.org/sqlite) that every worker process on the host opens.
//     Each process funnels its writes through one goroutine that commits
//     whatever queued up meanwhile in one transaction (group commit); the
//     processes' writers queue for the database on a lock file (sms.db-wlock)
//     instead of retrying a busy one; synchronous=FULL, so Accept returns
//     only once the message is on disk. Every commit is an fsync and a
//     turn of that lock, so the store makes few: a message its accepting
//     worker will deliver is leased to it in the accept's own commit
//     (AcceptRequest.Lease, Deliverer.Reserve/Adopt: no Claim), and a
//     delivery's final outcome waits up to 10 ms to share the next
//     accept's commit. The per-phone limit counts the phone's messages of
//     the window on an index of the messages table; message ids begin with
//     their time (NewID), so new rows share B-tree pages.
//   - RedisStore: records as JSON strings, the limit as a sorted set per
//     phone decided in a Lua script on Redis's clock (so it holds across
//     hosts), the queue as the stream sms:queue read by the consumer group
//     "senders" (XREADGROUP; XCLAIM to renew; XAUTOCLAIM to take over;
//     XACK and XDEL when final), and messages waiting for a time in the
//     sorted set sms:due, scored by that time.
//
// Accept is atomic in both: idempotency key, limit, record and queue entry
// are stored together or not at all.
//
// Both also keep what package auth shares between workers and hosts
// (store_*_auth.go): the nonces of signed requests, the applications'
// quota buckets (decided in one transaction, or one Lua script on Redis's
// clock) and the default application's secret.
//
// # Scheduled sends, retries and cancelling
//
// Every queued message has one "not before" time (Message.NextAttemptAt):
// none for a message due at once, its send_at for a scheduled send
// (POST /api/sms/send with "send_at", RFC 3339, at most MaxScheduleAhead,
// 7 days, ahead), and after a failed attempt the end of its backoff. Claim
// hands out only messages whose time has come, so a message waits in the
// store, not in a worker: it survives any worker's crash and restart, and
// no sender goroutine is held while it waits. In SQLite the time is the
// lease_until column while the message is queued (the same partial index
// finds expired leases and due messages); in Redis the message is in
// sms:due until a Claim's script moves it into the stream, and every move
// between the two is one script, so a worker dying between steps loses
// nothing. "Due" is judged by the claiming worker's clock in SQLite (one
// host) and by Redis's clock in Redis (one clock for all hosts, as for the
// rate limit). A due message is claimed within Config.PollInterval (100
// ms) by whichever worker polls first.
//
// DELETE /api/sms/{id} (Store.Cancel) moves a queued message — scheduled,
// waiting for a retry, or not yet claimed — to the final status cancelled:
// 200 with the record (again 200 for a repeat), 409 once it is sending or
// final, 404 for an unknown id. Cancel and Claim exclude each other: in
// SQLite both are single transactions; in Redis Cancel is a compare-and-set
// of the record and a Claim's first write checks, in the same script, that
// the record is still deliverable, so a cancelled message is never sent.
// Cancelling a message waiting for a retry stops further attempts; an
// earlier attempt that failed by timing out may still have reached the
// phone.
//
// # Delivery guarantees
//
// Every worker runs a Deliverer. It claims messages with a lease
// (Config.Lease, 1.5 s) — or gets the lease of a message it accepts with
// the accept itself, while it has a sender free soon (SQLite; Redis queues
// every message for Claim) — renews it every third of the lease, and records
// each attempt's outcome under it; a worker whose lease was taken over can
// no longer write (fencing). A message whose worker is lost is taken over
// after at most Lease + PollInterval. A graceful stop hands back unfinished
// messages (status queued) instead of failing them.
//
// Delivery to the provider is at least once; the Provider contract asks it
// to treat Message.ID as its idempotency key (out id), which makes the
// repeat after a lost worker harmless. Errors are retried up to
// Config.Retry.MaxAttempts (provider.DefaultMaxAttempts, 8, with a config
// file or without) unless wrapped with Permanent, waiting
// provider.RetryPolicy.Backoff between attempts: 1 s doubling to 60 s by
// default, each wait shortened by a random draw of up to Jitter (0.2) of
// itself so that retries of many messages do not arrive together. Each
// attempt is one claim: a failed one is released to the store until its
// next attempt is due (above), and any worker makes that attempt.
// StubProvider (in the process) and HTTPProvider (a provider service; the
// tests' is smstest.Provider) both deduplicate by id.
//
// # Lifecycle
//
//	g, err := sms.New(cfg, logger, sms.Hooks{Exit: os.Exit, Metrics: m, ...})
//	err = g.Serve(ln, done) // returns after done closes and the drain ends
package sms
