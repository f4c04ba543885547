package tars

// QueryF.tars / EndpointF.tars: the locator, servant ServantQuery.
const (
	FuncFindObjectByID            = "findObjectById"
	FuncFindObjectByID4Any        = "findObjectById4Any"
	FuncFindObjectByID4All        = "findObjectById4All"
	FuncFindObjectByIDInSameGroup = "findObjectByIdInSameGroup"
	FuncFindObjectByIDInSameSet   = "findObjectByIdInSameSet"
)

// EndpointF.IsTCP values.
const (
	EndpointUDP int32 = 0
	EndpointTCP int32 = 1
	EndpointSSL int32 = 2
)

// EndpointF is one endpoint as the registry describes it.
type EndpointF struct {
	Host        string // 0 require
	Port        int32  // 1 require
	Timeout     int32  // 2 require: ms
	IsTCP       int32  // 3 require: EndpointUDP, EndpointTCP, EndpointSSL
	Grid        int32  // 4 require
	GroupWorkID int32  // 5 optional
	GroupRealID int32  // 6 optional
	SetID       string // 7 optional
	Qos         int32  // 8 optional
	BakFlag     int32  // 9 optional
	Weight      int32  // 11 optional
	WeightType  int32  // 12 optional
	AuthType    int32  // 13 optional
	NodeName    string // 14 optional
}

func (s *EndpointF) Encode(w *Buffer) {
	w.WriteString(0, s.Host)
	w.WriteInt32(1, s.Port)
	w.WriteInt32(2, s.Timeout)
	w.WriteInt32(3, s.IsTCP)
	w.WriteInt32(4, s.Grid)
	w.WriteInt32(5, s.GroupWorkID)
	w.WriteInt32(6, s.GroupRealID)
	w.WriteString(7, s.SetID)
	w.WriteInt32(8, s.Qos)
	w.WriteInt32(9, s.BakFlag)
	w.WriteInt32(11, s.Weight)
	w.WriteInt32(12, s.WeightType)
	w.WriteInt32(13, s.AuthType)
	w.WriteString(14, s.NodeName)
}

func (s *EndpointF) Decode(r *Reader) error {
	*s = EndpointF{}
	r.ReadString(&s.Host, 0, true)
	r.ReadInt32(&s.Port, 1, true)
	r.ReadInt32(&s.Timeout, 2, true)
	r.ReadInt32(&s.IsTCP, 3, true)
	r.ReadInt32(&s.Grid, 4, true)
	r.ReadInt32(&s.GroupWorkID, 5, false)
	r.ReadInt32(&s.GroupRealID, 6, false)
	r.ReadString(&s.SetID, 7, false)
	r.ReadInt32(&s.Qos, 8, false)
	r.ReadInt32(&s.BakFlag, 9, false)
	r.ReadInt32(&s.Weight, 11, false)
	r.ReadInt32(&s.WeightType, 12, false)
	r.ReadInt32(&s.AuthType, 13, false)
	r.ReadString(&s.NodeName, 14, false)
	return r.Err()
}

// FindObjectByIDArgs: the id parameter of findObjectById, findObjectById4Any,
// findObjectById4All and findObjectByIdInSameGroup (tag 1).
type FindObjectByIDArgs struct {
	ID string // 1
}

func (s *FindObjectByIDArgs) Encode(w *Buffer) { w.WriteString(1, s.ID) }

func (s *FindObjectByIDArgs) Decode(r *Reader) error {
	*s = FindObjectByIDArgs{}
	return r.ReadString(&s.ID, 1, true)
}

// FindObjectByIDInSameSetArgs: findObjectByIdInSameSet(string id, string setId, out…, out…).
type FindObjectByIDInSameSetArgs struct {
	ID    string // 1
	SetID string // 2
}

func (s *FindObjectByIDInSameSetArgs) Encode(w *Buffer) {
	w.WriteString(1, s.ID)
	w.WriteString(2, s.SetID)
}

func (s *FindObjectByIDInSameSetArgs) Decode(r *Reader) error {
	*s = FindObjectByIDInSameSetArgs{}
	r.ReadString(&s.ID, 1, true)
	r.ReadString(&s.SetID, 2, true)
	return r.Err()
}

// FindObjectByIDResult is the reply of vector<EndpointF> findObjectById(id).
type FindObjectByIDResult struct {
	Ret []EndpointF // 0
}

func (s *FindObjectByIDResult) Encode(w *Buffer) { WriteStructList(w, 0, s.Ret) }

func (s *FindObjectByIDResult) Decode(r *Reader) error {
	*s = FindObjectByIDResult{}
	return ReadStructList(r, &s.Ret, 0, true)
}

// FindObjectsResult is the reply of the functions with two out vectors
// (findObjectById4Any/4All/InSameGroup/InSameSet): ret at tag 0, then the
// out parameters after the in parameters. OutTag is the tag of activeEp:
// 2 after one in parameter (id), 3 after two (id, setId).
type FindObjectsResult struct {
	Ret        int32       // 0
	ActiveEp   []EndpointF // OutTag
	InactiveEp []EndpointF // OutTag+1
	OutTag     uint8       // not on the wire; 0 means 2
}

func (s *FindObjectsResult) outTag() uint8 {
	if s.OutTag == 0 {
		return 2
	}
	return s.OutTag
}

func (s *FindObjectsResult) Encode(w *Buffer) {
	t := s.outTag()
	w.WriteInt32(0, s.Ret)
	WriteStructList(w, t, s.ActiveEp)
	WriteStructList(w, t+1, s.InactiveEp)
}

func (s *FindObjectsResult) Decode(r *Reader) error {
	t := s.outTag()
	*s = FindObjectsResult{OutTag: s.OutTag}
	r.ReadInt32(&s.Ret, 0, true)
	ReadStructList(r, &s.ActiveEp, t, true)
	ReadStructList(r, &s.InactiveEp, t+1, true)
	return r.Err()
}
