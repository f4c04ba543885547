package tars

import "fmt"

// AdminF.tars: tarsnode (and `node-agent ctl`) → the service's local
// endpoint. Any servant name is accepted on the admin port.
const (
	FuncShutdown = "shutdown" // void shutdown(): NoArgs, empty reply
	FuncNotify   = "notify"   // string notify(string command)
	FuncGetPid   = "getPid"   // long getPid(): NoArgs, LongResult
)

// NotifyArgs: string notify(string command). The reply is a StringResult.
type NotifyArgs struct {
	Command string // 1
}

func (s *NotifyArgs) Encode(w *Buffer) { w.WriteString(1, s.Command) }

func (s *NotifyArgs) Decode(r *Reader) error {
	*s = NotifyArgs{}
	return r.ReadString(&s.Command, 1, true)
}

// TUPAttrCommand is the TUP attribute name of notify's parameter.
const TUPAttrCommand = "command"

// NotifyCommand extracts the command of a notify request, whatever its
// iVersion: tag 1 of the argument buffer for plain TARS, the TUP attribute
// "command" for iVersion 2 and 3.
func NotifyCommand(req *RequestPacket) (string, error) {
	switch {
	case IsTUP(req.IVersion):
		a, err := DecodeTUP(req.IVersion, req.SBuffer)
		if err != nil {
			return "", err
		}
		return a.String(TUPAttrCommand)
	case req.IVersion == VersionTARS || req.IVersion == 0:
		var args NotifyArgs
		if err := Unmarshal(req.SBuffer, &args); err != nil {
			return "", fmt.Errorf("tars: notify arguments: %w", err)
		}
		return args.Command, nil
	default:
		return "", fmt.Errorf("tars: notify with iVersion %d: %w", req.IVersion, ErrMalformed)
	}
}
