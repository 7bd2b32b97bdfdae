package config

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A JSON parser (RFC 8259) for the mount config: one flat object whose
// values are strings, booleans, integers and lists of strings. It keeps
// what decodeStrict needs to refuse and nothing more: a value's kind, its
// text, and whether a string in it was not valid UTF-8 or held a lone
// surrogate escape.

type kind int

const (
	kindString kind = iota + 1
	kindNumber
	kindBool
	kindNull
	kindArray
	kindObject
)

// value is one parsed JSON value.
type value struct {
	kind    kind
	str     string  // a string's text, a number's digits as written
	b       bool    // a boolean
	elems   []value // an array's elements
	badText bool    // a string in it is not valid UTF-8 or has a lone surrogate
}

// maxDepth bounds nesting: a config nests one level, a hostile file could
// nest until the stack ran out.
const maxDepth = 64

// jsonError is a syntax error at a byte offset.
type jsonError struct {
	msg string
	at  int
}

func (e *jsonError) Error() string {
	if e.at < 0 {
		return e.msg
	}
	return fmt.Sprintf("%s at byte %d", e.msg, e.at)
}

type parser struct {
	data []byte
	i    int
}

// at is the byte at the read position, 0 at the end.
func (p *parser) at() byte {
	if p.i < len(p.data) {
		return p.data[p.i]
	}
	return 0
}

func (p *parser) skipSpace() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) fail(msg string) error {
	if p.i >= len(p.data) {
		return &jsonError{msg: "unexpected end of input", at: -1}
	}
	return &jsonError{msg: fmt.Sprintf("%s %q", msg, p.data[p.i]), at: p.i}
}

// expect consumes c after white space.
func (p *parser) expect(c byte) error {
	p.skipSpace()
	if p.at() != c || p.i >= len(p.data) {
		return p.fail(fmt.Sprintf("want %q, found", c))
	}
	p.i++
	return nil
}

// value parses the value at the read position.
func (p *parser) value(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, &jsonError{msg: "nested too deeply", at: p.i}
	}
	p.skipSpace()
	switch c := p.at(); {
	case p.i >= len(p.data):
		return value{}, p.fail("")
	case c == '"':
		return p.string()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == '[':
		return p.array(depth)
	case c == '{':
		v := value{kind: kindObject}
		err := p.object(func(string) error {
			e, err := p.value(depth + 1)
			v.badText = v.badText || e.badText
			return err
		})
		return v, err
	}
	for _, lit := range literals {
		if bytes.HasPrefix(p.data[p.i:], []byte(lit.text)) {
			p.i += len(lit.text)
			return lit.v, nil
		}
	}
	return value{}, p.fail("invalid character")
}

var literals = []struct {
	text string
	v    value
}{{"true", value{kind: kindBool, b: true}}, {"false", value{kind: kindBool}}, {"null", value{kind: kindNull}}}

// object parses {"key": value, ...}, calling member after each key with
// the read position at its value, which member must parse.
func (p *parser) object(member func(key string) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	p.skipSpace()
	if p.at() == '}' {
		p.i++
		return nil
	}
	for {
		p.skipSpace()
		if p.at() != '"' {
			return p.fail("want a key, found")
		}
		key, err := p.string()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := member(key.str); err != nil {
			return err
		}
		p.skipSpace()
		switch p.at() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.fail("want ',' or '}', found")
		}
	}
}

func (p *parser) array(depth int) (value, error) {
	v := value{kind: kindArray}
	p.i++ // [
	p.skipSpace()
	if p.at() == ']' {
		p.i++
		return v, nil
	}
	for {
		e, err := p.value(depth + 1)
		if err != nil {
			return v, err
		}
		v.elems = append(v.elems, e)
		v.badText = v.badText || e.badText
		p.skipSpace()
		switch p.at() {
		case ',':
			p.i++
		case ']':
			p.i++
			return v, nil
		default:
			return v, p.fail("want ',' or ']', found")
		}
	}
}

// number checks the JSON number grammar and keeps the text as written.
func (p *parser) number() (value, error) {
	start := p.i
	if p.at() == '-' {
		p.i++
	}
	switch {
	case p.at() == '0':
		p.i++
	case '1' <= p.at() && p.at() <= '9':
		p.digits()
	default:
		return value{}, p.fail("invalid number, found")
	}
	if p.at() == '.' {
		p.i++
		if !p.digits() {
			return value{}, p.fail("want a digit, found")
		}
	}
	if p.at() == 'e' || p.at() == 'E' {
		p.i++
		if p.at() == '+' || p.at() == '-' {
			p.i++
		}
		if !p.digits() {
			return value{}, p.fail("want a digit, found")
		}
	}
	return value{kind: kindNumber, str: string(p.data[start:p.i])}, nil
}

func (p *parser) digits() bool {
	start := p.i
	for '0' <= p.at() && p.at() <= '9' && p.i < len(p.data) {
		p.i++
	}
	return p.i > start
}

// string parses a string, escapes decoded. Invalid UTF-8 and lone
// surrogates are kept (as the bytes, and as U+FFFD) and marked.
func (p *parser) string() (value, error) {
	v := value{kind: kindString}
	p.i++ // "
	var b strings.Builder
	for {
		if p.i >= len(p.data) {
			return v, p.fail("")
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			v.str = b.String()
			v.badText = v.badText || !utf8.ValidString(v.str)
			return v, nil
		case c < 0x20:
			return v, p.fail("control character in a string:")
		case c != '\\':
			b.WriteByte(c)
			p.i++
			continue
		}
		p.i++ // backslash
		if p.i >= len(p.data) {
			return v, p.fail("")
		}
		if e := strings.IndexByte(`"\/bfnrt`, p.data[p.i]); e >= 0 {
			b.WriteByte("\"\\/\b\f\n\r\t"[e])
			p.i++
			continue
		}
		if p.data[p.i] != 'u' {
			return v, p.fail("invalid escape")
		}
		r, err := p.hex4()
		if err != nil {
			return v, err
		}
		if utf16.IsSurrogate(r) {
			low := rune(-1)
			if p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
				save := p.i
				p.i++
				if low, err = p.hex4(); err != nil {
					return v, err
				}
				if utf16.DecodeRune(r, low) == utf8.RuneError {
					p.i = save // not its pair: read on its own
					low = -1
				}
			}
			if low < 0 {
				v.badText = true
				r = utf8.RuneError
			} else {
				r = utf16.DecodeRune(r, low)
			}
		}
		b.WriteRune(r)
	}
}

// hex4 reads the four hex digits after a 'u' (at the read position).
func (p *parser) hex4() (rune, error) {
	p.i++ // u
	if p.i+4 > len(p.data) {
		p.i = len(p.data)
		return 0, p.fail("")
	}
	var r rune
	for _, c := range p.data[p.i : p.i+4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, p.fail("invalid \\u escape")
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, nil
}
