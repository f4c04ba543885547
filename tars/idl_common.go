package tars

// Argument buffers (iVersion 1): parameters are numbered from tag 1 in
// declaration order, out parameters continue the numbering, and the return
// value is tag 0. Each remote function therefore gets an Args struct (the
// request sBuffer) and, when it returns something, a Result struct (the
// response sBuffer); both implement Struct and are used with Marshal and
// Unmarshal.

// Default servant names of the framework (research §2.8).
const (
	ServantNode     = "tars.tarsnode.ServerObj"
	ServantStat     = "tars.tarsstat.StatObj"
	ServantProperty = "tars.tarsproperty.PropertyObj"
	ServantNotify   = "tars.tarsnotify.NotifyObj"
	ServantQuery    = "tars.tarsregistry.QueryObj"
	ServantAdmin    = "AdminObj" // what tarsnode calls; accept any name on the admin port
)

// IntResult is the reply of a function returning int (tag 0).
type IntResult struct {
	Ret int32 // 0
}

func (s *IntResult) Encode(w *Buffer) { w.WriteInt32(0, s.Ret) }

func (s *IntResult) Decode(r *Reader) error {
	*s = IntResult{}
	return r.ReadInt32(&s.Ret, 0, true)
}

// LongResult is the reply of a function returning long (tag 0).
type LongResult struct {
	Ret int64 // 0
}

func (s *LongResult) Encode(w *Buffer) { w.WriteInt64(0, s.Ret) }

func (s *LongResult) Decode(r *Reader) error {
	*s = LongResult{}
	return r.ReadInt64(&s.Ret, 0, true)
}

// StringResult is the reply of a function returning string (tag 0).
type StringResult struct {
	Ret string // 0
}

func (s *StringResult) Encode(w *Buffer) { w.WriteString(0, s.Ret) }

func (s *StringResult) Decode(r *Reader) error {
	*s = StringResult{}
	return r.ReadString(&s.Ret, 0, true)
}

// NoArgs is the argument buffer of a function without parameters, and the
// reply of a void function: no fields at all.
type NoArgs struct{}

func (*NoArgs) Encode(*Buffer)         {}
func (*NoArgs) Decode(r *Reader) error { return r.Err() }
