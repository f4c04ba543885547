package tars

import (
	"fmt"
	"slices"
	"strconv"
)

// TUP status keys: a TUP reply (a RequestPacket) carries its result code
// and description in its status map.
const (
	StatusResultCode = "STATUS_RESULT_CODE"
	StatusResultDesc = "STATUS_RESULT_DESC"
)

// TUP type names used by iVersion 2 (complex) attributes.
const (
	TUPTypeString = "string"
	TUPTypeInt32  = "int32"
	TUPTypeInt64  = "int64"
	TUPTypeBool   = "bool"
)

// TUPAttributes is the argument buffer of a TUP call (iVersion 2 or 3):
// values keyed by parameter name, each encoded on its own at tag 0. A return
// value is stored under the empty name "" (and "tars_ret", as TarsGo does).
//
// Version 3 stores map<string, vector<byte>>; version 2 stores
// map<string, map<typeName, vector<byte>>>, where typeName is e.g. "string".
type TUPAttributes struct {
	Version int16
	values  map[string]tupValue
}

type tupValue struct {
	typeName string // version 2 only
	data     []byte
}

// NewTUP returns empty attributes for version 2 or 3.
func NewTUP(version int16) *TUPAttributes {
	return &TUPAttributes{Version: version, values: map[string]tupValue{}}
}

// DecodeTUP decodes the sBuffer of a TUP packet of the given version.
func DecodeTUP(version int16, sBuffer []byte) (*TUPAttributes, error) {
	a := NewTUP(version)
	r := NewReader(sBuffer)
	switch version {
	case VersionTUPSimple:
		var m map[string][]byte
		if err := ReadMap(r, &m, 0, true, (*Reader).ReadString, (*Reader).ReadBytes); err != nil {
			return nil, fmt.Errorf("tars: TUP v3 attributes: %w (%w)", ErrTUP, err)
		}
		for k, v := range m {
			a.values[k] = tupValue{data: v}
		}
	case VersionTUPComplex:
		var m map[string]map[string][]byte
		inner := func(r *Reader, dst *map[string][]byte, tag uint8, required bool) error {
			return ReadMap(r, dst, tag, required, (*Reader).ReadString, (*Reader).ReadBytes)
		}
		if err := ReadMap(r, &m, 0, true, (*Reader).ReadString, inner); err != nil {
			return nil, fmt.Errorf("tars: TUP v2 attributes: %w (%w)", ErrTUP, err)
		}
		for k, types := range m {
			if v, ok := types[TUPTypeString]; ok && len(types) > 1 {
				a.values[k] = tupValue{typeName: TUPTypeString, data: v}
				continue
			}
			// One entry is the normal case; with several, pick the first by
			// name so the result is deterministic.
			names := make([]string, 0, len(types))
			for t := range types {
				names = append(names, t)
			}
			slices.Sort(names)
			if len(names) > 0 {
				a.values[k] = tupValue{typeName: names[0], data: types[names[0]]}
			}
		}
	default:
		return nil, fmt.Errorf("tars: iVersion %d is not TUP: %w", version, ErrTUP)
	}
	return a, nil
}

// Names returns the attribute names, sorted.
func (a *TUPAttributes) Names() []string {
	names := make([]string, 0, len(a.values))
	for k := range a.values {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Get returns the raw encoding of attribute name (one value at tag 0) and,
// for version 2, its type name.
func (a *TUPAttributes) Get(name string) (data []byte, typeName string, ok bool) {
	v, ok := a.values[name]
	return v.data, v.typeName, ok
}

func (a *TUPAttributes) reader(name, typeName string) (*Reader, error) {
	v, ok := a.values[name]
	if !ok {
		return nil, fmt.Errorf("tars: TUP attribute %q missing: %w", name, ErrTUP)
	}
	if a.Version == VersionTUPComplex && v.typeName != typeName {
		return nil, fmt.Errorf("tars: TUP attribute %q has type %q, want %q: %w", name, v.typeName, typeName, ErrTUP)
	}
	return NewReader(v.data), nil
}

// String decodes attribute name as a string.
func (a *TUPAttributes) String(name string) (string, error) {
	r, err := a.reader(name, TUPTypeString)
	if err != nil {
		return "", err
	}
	var s string
	if err := r.ReadString(&s, 0, true); err != nil {
		return "", fmt.Errorf("tars: TUP attribute %q: %w (%w)", name, ErrTUP, err)
	}
	return s, nil
}

// Int32 decodes attribute name as an int32.
func (a *TUPAttributes) Int32(name string) (int32, error) {
	r, err := a.reader(name, TUPTypeInt32)
	if err != nil {
		return 0, err
	}
	var v int32
	if err := r.ReadInt32(&v, 0, true); err != nil {
		return 0, fmt.Errorf("tars: TUP attribute %q: %w (%w)", name, ErrTUP, err)
	}
	return v, nil
}

// Put stores the raw encoding of one value at tag 0 under name.
func (a *TUPAttributes) Put(name, typeName string, data []byte) {
	if a.values == nil {
		a.values = map[string]tupValue{}
	}
	a.values[name] = tupValue{typeName: typeName, data: data}
}

// PutString stores s under name.
func (a *TUPAttributes) PutString(name, s string) {
	var w Buffer
	w.WriteString(0, s)
	a.Put(name, TUPTypeString, w.Bytes())
}

// PutInt32 stores v under name.
func (a *TUPAttributes) PutInt32(name string, v int32) {
	var w Buffer
	w.WriteInt32(0, v)
	a.Put(name, TUPTypeInt32, w.Bytes())
}

// Encode returns the sBuffer for a packet: the attribute map at tag 0, keys
// sorted.
func (a *TUPAttributes) Encode() []byte {
	var w Buffer
	names := a.Names()
	w.WriteMapHead(0, len(names))
	for _, k := range names {
		v := a.values[k]
		w.WriteString(0, k)
		if a.Version == VersionTUPComplex {
			w.WriteMapHead(1, 1)
			w.WriteString(0, v.typeName)
			w.WriteBytes(1, v.data)
		} else {
			w.WriteBytes(1, v.data)
		}
	}
	return w.Bytes()
}

// NewTUPResponse builds the reply to a TUP request: a RequestPacket (not a
// ResponsePacket) with the request's version, id, message type, servant and
// function, the attributes as sBuffer and the result in its status map.
func NewTUPResponse(req *RequestPacket, ret int32, desc string, attrs *TUPAttributes) *RequestPacket {
	if attrs == nil {
		attrs = NewTUP(req.IVersion)
	}
	attrs.Version = req.IVersion
	return &RequestPacket{
		IVersion:     req.IVersion,
		CPacketType:  PacketNormal,
		IMessageType: req.IMessageType,
		IRequestID:   req.IRequestID,
		SServantName: req.SServantName,
		SFuncName:    req.SFuncName,
		SBuffer:      attrs.Encode(),
		Context:      map[string]string{},
		Status: map[string]string{
			StatusResultCode: strconv.Itoa(int(ret)),
			StatusResultDesc: desc,
		},
	}
}

// IsTUP reports whether v is a TUP iVersion (2 or 3).
func IsTUP(v int16) bool { return v == VersionTUPComplex || v == VersionTUPSimple }
