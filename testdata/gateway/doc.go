// Command gateway is node-agent's reference workload: a small but real SMS
// gateway. Run four workers of it on one shared port with
//
//	node-agent ./testdata/gateway -i 4
//
// or one process on its own with `go run ./testdata/gateway -addr 127.0.0.1:8080`.
//
// # HTTP API
//
// Every reply is JSON and carries X-Worker-Id and X-Worker-Pid, so a client
// can see which worker answered. Errors have the body
// {"error": "...", "field": "..."}, field naming the offending request field
// when there is one.
//
// Every /api/sms/* call is signed by a known application (package auth):
//
//	Authorization: SMS-HMAC-SHA256 Credential=APP, Timestamp=UNIX, Nonce=NONCE, Signature=HEX
//
// HMAC-SHA256 with the application's secret over method, path, timestamp,
// nonce and body hash; `gateway sign` prints the header (see Signing
// helper). Whatever the route:
//
//	401 missing, malformed or wrong signature, unknown application, a
//	    timestamp more than 5 min off, a nonce used before (on any worker
//	    or host: the nonces are in the store); WWW-Authenticate: SMS-HMAC-SHA256
//	403 a send with a template (or free text) its application may not use
//	429 a send over its application's quota (per second, per UTC day),
//	    across all workers and hosts; Retry-After says when
//
// /healthz and the providers' receipt pushes are not signed.
//
//	POST /api/sms/send     Content-Type: application/json   [Idempotency-Key: K]
//	    {"phone": "+4915112345678", "template": "verify_code", "params": {"code": "4711"}}
//	    {"phone": "+4915112345678", "content": "free text"}
//	    {"phone": "+4915112345678", "content": "…", "send_at": "2026-12-06T09:00:00+01:00"}
//	  202 {"id": "…", "status": "queued"}: the message is stored durably
//	      (committed) before this answer is written; the worker that
//	      accepted it may already be sending it (GET shows "sending")
//	  202 {"id": "…", "status": "queued", "send_at": "…"}: scheduled; kept
//	      in the store (not in a worker) until send_at, then sent by
//	      whichever worker is up, within about 100 ms of it; the per-phone
//	      limit counts it when it is accepted
//	  202 again, same id, header Idempotent-Replayed: true: a repeat of a
//	      request with the same Idempotency-Key (remembered 24 h); nothing
//	      new is stored or sent
//	  400 invalid request: phone is an optional '+' and 8 to 15 digits, nothing
//	      else; exactly one of template and content; a template's params are
//	      exactly its placeholders, non-blank strings; the text (templates
//	      rendered) at most 480 characters; no unknown fields; one JSON object;
//	      an Idempotency-Key is 1 to 255 printable ASCII characters; send_at
//	      is an RFC 3339 time with a zone, not in the past, at most 7 days
//	      ahead (field "send_at")
//	  413 body over 16 KiB          415 not application/json
//	  422 the Idempotency-Key was used for a different message
//	  429 more than 3 messages to the phone in the last minute, across all
//	      workers and hosts; Retry-After says when the next one is allowed
//	  503 the store is unreachable, or SMS_QUEUE_SIZE messages are waiting;
//	      Retry-After: 1. Nothing was accepted: retry (with the same
//	      Idempotency-Key, so that a 202 lost on the way is not sent twice)
//	GET /api/sms/{id}      200 the message record, from any worker on any host;
//	                       404 unknown id; 503 store unreachable
//	DELETE /api/sms/{id}   cancel a message that is still queued (scheduled,
//	                       waiting for a retry, or not yet picked up):
//	                       200 the record, status cancelled (a repeat: 200
//	                       again); 409 it is sending or already final
//	                       (sent, failed …): too late; 404 unknown id;
//	                       503 store unreachable
//	GET /healthz           200 {"status": "ok", "worker": N, "pid": P}
//	other methods          405 with Allow; other paths 404
//
// Templates: verify_code (code), order_shipped (order_id, carrier),
// appointment_reminder (date, time), password_reset (code).
//
// # Delivery: no accepted message is lost
//
// A message goes queued → sending → sent (→ delivered, when a provider
// reports it) or failed, or from queued to cancelled; its record shows
// attempts, last_error, created_at, updated_at, sent_at, and while it
// waits send_at and next_attempt_at. Any worker delivers any message: each
// claims messages from the shared store with a lease (1.5 s, renewed every
// 0.5 s while it works on them). A worker that is SIGKILLed, crashes, hangs
// or loses the store stops renewing; its messages are taken over by another
// worker — or by its replacement — at most lease + 100 ms poll later (about
// 1.6 s; measured in BENCHMARKS.md). A graceful stop (rolling reload,
// memory restart, SIGTERM) gives messages in the provider's hands 5 s, then
// hands back whatever it still holds, status queued, for the others: it
// never marks them failed.
//
// Delivery is at least once: a worker lost after the provider accepted a
// message but before it recorded "sent" leaves the call to be repeated.
// The message id is passed as the provider's idempotency key (out id), so
// the repeat does not send a second SMS. Failed attempts are retried with
// exponential backoff with jitter (1 s, 2 s, 4 s …, capped at 60 s, each
// drawn from [0.8·d, d]; 8 attempts in all unless a config file's [retry]
// section says otherwise). A message waiting for its next attempt is
// queued in the store with next_attempt_at, like a scheduled one: no
// worker holds it, any worker makes the attempt, and a crash loses
// nothing. Permanent provider errors (invalid number…) fail at once. A
// message whose workers keep being lost is failed after twice its
// attempts, saying so.
//
// # Stores
//
// All workers share one store, chosen with -store or SMS_STORE:
//
//	(unset) or sqlite    embedded, the default, no set-up: a SQLite database
//	                     in WAL mode, $SMS_DATA_DIR/sms.db, shared by every
//	                     worker on this host (synchronous=FULL: a 202
//	                     survives a crash of the process and of the machine)
//	sqlite:PATH          the same, in the database file PATH
//	redis://HOST:PORT/DB for a gateway on several hosts: records, the
//	                     per-phone limit (Redis's clock) and the queue (a
//	                     stream with a consumer group) in one Redis. A 202
//	                     is as durable as Redis is configured to make it:
//	                     appendonly yes with appendfsync always loses nothing.
//
// An unreachable Redis at start is one line naming the URL (password
// removed) and exit code 1; lost while running, sends and reads are
// answered 503 with Retry-After until it is back, and delivery resumes by
// itself.
//
// # Configuration
//
//	-addr, GATEWAY_ADDR         listen address when standalone and PORT is unset (default 127.0.0.1:8080)
//	-apps, SMS_APPS             applications file: who may send, secrets, templates, quotas (see
//	                            auth.LoadApps); without it the first start creates the application
//	                            "default" and writes its secret to $SMS_DATA_DIR/app-default.secret (0600)
//	SMS_AUTH=off                no authentication, for local experiments and load tests: refused
//	                            (exit 2) unless the gateway listens on loopback only; warned at every start
//	-store, SMS_STORE           the store, see above
//	SMS_DATA_DIR                the embedded store's directory (default os.TempDir()/sms-gateway-<uid>)
//	SMS_LEASE                   delivery lease, the takeover bound (default 1500ms)
//	SMS_QUEUE_SIZE              refuse sends (503) while this many messages wait (default 0: no bound)
//	SMS_PROVIDER_URL            send through a provider service speaking sms.HTTPProvider's JSON API
//	SMS_PROVIDER_LATENCY        else: the in-process simulated provider's call duration (default 20ms)
//	SMS_PROVIDER_FAILURE_RATE   probability 0..1 that a simulated provider call fails (default 0)
//	SMS_PROVIDER_SEED           seed of the failure draws, for reproducible runs
//	SMS_BACKOFF_FIRST           wait after a message's first failed attempt, doubling per attempt (default 1s)
//	SMS_BACKOFF_MAX             cap of one wait (default 60s); a -config file's [retry] section takes precedence
//	GATEWAY_FAULTS=1            enable the fault switches below (tests only)
//
// Under node-agent the listening socket comes from the agent: its
// --http-address, else -addr, which the agent binds once and shares among
// the workers. Standalone it is $IP:$PORT when PORT is set, else -addr.
//
// On the TARS platform (the agent run with a TARS config) the workers run
// in the log directory, where tarsnode runs a tars_go server, so relative
// paths resolve elsewhere: SMS_DATA_DIR and a -store sqlite:FILE under
// $TARS_DATAPATH (<server>datapath, also the data directory's default),
// -apps and -config under $TARS_BASEPATH (<server>basepath, where the
// package's files are and pulled config files go). Absolute paths stay.
//
// # Metrics
//
// Business metrics are container properties, so they reach the agent's
// /metrics and TARS PropertyF: sms.queueDepth (scheduled messages
// included) and sms.oldestQueuedSec (of due messages only: a message
// scheduled for next week is not "old") (sampled every second, Max),
// sms.accepted, sms.cancelled, sms.sent, sms.failed, sms.retried and
// sms.takeovers (Sum), sms.providerMs (Avg, Max, Distr);
// per configured application sms.app.ID.accepted, .rejected, .cancelled
// and .quotaRefused, and sms.auth.rejected for calls naming no known
// application (Sum).
//
// # Audit
//
// One log record "audit" per accepted send, cancelled message and
// rejected call: application, secret file name, method, path, status,
// reason, message id, remote address; never a secret, text or phone.
//
// # Signing helper
//
//	gateway sign [-app ID] [-secret-file FILE] [-d BODY | -body-file FILE] METHOD PATH
//
// prints the Authorization header of one request, signed now with a fresh
// nonce; by default as the application "default" with the secret in
// $SMS_DATA_DIR/app-default.secret:
//
//	body='{"phone":"+4915112345678","content":"hi"}'
//	curl -XPOST localhost:8080/api/sms/send -H 'Content-Type: application/json' \
//	  -H "$(gateway sign -d "$body" POST /api/sms/send)" -d "$body"
//
// # Stopping
//
// When the agent asks for a graceful stop (standalone: SIGTERM or SIGINT),
// the gateway drains its HTTP server with container.ServeHTTP: it stops
// accepting (its copy of the shared socket closes; the other workers keep
// taking connections), answers every further request on its open
// keep-alive connections with "Connection: close", keeps an idle
// connection 1 s for the request its client may already be sending, and
// gives in-flight requests 5 s in all. A rolling reload therefore fails no
// request. Then its deliverer stops claiming, gives provider calls under
// way 5 s, and hands back every message it still holds (see Delivery).
// Then it exits 0.
//
// # Admin command
//
// sms.stats replies with this worker's counters as JSON: store, in_flight
// (leases held), sent, failed, retries, takeovers, released (handed back),
// http_in_flight.
//
// # Fault switches
//
// With GATEWAY_FAULTS=1 only (otherwise 404), for testing the supervisor:
//
//	POST /debug/fault/crash            reply, then exit with code 3
//	POST /debug/fault/hang             reply, then SIGSTOP itself: no heartbeats, no replies
//	POST /debug/fault/grow?mb=N        allocate and touch N MiB (1..4096) and keep it
//	POST /debug/fault/ignore-shutdown  ignore graceful-stop requests and SIGTERM from now on
//
// # Providers and delivery receipts
//
//	-config FILE, SMS_CONFIG    provider config file (see package provider and
//	                            the README); without it the simulated provider
//
// With a config file the gateway sends through the listed providers in
// failover order (Aliyun Dysmsapi, Tencent Cloud SMS, simulated) and takes
// the file's retry policy and rate limit. A message the provider reports
// goes on from sent to delivered or undelivered (its record's "delivery"
// gives provider, provider_id, code and time) when the provider pushes its
// receipt to
//
//	POST /api/sms/receipts/{provider}?token=TOKEN
//	  200 the provider's acknowledgement (also for replays and unknown ids)
//	  401 wrong or missing token      400 not the provider's format
//	  500 the store cannot take it now: the provider pushes again later
//
// Admin command sms.providers replies with each provider's counters and
// breaker state and the receipt counters.
//
// A -config that is a plain file name is first pulled from the TARS config
// center (container.Worker.AddConfig: the agent fetches it with
// ConfigF.loadConfigByInfo into $TARS_BASEPATH), as a TarsGo service pulls
// its files; without a config center (off the platform, or no
// <server>config) it is the local file. When the pull fails the copy
// pulled before is read, with a warning; without one the worker exits 1.
//
// When the agent announces a new version of the config file (tars.loadconfig:
// pushed from the TARS console into $TARS_BASEPATH; or the file changed
// under --watch), the
// gateway parses it and applies its rate limit at once, without a restart;
// a file that does not parse is refused with its error and the running
// limit stays. Providers, templates and the retry policy are read at start
// (tars.gracerestart applies them without losing a request).
//
// # Tests
//
// Go's ./... skips testdata directories; name the package explicitly:
//
//	go test -race ./testdata/gateway/...
//
// The Redis tests (-run Redis) start their own redis-server; the chaos
// acceptance (-run Chaos) runs 4 workers under the built agent for 30 s
// per store (8 s with -short).
package main
