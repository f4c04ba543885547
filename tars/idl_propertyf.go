package tars

// PropertyF.tars: custom metrics, servant ServantProperty.
const FuncReportPropMsg = "reportPropMsg"

// Property policies (StatPropInfo.Policy).
const (
	PolicySum   = "Sum"
	PolicyAvg   = "Avg"
	PolicyDistr = "Distr"
	PolicyMax   = "Max"
	PolicyMin   = "Min"
	PolicyCount = "Count"
)

// DefaultPropertyVer is the IDL default of StatPropMsgHead.IPropertyVer;
// TarsGo and @tars/monitor send 2.
const DefaultPropertyVer = 1

// StatPropMsgHead is the key of one property row.
type StatPropMsgHead struct {
	ModuleName   string // 0 require: "App.Server"
	IP           string // 1 require
	PropertyName string // 2 require
	SetName      string // 3 optional
	SetArea      string // 4 optional
	SetID        string // 5 optional
	SContainer   string // 6 optional
	IPropertyVer int32  // 7 optional, default 1 (C++ writers omit it when 1)
}

// NewStatPropMsgHead returns a head with the IDL defaults.
func NewStatPropMsgHead() StatPropMsgHead {
	return StatPropMsgHead{IPropertyVer: DefaultPropertyVer}
}

func (s *StatPropMsgHead) Encode(w *Buffer) {
	w.WriteString(0, s.ModuleName)
	w.WriteString(1, s.IP)
	w.WriteString(2, s.PropertyName)
	w.WriteString(3, s.SetName)
	w.WriteString(4, s.SetArea)
	w.WriteString(5, s.SetID)
	w.WriteString(6, s.SContainer)
	w.WriteInt32(7, s.IPropertyVer)
}

func (s *StatPropMsgHead) Decode(r *Reader) error {
	*s = NewStatPropMsgHead()
	r.ReadString(&s.ModuleName, 0, true)
	r.ReadString(&s.IP, 1, true)
	r.ReadString(&s.PropertyName, 2, true)
	r.ReadString(&s.SetName, 3, false)
	r.ReadString(&s.SetArea, 4, false)
	r.ReadString(&s.SetID, 5, false)
	r.ReadString(&s.SContainer, 6, false)
	r.ReadInt32(&s.IPropertyVer, 7, false)
	return r.Err()
}

// StatPropInfo is one policy's value.
type StatPropInfo struct {
	Policy string // 0 require: Policy*
	Value  string // 1 require: decimal, or "b1|n1,b2|n2" for Distr
}

func (s *StatPropInfo) Encode(w *Buffer) {
	w.WriteString(0, s.Policy)
	w.WriteString(1, s.Value)
}

func (s *StatPropInfo) Decode(r *Reader) error {
	*s = StatPropInfo{}
	r.ReadString(&s.Policy, 0, true)
	r.ReadString(&s.Value, 1, true)
	return r.Err()
}

// StatPropMsgBody is the value of one property row.
type StatPropMsgBody struct {
	VInfo []StatPropInfo // 0 require
}

func (s *StatPropMsgBody) Encode(w *Buffer) { WriteStructList(w, 0, s.VInfo) }

func (s *StatPropMsgBody) Decode(r *Reader) error {
	*s = StatPropMsgBody{}
	return ReadStructList(r, &s.VInfo, 0, true)
}

// StatPropMsg is one entry of map<StatPropMsgHead, StatPropMsgBody>.
type StatPropMsg = Pair[StatPropMsgHead, StatPropMsgBody]

// ReportPropMsgArgs: int reportPropMsg(map<StatPropMsgHead,StatPropMsgBody> statmsg).
type ReportPropMsgArgs struct {
	StatMsg []StatPropMsg // 1
}

func (s *ReportPropMsgArgs) Encode(w *Buffer) { WriteStructPairs(w, 1, s.StatMsg) }

func (s *ReportPropMsgArgs) Decode(r *Reader) error {
	*s = ReportPropMsgArgs{}
	return ReadPairs(r, &s.StatMsg, 1, true, ReadStructValue[StatPropMsgHead], ReadStructValue[StatPropMsgBody])
}
