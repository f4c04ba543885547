// Package sms is the domain of the reference SMS gateway: request
// validation, message templates, a per-phone rate limit shared between
// processes, a message store shared between processes, and a per-process
// delivery queue with a simulated provider and retries.
//
// The package knows nothing of node-agent: main wires it to the container
// library by passing a net.Listener, a done channel, a *slog.Logger and the
// worker id (Config.WorkerID), and by supplying the process actions of the
// fault switches (Hooks). See the gateway's own doc.go for the HTTP API.
//
// # Sharing between workers
//
// All workers of a gateway run the same code with the same Config.DataDir:
//
//	DATA_DIR/rate/<digits>   per-phone timestamps, rewritten under flock(2)
//	DATA_DIR/msg/<id>.json   message records, replaced by atomic rename
//
// so the limit of 3 messages per minute holds whichever worker the kernel
// hands a connection to, and GET /api/sms/{id} answers from any worker. The
// delivery queue is per process: the worker that accepted a message delivers
// it, and a worker killed with messages in its queue leaves them "queued".
//
// # Lifecycle
//
//	g, err := sms.New(cfg, logger, sms.Hooks{Exit: os.Exit, ...})
//	err = g.Serve(ln, done) // returns after done closes and the drain ends
package sms
