package tars

// NodeF.tars: the service → tarsnode heartbeat, interface ServerF on
// servant ServantNode.
const (
	FuncKeepAlive     = "keepAlive"
	FuncKeepActiving  = "keepActiving"
	FuncReportVersion = "reportVersion"
)

// ServerInfo identifies the reporting server in keepAlive.
type ServerInfo struct {
	Application string // 0 require
	ServerName  string // 1 require
	Pid         int32  // 2 require
	Adapter     string // 3 optional; "" = every adapter of the server
}

func (s *ServerInfo) Encode(w *Buffer) {
	w.WriteString(0, s.Application)
	w.WriteString(1, s.ServerName)
	w.WriteInt32(2, s.Pid)
	w.WriteString(3, s.Adapter)
}

func (s *ServerInfo) Decode(r *Reader) error {
	*s = ServerInfo{}
	r.ReadString(&s.Application, 0, true)
	r.ReadString(&s.ServerName, 1, true)
	r.ReadInt32(&s.Pid, 2, true)
	r.ReadString(&s.Adapter, 3, false)
	return r.Err()
}

// KeepAliveArgs: int keepAlive(ServerInfo serverInfo), also keepActiving.
// The reply is an IntResult (0 = known server, -1 = unknown).
type KeepAliveArgs struct {
	ServerInfo ServerInfo // 1
}

func (s *KeepAliveArgs) Encode(w *Buffer) { w.WriteStruct(1, &s.ServerInfo) }

func (s *KeepAliveArgs) Decode(r *Reader) error {
	*s = KeepAliveArgs{}
	return r.ReadStruct(&s.ServerInfo, 1, true)
}

// ReportVersionArgs: int reportVersion(string app, string serverName, string version).
// The reply is an IntResult.
type ReportVersionArgs struct {
	App        string // 1
	ServerName string // 2
	Version    string // 3
}

func (s *ReportVersionArgs) Encode(w *Buffer) {
	w.WriteString(1, s.App)
	w.WriteString(2, s.ServerName)
	w.WriteString(3, s.Version)
}

func (s *ReportVersionArgs) Decode(r *Reader) error {
	*s = ReportVersionArgs{}
	r.ReadString(&s.App, 1, true)
	r.ReadString(&s.ServerName, 2, true)
	r.ReadString(&s.Version, 3, true)
	return r.Err()
}
