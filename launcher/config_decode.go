package launcher

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
// duplicate keys, null values, unknown keys and trailing data.
func decodeStrict(data []byte) (*rawConfig, error) {
	if err := checkKeys(data); err != nil {
		return nil, err
	}
	var raw rawConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field, _, _ := strings.Cut(typeErr.Field, ".")
			return nil, fieldError(field, "must be %s", configKeys[field])
		}
		return nil, &ConfigError{Problem: fmt.Sprintf("invalid JSON: %v", err)}
	}
	return &raw, nil
}

// checkKeys walks the top-level object token by token: only json.Decoder's
// token stream shows duplicates and the exact spelling of keys.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return &ConfigError{Problem: fmt.Sprintf("invalid JSON: %v", syntaxText(err))}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &ConfigError{Problem: "must be a JSON object"}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &ConfigError{Problem: fmt.Sprintf("invalid JSON: %v", syntaxText(err))}
		}
		key := tok.(string) // inside an object, json.Decoder yields keys as strings
		if _, known := configKeys[key]; !known {
			return fieldError(printable(key), "unknown field")
		}
		if seen[key] {
			return fieldError(key, "duplicate key")
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return &ConfigError{Problem: fmt.Sprintf("invalid JSON: %v", syntaxText(err))}
		}
		if string(value) == "null" {
			return fieldError(key, "must not be null (omit the field instead)")
		}
		if !utf8.Valid(value) {
			// encoding/json would replace the bytes with U+FFFD: the
			// launcher would mount at a path other than the one written.
			return fieldError(key, "is not valid UTF-8")
		}
		var list []json.RawMessage
		if json.Unmarshal(value, &list) == nil {
			for i, elem := range list {
				if string(elem) == "null" {
					return fieldError(key, "element %d must not be null", i)
				}
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return &ConfigError{Problem: fmt.Sprintf("invalid JSON: %v", syntaxText(err))}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &ConfigError{Problem: "trailing data after the JSON object"}
	}
	return nil
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
