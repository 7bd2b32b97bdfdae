package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// rawConfig mirrors the JSON document. Pointers tell an omitted field from
// a zero value.
type rawConfig struct {
	Name            *string  `json:"name"`
	DiskName        *string  `json:"diskName"`
	MountPoint      *string  `json:"mountPoint"`
	Region          *string  `json:"region"`
	AuthMethod      *string  `json:"authMethod"`
	Archil          *string  `json:"archil"`
	Credential      *string  `json:"credential"`
	ReadOnly        *bool    `json:"readOnly"`
	Shared          *bool    `json:"shared"`
	EnableXattrs    *bool    `json:"enableXattrs"`
	WritebackCache  *bool    `json:"writebackCache"`
	MaxCacheMB      *int64   `json:"maxCacheMB"`
	TargetCacheMB   *int64   `json:"targetCacheMB"`
	LogLevel        *string  `json:"logLevel"`
	ExtraArgs       []string `json:"extraArgs"`
	PassEnv         []string `json:"passEnv"`
	ReadyTimeoutSec *int64   `json:"readyTimeoutSec"`
	StopTimeoutSec  *int64   `json:"stopTimeoutSec"`
	IMDSTimeoutSec  *int64   `json:"imdsTimeoutSec"`
}

// configKeys maps each JSON key to its expected JSON type, for messages.
var configKeys = func() map[string]string {
	keys := map[string]string{}
	t := reflect.TypeOf(rawConfig{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		kind := f.Type.Kind()
		if kind == reflect.Pointer {
			kind = f.Type.Elem().Kind()
		}
		keys[f.Tag.Get("json")] = map[reflect.Kind]string{
			reflect.String: "a string",
			reflect.Bool:   "true or false",
			reflect.Int64:  "an integer",
			reflect.Slice:  "a list of strings",
		}[kind]
	}
	return keys
}()

// decodeStrict decodes data into a rawConfig, rejecting what
// encoding/json lets through: keys that match only case-insensitively,
// duplicate keys, null values, unknown keys and trailing data. It walks the
// top-level object token by token (only json.Decoder's token stream shows
// duplicates and the exact spelling of keys) and decodes each value into
// its field as it goes: one pass, which matters at start-up, where a cold
// encoding/json costs more than the rest of the config handling.
func decodeStrict(data []byte) (*rawConfig, error) {
	var raw rawConfig
	fields := raw.fields()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, &Error{Problem: fmt.Sprintf("invalid JSON: %v", syntaxText(err))}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Problem: "must be a JSON object"}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &Error{Problem: fmt.Sprintf("invalid JSON: %v", syntaxText(err))}
		}
		key := tok.(string) // inside an object, json.Decoder yields keys as strings
		dst, known := fields[key]
		if !known {
			return nil, fieldError(printable(key), "unknown field")
		}
		if seen[key] {
			return nil, fieldError(key, "duplicate key")
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, &Error{Problem: fmt.Sprintf("invalid JSON: %v", syntaxText(err))}
		}
		if err := decodeValue(key, value, dst); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, &Error{Problem: fmt.Sprintf("invalid JSON: %v", syntaxText(err))}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Problem: "trailing data after the JSON object"}
	}
	return &raw, nil
}

// decodeValue decodes one top-level value into its field.
func decodeValue(key string, value json.RawMessage, dst any) error {
	if string(value) == "null" {
		return fieldError(key, "must not be null (omit the field instead)")
	}
	if !utf8.Valid(value) || loneSurrogate(value) {
		// encoding/json would replace the bytes, or a \ud800 escape,
		// with U+FFFD: the launcher would mount at a path other than the
		// one written.
		return fieldError(key, "is not valid UTF-8")
	}
	if value[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(value, &list) == nil {
			for i, elem := range list {
				if string(elem) == "null" {
					return fieldError(key, "element %d must not be null", i)
				}
			}
		}
	}
	if err := json.Unmarshal(value, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return fieldError(key, "must be %s", configKeys[key])
		}
		return &Error{Problem: fmt.Sprintf("invalid JSON: %v", err)}
	}
	return nil
}

// loneSurrogate reports whether a JSON value holds a \u escape of half a
// surrogate pair, which encoding/json decodes to U+FFFD without an error:
// more U+FFFD after decoding than the value wrote, literally or escaped.
func loneSurrogate(value json.RawMessage) bool {
	if !bytes.Contains(value, []byte(`\u`)) {
		return false
	}
	var v any
	if json.Unmarshal(value, &v) != nil {
		return false // the field's own decode reports it
	}
	written := bytes.Count(value, []byte("\uFFFD")) + bytes.Count(bytes.ToLower(value), []byte(`\ufffd`))
	return replacements(v) > written
}

// replacements counts U+FFFD in a decoded string or list of strings.
func replacements(v any) int {
	switch v := v.(type) {
	case string:
		return strings.Count(v, "\uFFFD")
	case []any:
		n := 0
		for _, e := range v {
			n += replacements(e)
		}
		return n
	}
	return 0
}

// fields maps each JSON key to a pointer to its field in r.
func (r *rawConfig) fields() map[string]any {
	v := reflect.ValueOf(r).Elem()
	m := make(map[string]any, v.NumField())
	for i := range v.NumField() {
		m[v.Type().Field(i).Tag.Get("json")] = v.Field(i).Addr().Interface()
	}
	return m
}

func syntaxText(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of input"
	}
	return err.Error()
}

// printable quotes a key for an error message so that a control character
// in it cannot break the one-line rule.
func printable(s string) string {
	q := fmt.Sprintf("%q", s)
	if s == "" {
		return q // the empty key, shown as ""
	}
	return q[1 : len(q)-1]
}
