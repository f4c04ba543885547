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
//	POST /api/sms/send     Content-Type: application/json
//	    {"phone": "+4915112345678", "template": "verify_code", "params": {"code": "4711"}}
//	    {"phone": "+4915112345678", "content": "free text"}
//	  202 {"id": "…", "status": "queued"}
//	  400 invalid request: phone is an optional '+' and 8 to 15 digits, nothing
//	      else; exactly one of template and content; a template's params are
//	      exactly its placeholders, non-blank strings; the text (templates
//	      rendered) at most 480 characters; no unknown fields; one JSON object
//	  413 body over 16 KiB          415 not application/json
//	  429 more than 3 messages to the phone in the last minute, across all
//	      workers; Retry-After says when the next one is allowed
//	  503 this worker's delivery queue is full (or it is stopping); Retry-After: 1
//	GET /api/sms/{id}      200 the message record, from any worker; 404 unknown id
//	GET /healthz           200 {"status": "ok", "worker": N, "pid": P}
//	other methods          405 with Allow; other paths 404
//
// Templates: verify_code (code), order_shipped (order_id, carrier),
// appointment_reminder (date, time), password_reset (code).
//
// A message goes queued → sending → sent or failed. The worker that accepted
// it delivers it through a simulated provider, retrying failed attempts with
// exponential backoff (100 ms, 200 ms, 400 ms; 4 attempts in all); the
// record shows attempts and last_error.
//
// # Workers share state through files
//
// All workers use one data directory, $SMS_DATA_DIR or
// os.TempDir()/sms-gateway-<uid>: per-phone rate-limit files updated under
// flock(2), and message records replaced by atomic rename. See package sms.
//
// # Configuration
//
//	-addr, GATEWAY_ADDR         listen address when standalone and PORT is unset (default 127.0.0.1:8080)
//	SMS_DATA_DIR                shared state directory
//	SMS_PROVIDER_LATENCY        simulated provider call duration (default 20ms)
//	SMS_PROVIDER_FAILURE_RATE   probability 0..1 that a provider call fails (default 0)
//	SMS_PROVIDER_SEED           seed of the failure draws, for reproducible runs
//	SMS_QUEUE_SIZE              per-worker queue capacity (default 256)
//	GATEWAY_FAULTS=1            enable the fault switches below (tests only)
//
// Under node-agent the listening socket comes from the agent: its
// --http-address, else -addr, which the agent binds once and shares among
// the workers. Standalone it is $IP:$PORT when PORT is set, else -addr.
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
// request. Then it gives its queue 5 s to deliver what it accepted;
// messages still undelivered are recorded failed. Then it exits 0.
//
// # Admin command
//
// sms.stats replies with this worker's counters as JSON: queue_depth,
// queue_capacity, in_flight, sent, failed, retries, http_in_flight.
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
// # Tests
//
// Go's ./... skips testdata directories; name the package explicitly:
//
//	go test -race ./testdata/gateway/...
package main
