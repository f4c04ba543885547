package tars

// NotifyF.tars: events and alarms, servant ServantNotify (interface Notify).
const FuncReportNotifyInfo = "reportNotifyInfo"

// NotifyLevel is the IDL enum NOTIFYLEVEL.
type NotifyLevel int32

const (
	NotifyNormal NotifyLevel = 0
	NotifyWarn   NotifyLevel = 1
	NotifyError  NotifyLevel = 2
)

// ReportType is the IDL enum ReportType.
type ReportType int32

const (
	ReportTypeReport ReportType = 0
	ReportTypeNotify ReportType = 1
)

// ReportInfo is one event. Tags start at 1.
type ReportInfo struct {
	Type      ReportType  // 1 require
	App       string      // 2 require
	Set       string      // 3 require
	Container string      // 4 require
	Server    string      // 5 require
	Message   string      // 6 require: "restart", "stop", "[alarm] ..."
	ThreadID  string      // 7 optional: node-agent sends a pid
	Level     NotifyLevel // 8 optional
	NodeName  string      // 9 optional (absent from older IDL copies)
}

func (s *ReportInfo) Encode(w *Buffer) {
	w.WriteInt32(1, int32(s.Type))
	w.WriteString(2, s.App)
	w.WriteString(3, s.Set)
	w.WriteString(4, s.Container)
	w.WriteString(5, s.Server)
	w.WriteString(6, s.Message)
	w.WriteString(7, s.ThreadID)
	w.WriteInt32(8, int32(s.Level))
	w.WriteString(9, s.NodeName)
}

func (s *ReportInfo) Decode(r *Reader) error {
	*s = ReportInfo{}
	r.ReadInt32((*int32)(&s.Type), 1, true)
	r.ReadString(&s.App, 2, true)
	r.ReadString(&s.Set, 3, true)
	r.ReadString(&s.Container, 4, true)
	r.ReadString(&s.Server, 5, true)
	r.ReadString(&s.Message, 6, true)
	r.ReadString(&s.ThreadID, 7, false)
	r.ReadInt32((*int32)(&s.Level), 8, false)
	r.ReadString(&s.NodeName, 9, false)
	return r.Err()
}

// ReportNotifyInfoArgs: void reportNotifyInfo(ReportInfo info). Void reply.
type ReportNotifyInfoArgs struct {
	Info ReportInfo // 1
}

func (s *ReportNotifyInfoArgs) Encode(w *Buffer) { w.WriteStruct(1, &s.Info) }

func (s *ReportNotifyInfoArgs) Decode(r *Reader) error {
	*s = ReportNotifyInfoArgs{}
	return r.ReadStruct(&s.Info, 1, true)
}
