package tars

import "fmt"

// Type is the 4-bit wire type code of a TARS head.
type Type uint8

// Wire type codes (research §1.2).
const (
	TypeInt8        Type = 0  // Char: 1 byte
	TypeInt16       Type = 1  // Short: 2 bytes big-endian
	TypeInt32       Type = 2  // Int: 4 bytes big-endian
	TypeInt64       Type = 3  // Long: 8 bytes big-endian
	TypeFloat       Type = 4  // IEEE-754 binary32, big-endian
	TypeDouble      Type = 5  // IEEE-754 binary64, big-endian
	TypeString1     Type = 6  // 1-byte length + bytes
	TypeString4     Type = 7  // 4-byte big-endian length + bytes
	TypeMap         Type = 8  // count (tag 0) + count × (key tag 0, value tag 1)
	TypeList        Type = 9  // count (tag 0) + count × element at tag 0
	TypeStructBegin Type = 10 // fields follow, up to a StructEnd
	TypeStructEnd   Type = 11 // no payload, always tag 0
	TypeZero        Type = 12 // no payload, the numeric value 0
	TypeSimpleList  Type = 13 // head 0x00 + count (tag 0) + raw bytes
)

var typeNames = [...]string{
	"Int8", "Int16", "Int32", "Int64", "Float", "Double", "String1", "String4",
	"Map", "List", "StructBegin", "StructEnd", "Zero", "SimpleList",
}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// MaxDepth is how deeply structs, lists and maps may nest in decoded input.
// Deeper input is rejected with ErrTooLarge instead of exhausting the stack.
const MaxDepth = 64

// Struct is implemented by every typed TARS struct (a pointer to it).
//
// Encode writes the struct's fields in ascending tag order, without the
// StructBegin/StructEnd heads (WriteStruct adds them for nested structs;
// top-level values such as packets and argument buffers are bare fields).
//
// Decode first resets the receiver to its IDL defaults (so an absent optional
// field keeps its default, not Go's zero value), then reads its fields in
// ascending tag order. It must not consume the closing StructEnd: ReadStruct
// skips whatever follows the known fields up to and including it.
type Struct interface {
	Encode(w *Buffer)
	Decode(r *Reader) error
}

// Marshal returns the bare fields of s (no StructBegin/StructEnd), the form
// used for packets and for a struct stored on its own.
func Marshal(s Struct) []byte {
	var w Buffer
	s.Encode(&w)
	return w.Bytes()
}

// Unmarshal decodes the bare fields of s from data. Trailing fields with tags
// unknown to s are ignored.
func Unmarshal(data []byte, s Struct) error {
	r := NewReader(data)
	if err := s.Decode(r); err != nil {
		return err
	}
	return r.Err()
}

// Pair is one entry of a TARS map whose key is not a comparable Go type
// (map<StatMicMsgHead, StatMicMsgBody>): such maps decode into []Pair so that
// duplicates and wire order stay visible.
type Pair[K, V any] struct {
	Key   K
	Value V
}
