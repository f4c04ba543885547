package tars

import "encoding/binary"

// Skip consumes the next field (head and value), whatever its type. It
// returns ErrTruncated at end of input.
func (r *Reader) Skip() error {
	if r.err != nil {
		return r.err
	}
	_, t, err := r.readHead()
	if err != nil {
		return err
	}
	return r.skipValue(t)
}

// skipValue skips the payload of a value of type t whose head has been read.
// Containers are skipped recursively, bounded by MaxDepth; counts are checked
// against the remaining input first, so the work is linear in the input size.
func (r *Reader) skipValue(t Type) error {
	switch t {
	case TypeZero, TypeStructEnd:
		return nil
	case TypeInt8:
		_, err := r.take(1)
		return err
	case TypeInt16:
		_, err := r.take(2)
		return err
	case TypeInt32, TypeFloat:
		_, err := r.take(4)
		return err
	case TypeInt64, TypeDouble:
		_, err := r.take(8)
		return err
	case TypeString1:
		p, err := r.take(1)
		if err != nil {
			return err
		}
		_, err = r.take(int(p[0]))
		return err
	case TypeString4:
		p, err := r.take(4)
		if err != nil {
			return err
		}
		n := uint64(binary.BigEndian.Uint32(p))
		if n > uint64(r.Remaining()) {
			return r.failf(ErrTooLarge, "string length %d, %d bytes left", n, r.Remaining())
		}
		r.off += int(n)
		return nil
	case TypeSimpleList:
		_, it, err := r.readHead()
		if err != nil {
			return err
		}
		if it != TypeInt8 {
			return r.failf(ErrMalformed, "SimpleList element head %v, want Int8", it)
		}
		n, err := r.readSize(1)
		if err != nil {
			return err
		}
		r.off += n
		return nil
	case TypeList, TypeMap:
		unit := 1
		if t == TypeMap {
			unit = 2
		}
		n, err := r.readSize(unit)
		if err != nil {
			return err
		}
		if err := r.enter(); err != nil {
			return err
		}
		defer r.leave()
		for range n * unit {
			if err := r.Skip(); err != nil {
				return err
			}
		}
		return nil
	case TypeStructBegin:
		if err := r.enter(); err != nil {
			return err
		}
		defer r.leave()
		return r.skipToStructEnd()
	default:
		return r.failf(ErrMalformed, "unknown type code %d", uint8(t))
	}
}

// skipToStructEnd skips fields up to and including the StructEnd that closes
// the current struct.
func (r *Reader) skipToStructEnd() error {
	for {
		if r.err != nil {
			return r.err
		}
		_, t, err := r.readHead()
		if err != nil {
			return err
		}
		if t == TypeStructEnd {
			return nil
		}
		if err := r.skipValue(t); err != nil {
			return err
		}
	}
}
