package tars

import (
	"context"
	"os"
)

// AdminHandler is what an AdminF server asks of the program it administers.
//
// Shutdown starts the program's graceful shutdown and returns without
// waiting for it; the reply (void) is sent when it returns. Notify runs one
// admin command ("cmd data…", exactly as the caller sent it) and returns
// the reply text; every command, known or not, is the handler's to answer.
// An error from either is sent to the caller as ServerUnknownErr with the
// error's text. ctx ends when the caller's timeout passes or the server
// closes. Both are called from several goroutines at once.
type AdminHandler interface {
	Shutdown(ctx context.Context) error
	Notify(ctx context.Context, command string) (string, error)
}

// AdminFuncs adapts two functions to AdminHandler, e.g. a supervisor's
// methods: AdminFuncs{OnShutdown: sup.Shutdown, OnNotify: sup.Notify}.
// A nil OnShutdown does nothing; a nil OnNotify answers "".
type AdminFuncs struct {
	OnShutdown func()
	OnNotify   func(ctx context.Context, command string) (string, error)
}

// Shutdown calls OnShutdown.
func (f AdminFuncs) Shutdown(context.Context) error {
	if f.OnShutdown != nil {
		f.OnShutdown()
	}
	return nil
}

// Notify calls OnNotify.
func (f AdminFuncs) Notify(ctx context.Context, command string) (string, error) {
	if f.OnNotify == nil {
		return "", nil
	}
	return f.OnNotify(ctx, command)
}

// NewAdminServer returns a Server answering the AdminF interface, whatever
// servant name the caller uses (tarsnode says "AdminObj", others
// "App.Server.AdminObj"):
//
//	void   shutdown()               → h.Shutdown
//	string notify(string command)   → h.Notify; the command at tag 1, or the TUP attribute "command"
//	long   getPid()                 → this process's pid
//	int    tars_ping()              → 0
//
// Any other function is answered ServerNoFuncErr, a notify whose argument
// cannot be decoded ServerDecodeErr. Start it with Listen and Serve:
//
//	srv := tars.NewAdminServer(h, tars.ServerOptions{Allow: allow, Logger: logger}) // a *slog.Logger, or nil
//	if err := srv.Listen("tcp -h 127.0.0.1 -p 10000 -t 3000"); err != nil { … }
//	go srv.Serve()
//	defer srv.Close()
func NewAdminServer(h AdminHandler, opts ServerOptions) *Server {
	pid := int64(os.Getpid())
	return NewServer(func(ctx context.Context, req *RequestPacket) Reply {
		return serveAdmin(ctx, h, pid, req)
	}, opts)
}

func serveAdmin(ctx context.Context, h AdminHandler, pid int64, req *RequestPacket) Reply {
	tup := IsTUP(req.IVersion)
	switch req.SFuncName {
	case FuncShutdown:
		if err := h.Shutdown(ctx); err != nil {
			return ErrorReply(ServerUnknownErr, "%v", err)
		}
		return Reply{}
	case FuncNotify:
		cmd, err := NotifyCommand(req)
		if err != nil {
			return ErrorReply(ServerDecodeErr, "notify: %v", err)
		}
		text, err := h.Notify(ctx, cmd)
		if err != nil {
			return ErrorReply(ServerUnknownErr, "%v", err)
		}
		if tup {
			a := NewTUP(req.IVersion)
			a.PutString("", text)
			return Reply{Attrs: a}
		}
		return Reply{Body: &StringResult{Ret: text}}
	case FuncGetPid:
		if tup {
			a := NewTUP(req.IVersion)
			var w Buffer
			w.WriteInt64(0, pid)
			a.Put("", TUPTypeInt64, w.Bytes())
			return Reply{Attrs: a}
		}
		return Reply{Body: &LongResult{Ret: pid}}
	case FuncPing:
		if tup {
			a := NewTUP(req.IVersion)
			a.PutInt32("", 0)
			return Reply{Attrs: a}
		}
		return Reply{Body: &IntResult{}}
	default:
		return ErrorReply(ServerNoFuncErr, "AdminF has no function %q", req.SFuncName)
	}
}
