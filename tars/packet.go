package tars

// Protocol versions (RequestPacket.IVersion), packet types and result codes
// (servant/BaseF.tars).
const (
	VersionTARS       int16 = 1 // plain TARS: sBuffer holds tagged arguments
	VersionTUPComplex int16 = 2 // TUP: map<string, map<string, vector<byte>>>
	VersionTUPSimple  int16 = 3 // TUP: map<string, vector<byte>>
	VersionJSON       int16 = 5

	PacketNormal int8 = 0 // a reply is expected
	PacketOneway int8 = 1 // no reply is sent

	MessageTypeNull   int32 = 0x00
	MessageTypeHash   int32 = 0x01
	MessageTypeGrid   int32 = 0x02
	MessageTypeDyed   int32 = 0x04
	MessageTypeSample int32 = 0x08
	MessageTypeAsync  int32 = 0x10
	MessageTypeSet    int32 = 0x80
	MessageTypeTrace  int32 = 0x100
)

// Result codes carried in ResponsePacket.IRet.
const (
	ServerSuccess       int32 = 0
	ServerDecodeErr     int32 = -1
	ServerEncodeErr     int32 = -2
	ServerNoFuncErr     int32 = -3
	ServerNoServantErr  int32 = -4
	ServerResetGrid     int32 = -5
	ServerQueueTimeout  int32 = -6
	InvokeTimeout       int32 = -7
	ProxyConnectErr     int32 = -8
	ServerOverload      int32 = -9
	AdapterNull         int32 = -10
	InvokeByInvalidESet int32 = -11
	ClientDecodeErr     int32 = -12
	SendRequestErr      int32 = -13
	ServerUnknownErr    int32 = -99
)

// FuncPing is the function every TARS servant answers with an empty reply.
const FuncPing = "tars_ping"

// RequestPacket is the request envelope (tup/RequestF.tars). It is also the
// reply envelope for TUP (iVersion 2/3) calls. All ten fields are required
// and always written, even empty maps.
type RequestPacket struct {
	IVersion     int16             // 1: VersionTARS
	CPacketType  int8              // 2: PacketNormal or PacketOneway
	IMessageType int32             // 3: MessageType* bits
	IRequestID   int32             // 4
	SServantName string            // 5
	SFuncName    string            // 6
	SBuffer      []byte            // 7: encoded arguments
	ITimeout     int32             // 8: ms
	Context      map[string]string // 9
	Status       map[string]string // 10
}

// Encode writes the ten fields of p.
func (p *RequestPacket) Encode(w *Buffer) {
	w.WriteInt16(1, p.IVersion)
	w.WriteInt8(2, p.CPacketType)
	w.WriteInt32(3, p.IMessageType)
	w.WriteInt32(4, p.IRequestID)
	w.WriteString(5, p.SServantName)
	w.WriteString(6, p.SFuncName)
	w.WriteBytes(7, p.SBuffer)
	w.WriteInt32(8, p.ITimeout)
	w.WriteStringMap(9, p.Context)
	w.WriteStringMap(10, p.Status)
}

// Decode reads p. Context and status are tolerated when absent (some
// writers omit them) and then decode as nil maps.
func (p *RequestPacket) Decode(r *Reader) error {
	*p = RequestPacket{}
	r.ReadInt16(&p.IVersion, 1, true)
	r.ReadInt8(&p.CPacketType, 2, true)
	r.ReadInt32(&p.IMessageType, 3, true)
	r.ReadInt32(&p.IRequestID, 4, true)
	r.ReadString(&p.SServantName, 5, true)
	r.ReadString(&p.SFuncName, 6, true)
	r.ReadBytes(&p.SBuffer, 7, true)
	r.ReadInt32(&p.ITimeout, 8, false)
	r.ReadStringMap(&p.Context, 9, false)
	r.ReadStringMap(&p.Status, 10, false)
	return r.Err()
}

// DecodeRequestPacket decodes a packet body (the bytes after the 4-byte
// length prefix, as returned by ReadPacket).
func DecodeRequestPacket(body []byte) (*RequestPacket, error) {
	p := new(RequestPacket)
	if err := Unmarshal(body, p); err != nil {
		return nil, err
	}
	return p, nil
}

// ResponsePacket is the reply envelope for iVersion 1 calls. Fields 1–7 are
// required and always written; ResultDesc and Context are optional and
// written too (as @tars/rpc does).
type ResponsePacket struct {
	IVersion     int16             // 1
	CPacketType  int8              // 2
	IRequestID   int32             // 3
	IMessageType int32             // 4
	IRet         int32             // 5: Server* result code
	SBuffer      []byte            // 6: return value (tag 0) and out parameters
	Status       map[string]string // 7
	SResultDesc  string            // 8, optional
	Context      map[string]string // 9, optional
}

// Encode writes the fields of p.
func (p *ResponsePacket) Encode(w *Buffer) {
	w.WriteInt16(1, p.IVersion)
	w.WriteInt8(2, p.CPacketType)
	w.WriteInt32(3, p.IRequestID)
	w.WriteInt32(4, p.IMessageType)
	w.WriteInt32(5, p.IRet)
	w.WriteBytes(6, p.SBuffer)
	w.WriteStringMap(7, p.Status)
	w.WriteString(8, p.SResultDesc)
	w.WriteStringMap(9, p.Context)
}

// Decode reads p. Status is tolerated when absent.
func (p *ResponsePacket) Decode(r *Reader) error {
	*p = ResponsePacket{}
	r.ReadInt16(&p.IVersion, 1, true)
	r.ReadInt8(&p.CPacketType, 2, true)
	r.ReadInt32(&p.IRequestID, 3, true)
	r.ReadInt32(&p.IMessageType, 4, true)
	r.ReadInt32(&p.IRet, 5, true)
	r.ReadBytes(&p.SBuffer, 6, true)
	r.ReadStringMap(&p.Status, 7, false)
	r.ReadString(&p.SResultDesc, 8, false)
	r.ReadStringMap(&p.Context, 9, false)
	return r.Err()
}

// DecodeResponsePacket decodes a packet body (without the length prefix).
func DecodeResponsePacket(body []byte) (*ResponsePacket, error) {
	p := new(ResponsePacket)
	if err := Unmarshal(body, p); err != nil {
		return nil, err
	}
	return p, nil
}

// NewResponse returns the reply skeleton for req (iVersion 1): same version,
// request id and message type, an empty status map.
func NewResponse(req *RequestPacket, ret int32, body []byte) *ResponsePacket {
	v := req.IVersion
	if v == 0 {
		v = VersionTARS
	}
	return &ResponsePacket{
		IVersion:     v,
		IRequestID:   req.IRequestID,
		IMessageType: req.IMessageType,
		IRet:         ret,
		SBuffer:      body,
	}
}
