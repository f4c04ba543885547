package tars

// StatF.tars: call statistics, servant ServantStat.
const FuncReportMicMsg = "reportMicMsg"

// StatIntervals are the latency histogram bucket bounds (ms) used as the
// keys of StatMicMsgBody.IntervalCount.
var StatIntervals = [...]int32{5, 10, 50, 100, 200, 500, 1000, 2000, 3000}

// StatMicMsgHead is the key of one statistics row.
type StatMicMsgHead struct {
	MasterName    string // 0 require: caller module
	SlaveName     string // 1 require: callee "App.Server"
	InterfaceName string // 2 require: function (URL path for HTTP)
	MasterIP      string // 3 require
	SlaveIP       string // 4 require
	SlavePort     int32  // 5 require
	ReturnValue   int32  // 6 require
	SlaveSetName  string // 7 optional
	SlaveSetArea  string // 8 optional
	SlaveSetID    string // 9 optional
	TarsVersion   string // 10 optional
}

func (s *StatMicMsgHead) Encode(w *Buffer) {
	w.WriteString(0, s.MasterName)
	w.WriteString(1, s.SlaveName)
	w.WriteString(2, s.InterfaceName)
	w.WriteString(3, s.MasterIP)
	w.WriteString(4, s.SlaveIP)
	w.WriteInt32(5, s.SlavePort)
	w.WriteInt32(6, s.ReturnValue)
	w.WriteString(7, s.SlaveSetName)
	w.WriteString(8, s.SlaveSetArea)
	w.WriteString(9, s.SlaveSetID)
	w.WriteString(10, s.TarsVersion)
}

func (s *StatMicMsgHead) Decode(r *Reader) error {
	*s = StatMicMsgHead{}
	r.ReadString(&s.MasterName, 0, true)
	r.ReadString(&s.SlaveName, 1, true)
	r.ReadString(&s.InterfaceName, 2, true)
	r.ReadString(&s.MasterIP, 3, true)
	r.ReadString(&s.SlaveIP, 4, true)
	r.ReadInt32(&s.SlavePort, 5, true)
	r.ReadInt32(&s.ReturnValue, 6, true)
	r.ReadString(&s.SlaveSetName, 7, false)
	r.ReadString(&s.SlaveSetArea, 8, false)
	r.ReadString(&s.SlaveSetID, 9, false)
	r.ReadString(&s.TarsVersion, 10, false)
	return r.Err()
}

// StatMicMsgBody is the value of one statistics row.
type StatMicMsgBody struct {
	Count         int32           // 0 require: successes
	TimeoutCount  int32           // 1 require
	ExecCount     int32           // 2 require: failures
	IntervalCount map[int32]int32 // 3 require: histogram, keys StatIntervals
	TotalRspTime  int64           // 4 require: ms, successes only
	MaxRspTime    int32           // 5 require
	MinRspTime    int32           // 6 require
}

func (s *StatMicMsgBody) Encode(w *Buffer) {
	w.WriteInt32(0, s.Count)
	w.WriteInt32(1, s.TimeoutCount)
	w.WriteInt32(2, s.ExecCount)
	WriteMap(w, 3, s.IntervalCount, (*Buffer).WriteInt32, (*Buffer).WriteInt32)
	w.WriteInt64(4, s.TotalRspTime)
	w.WriteInt32(5, s.MaxRspTime)
	w.WriteInt32(6, s.MinRspTime)
}

func (s *StatMicMsgBody) Decode(r *Reader) error {
	*s = StatMicMsgBody{}
	r.ReadInt32(&s.Count, 0, true)
	r.ReadInt32(&s.TimeoutCount, 1, true)
	r.ReadInt32(&s.ExecCount, 2, true)
	ReadMap(r, &s.IntervalCount, 3, true, (*Reader).ReadInt32, (*Reader).ReadInt32)
	r.ReadInt64(&s.TotalRspTime, 4, true)
	r.ReadInt32(&s.MaxRspTime, 5, true)
	r.ReadInt32(&s.MinRspTime, 6, true)
	return r.Err()
}

// StatMicMsg is one entry of map<StatMicMsgHead, StatMicMsgBody>.
type StatMicMsg = Pair[StatMicMsgHead, StatMicMsgBody]

// ReportMicMsgArgs: int reportMicMsg(map<StatMicMsgHead,StatMicMsgBody> msg,
// bool bFromClient). The reply is an IntResult (usually sent one-way).
type ReportMicMsgArgs struct {
	Msg        []StatMicMsg // 1
	FromClient bool         // 2
}

func (s *ReportMicMsgArgs) Encode(w *Buffer) {
	WriteStructPairs(w, 1, s.Msg)
	w.WriteBool(2, s.FromClient)
}

func (s *ReportMicMsgArgs) Decode(r *Reader) error {
	*s = ReportMicMsgArgs{}
	ReadPairs(r, &s.Msg, 1, true, ReadStructValue[StatMicMsgHead], ReadStructValue[StatMicMsgBody])
	r.ReadBool(&s.FromClient, 2, true)
	return r.Err()
}
