package config

import (
	"fmt"
	"strconv"
)

// rawConfig mirrors the JSON document. Pointers tell an omitted field from
// a zero value.
type rawConfig struct {
	Name            *string
	DiskName        *string
	MountPoint      *string
	Region          *string
	AuthMethod      *string
	Archil          *string
	Credential      *string
	ReadOnly        *bool
	Shared          *bool
	EnableXattrs    *bool
	WritebackCache  *bool
	MaxCacheMB      *int64
	TargetCacheMB   *int64
	LogLevel        *string
	ExtraArgs       []string
	PassEnv         []string
	ReadyTimeoutSec *int64
	StopTimeoutSec  *int64
	IMDSTimeoutSec  *int64
}

// fields maps each JSON key, spelled exactly, to its field in r.
func (r *rawConfig) fields() map[string]any {
	return map[string]any{
		"name": &r.Name, "diskName": &r.DiskName, "mountPoint": &r.MountPoint,
		"region": &r.Region, "authMethod": &r.AuthMethod, "archil": &r.Archil,
		"credential": &r.Credential, "readOnly": &r.ReadOnly, "shared": &r.Shared,
		"enableXattrs": &r.EnableXattrs, "writebackCache": &r.WritebackCache,
		"maxCacheMB": &r.MaxCacheMB, "targetCacheMB": &r.TargetCacheMB,
		"logLevel": &r.LogLevel, "extraArgs": &r.ExtraArgs, "passEnv": &r.PassEnv,
		"readyTimeoutSec": &r.ReadyTimeoutSec, "stopTimeoutSec": &r.StopTimeoutSec,
		"imdsTimeoutSec": &r.IMDSTimeoutSec,
	}
}

// decodeStrict decodes data into a rawConfig, refusing what encoding/json
// would let through: keys that match only case-insensitively, duplicate
// keys, null values, invalid UTF-8 and lone surrogate escapes (which it
// turns into U+FFFD: the launcher would mount at another path than the
// one written), unknown keys and trailing data. The parser is this
// package's own (json.go): a cold encoding/json cost the launcher more
// start-up than all its other work before the client's exec.
func decodeStrict(data []byte) (*rawConfig, error) {
	var raw rawConfig
	fields := raw.fields()
	p := &parser{data: data}
	p.skipSpace()
	if p.at() != '{' {
		if _, err := p.value(0); err != nil {
			return nil, syntaxError(err)
		}
		return nil, &Error{Problem: "must be a JSON object"}
	}
	seen := map[string]bool{}
	err := p.object(func(key string) error {
		dst, known := fields[key]
		if !known {
			return fieldError(printable(key), "unknown field")
		}
		if seen[key] {
			return fieldError(key, "duplicate key")
		}
		seen[key] = true
		v, err := p.value(1)
		if err != nil {
			return err
		}
		return decodeValue(key, v, dst)
	})
	if err != nil {
		return nil, syntaxError(err)
	}
	p.skipSpace()
	if p.i < len(p.data) {
		return nil, &Error{Problem: "trailing data after the JSON object"}
	}
	return &raw, nil
}

// syntaxError turns the parser's errors into config errors; a field's own
// error passes as it is.
func syntaxError(err error) error {
	if e, ok := err.(*jsonError); ok {
		return &Error{Problem: "invalid JSON: " + e.Error()}
	}
	return err
}

// decodeValue checks one top-level value and stores it in its field.
func decodeValue(key string, v value, dst any) error {
	switch {
	case v.kind == kindNull:
		return fieldError(key, "must not be null (omit the field instead)")
	case v.badText:
		return fieldError(key, "is not valid UTF-8")
	}
	for i, e := range v.elems {
		if e.kind == kindNull {
			return fieldError(key, "element %d must not be null", i)
		}
	}
	switch d := dst.(type) {
	case **string:
		if v.kind == kindString {
			*d = &v.str
			return nil
		}
		return fieldError(key, "must be a string")
	case **bool:
		if v.kind == kindBool {
			*d = &v.b
			return nil
		}
		return fieldError(key, "must be true or false")
	case **int64:
		if n, err := strconv.ParseInt(v.str, 10, 64); v.kind == kindNumber && err == nil {
			*d = &n
			return nil
		}
		return fieldError(key, "must be an integer")
	case *[]string:
		list := make([]string, 0, len(v.elems))
		for _, e := range v.elems {
			if e.kind != kindString {
				return fieldError(key, "must be a list of strings")
			}
			list = append(list, e.str)
		}
		if v.kind != kindArray {
			return fieldError(key, "must be a list of strings")
		}
		*d = list
		return nil
	}
	panic(fmt.Sprintf("config: field %s of type %T", key, dst))
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
