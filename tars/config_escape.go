package tars

import (
	"fmt"
	"strings"
)

// splitParam splits a parameter line at its first '=' that is not escaped
// ("\=") into key and value, both trimmed and still escaped. A line without
// one is a key with an empty value.
func splitParam(line string) (key, val string) {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++ // the escaped character is never a separator
		case '=':
			return strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		}
	}
	return strings.TrimSpace(line), ""
}

// unescape undoes the escapes tarsnode writes in keys and values (TarsCpp
// TC_ConfigDomain::parse): \\ \r \n \t \= stand for a backslash, CR, LF,
// tab and '='. Any other backslash is an error, as TarsCpp refuses it.
func unescape(s string) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("%q ends with a lone '\\' (write \\\\ for a backslash)", s)
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '=':
			b.WriteByte('=')
		default:
			return "", fmt.Errorf("%q: unknown escape \\%c (the escapes are \\\\ \\r \\n \\t \\=)", s, s[i])
		}
	}
	return b.String(), nil
}
