// Package tars implements the parts of the TARS protocol a node agent needs:
// the TARS binary encoding ("JCE"), request and response packets with their
// 4-byte length framing, TUP (iVersion 2/3) arguments, typed structs for the
// framework interfaces the agent calls or serves, endpoint and proxy strings,
// the TARS config file format, a small server (the AdminF server) and a
// small client (for tarsnode, tarsnotify, the registry, stat and property).
// It imports nothing else of this module.
//
// It is written from the protocol's public description and checked against
// the real Node peers (@tars/stream, @tars/rpc); see the interop tests. Facts
// and sources: shared/research/tars-protocol.md.
//
// # Encoding
//
// Every value is a head (tag + type) followed by its data. A struct is a
// sequence of fields in ascending tag order; nested structs are wrapped in
// StructBegin/StructEnd, top-level ones (packets, argument buffers) are not.
//
// Buffer encodes. Each Write method appends one field; writes cannot fail:
//
//	var w tars.Buffer
//	w.WriteInt32(1, pid)      // integers take the narrowest form (0 → Zero)
//	w.WriteString(2, name)    // String1 up to 255 bytes, else String4
//	w.WriteBytes(3, payload)  // vector<byte> as a SimpleList
//	w.WriteStruct(4, &info)   // a nested struct
//	w.WriteStringMap(5, ctx)  // map<string,string>, keys sorted
//	tars.WriteList(&w, 6, names, (*tars.Buffer).WriteString)
//	b := w.Bytes()
//
// Reader decodes. Each Read method looks for its tag, skipping smaller tags
// (fields this side does not know, recursively through containers), and
// stores into a pointer only when the field is present. A required field that
// is absent is an error; an optional one leaves the destination as it was, so
// set IDL defaults first. Errors are sticky: after the first one every call
// returns it, so a decoder may check each call or only r.Err() at the end.
//
//	func (s *StatPropMsgHead) Decode(r *tars.Reader) error {
//		*s = StatPropMsgHead{IPropertyVer: 1}   // IDL defaults
//		r.ReadString(&s.ModuleName, 0, true)
//		...
//		r.ReadInt32(&s.IPropertyVer, 7, false) // absent → stays 1
//		return r.Err()
//	}
//
// Readers accept every encoding real peers produce: narrower integers (sign
// extended), Zero for 0, false and 0.0, Float for a double, a List of Int8
// for vector<byte>. They refuse, with an error and never a panic, anything
// else: lengths and counts are checked against the remaining input before
// anything is allocated, nesting is limited to MaxDepth, and unknown type
// codes are rejected. Errors wrap one of the sentinels (ErrTruncated,
// ErrTooLarge, ErrTypeMismatch, ErrRequired, ErrMalformed, ErrTUP,
// ErrEndpoint, ErrConfigSyntax); use errors.Is.
//
// A typed struct implements Struct (Encode + Decode on its pointer) and is
// used with Marshal/Unmarshal (bare fields), Buffer.WriteStruct and
// Reader.ReadStruct (nested), WriteStructList/ReadStructList (vectors) and
// WriteStructPairs/ReadPairs (maps with struct keys, decoded as []Pair).
//
// # Packets and framing
//
// A call is a RequestPacket; its SBuffer holds the arguments, numbered from
// tag 1 (the …Args structs); the reply is a ResponsePacket whose SBuffer holds
// the return value at tag 0 and the out parameters (the …Result structs).
// Every required packet field is always written. On a stream each packet is
// prefixed by its length (4 bytes, big-endian, counting itself):
//
//	frame := tars.Frame(&tars.RequestPacket{IVersion: tars.VersionTARS, IRequestID: 1,
//		SServantName: tars.ServantNode, SFuncName: tars.FuncKeepAlive,
//		SBuffer: tars.Marshal(&tars.KeepAliveArgs{ServerInfo: info}), ITimeout: 3000})
//
//	body, err := tars.ReadPacket(conn, 0)      // 0: DefaultMaxPacketSize
//	req, err := tars.DecodeRequestPacket(body)
//
// ReadPacket returns io.EOF on a clean close between frames, ErrTruncated
// when the stream ends inside a frame, ErrTooLarge for a length over the
// limit (without reading or allocating the body) and ErrMalformed for a
// length < 4. SplitFrame does the same on a buffer that may hold several or
// partial frames.
//
// A request with CPacketType PacketOneway gets no reply. A TUP request
// (IVersion 2 or 3, see IsTUP) carries named attributes instead of tagged
// arguments (DecodeTUP; NotifyCommand handles all versions for AdminF.notify)
// and is answered with a RequestPacket built by NewTUPResponse.
//
// # Endpoints, proxies and the config file
//
// ParseEndpoint reads "tcp|udp|ssl -h HOST -p PORT -t MS" (plus -g -q -w -v -e
// -b; unknown options are kept), ParseProxy reads "Servant@ep:ep" (or a bare
// servant name, to be resolved through the locator). LoadConfig/ParseConfig
// read the TARS config format; syntax errors are *ConfigError values with
// the file name and line number:
//
//	c, err := tars.LoadConfig(path)
//	node, ok := c.Get("/tars/application/server", "node")
//	local, ok := c.Lookup("/tars/application/server<local>")
//	for _, adapter := range c.Domain("/tars/application/server").Children() { … }
//
// # Serving AdminF
//
// NewAdminServer serves the AdminF interface tarsnode (and `node-agent
// ctl`) calls on a service's local endpoint, whatever servant name the
// caller uses: shutdown() and notify(command) go to an AdminHandler,
// getPid() answers this process's pid, tars_ping() answers 0, any other
// function ServerNoFuncErr. Requests may be plain TARS or TUP v2/v3;
// one-way requests are handled and not answered.
//
//	allow, err := tars.ParseAllowList(cfg.TarsLocalAllow) // "10.0.0.5;10.0.1.0/24"
//	srv := tars.NewAdminServer(tars.AdminFuncs{OnShutdown: sup.Shutdown, OnNotify: sup.Notify},
//		tars.ServerOptions{Allow: allow, Logger: logger}) // *slog.Logger; nil discards
//	if err := srv.Listen(cfg.TarsLocal); err != nil { … } // "tcp -h 127.0.0.1 -p 10000 -t 3000"
//	go srv.Serve()
//	…
//	srv.Close() // closes connections, waits for every goroutine it started
//
// The AdminF server is built on Server, which serves any Handler: each
// request runs in its own goroutine (a slow notify does not hold up a
// tars_ping on the same connection) with a context that ends at the
// request's iTimeout or at Close. What a Server accepts:
//   - peers: the host itself (loopback, or a peer using the address it
//     connected to) and the addresses on the allow list; others are closed
//     at once. The listen address is the endpoint's -h, as given.
//   - input: a length prefix < 4 or over MaxPacketSize (10 MiB by default;
//     nothing is allocated for it), a frame that is not a RequestPacket or a
//     connection that ends inside a frame closes that connection only,
//     after the replies it is owed; a notify whose argument does not decode
//     is answered ServerDecodeErr; a panicking handler ServerUnknownErr.
//   - load: up to MaxConns connections (1024) and 32 requests in flight per
//     connection (then the server stops reading it until one finishes); a
//     connection silent for the idle timeout (the endpoint's -t) while
//     nothing of it is in flight is closed.
//
// ServerOptions.Logger (a *slog.Logger; nil discards) gets a WARN record
// per refused or broken connection ("tars: refused a connection" with
// from and reason, "tars: closed a connection" with from and err) and an
// ERROR record per panicking handler, at most one record per second.
//
// A program replacing itself (node-agent's upgrade in place) hands a
// Server over without failing a call: Pause stops accepting (clients wait
// in the backlog) and stops each connection's reader between two
// requests once the requests in flight are answered, and returns the
// listening socket and the connections with the bytes read of the next
// request; the next program serves them with ListenOn and Adopt. Resume
// undoes a Pause; Detach leaves out a request that may never be answered.
//
// # Calling a servant
//
// Client calls one servant over plain TARS: one lazily dialled connection
// per endpoint shared by concurrent calls (replies matched by request id),
// a per-call timeout (ctx or ClientOptions.Timeout, 3 s by default), round
// robin over the endpoints with failover, a doubling reconnect backoff per
// endpoint, and, for a bare servant name, resolution through the locator
// (QueryF.findObjectById, or findObjectByIdInSameSet with ClientOptions.Set
// for a set deployment; ClientOptions.NodeName goes with it as the
// "node_name" context; cached for a minute; a failed lookup keeps the
// previous answer). Errors: *RemoteError (the server answered an error
// code), ErrUnavailable (nothing sent), ErrConnLost (sent, outcome
// unknown), the context's error, ErrClosed.
//
//	c, err := tars.NewClient("tars.tarsnotify.NotifyObj", tars.ClientOptions{Locator: cfg.Locator})
//	err = c.Invoke(ctx, tars.FuncReportNotifyInfo, &tars.ReportNotifyInfoArgs{Info: info}, nil)
//	err = c.InvokeOneway(ctx, tars.FuncReportMicMsg, batch) // stat reports are one-way
//	c.Close()
package tars
