package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"log/slog"

	"github.com/archil-nix/archil-launch/internal/logline"
)

const fixtureToken = "tok-Fixture-9f8e7d6c5b4a"

// Every way a Secret can be printed or encoded shows [redacted].
func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret([]byte(fixtureToken))
	res := Result{Method: MethodToken, Token: s, Source: "credstore"}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, res), fmt.Sprintf(verb, &res))
	}
	outputs = append(outputs, fmt.Sprint(s), fmt.Sprintln(s), s.String(), s.GoString())
	for _, v := range []any{s, res, &res, map[string]Secret{"k": s}, []Secret{s}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	var logBuf bytes.Buffer
	logline.New(&logBuf, "archil-launch", slog.LevelInfo).Info("resolved", "token", s, "result", res, "group", slog.GroupValue(slog.Any("token", s)))
	for _, log := range []*slog.Logger{slog.New(slog.NewTextHandler(&logBuf, nil)), slog.New(slog.NewJSONHandler(&logBuf, nil))} {
		log.Info("resolved", "token", s, "result", res, "group", slog.GroupValue(slog.Any("token", s)))
	}
	outputs = append(outputs, logBuf.String(), fmt.Errorf("wrapped: %v", s).Error(), errors.New(s.String()).Error())
	for _, out := range outputs {
		if strings.Contains(out, fixtureToken) || strings.Contains(out, "9f8e7d") {
			t.Fatalf("secret printed: %s", out)
		}
		if strings.Contains(out, "%!") {
			t.Fatalf("bad format output: %s", out)
		}
	}
	// Paths of fmt that bypass the methods: %p, and a Secret in another
	// type's unexported field (printed by reflection). These may look odd;
	// they must not show the bytes in any base.
	type holder struct{ tok Secret }
	h := holder{s}
	var bypass []string
	for _, verb := range []string{"%p", "%v", "%+v", "%#v", "%s", "%x", "%d", "%o", "%b"} {
		bypass = append(bypass, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	for _, out := range bypass {
		for _, leak := range []string{fixtureToken, "9f8e7d", "746f6b2d", "116 111 107", "164 157 153", "1110100 1101111"} {
			if strings.Contains(out, leak) {
				t.Fatalf("secret bytes printed: %s", out)
			}
		}
	}
	if !strings.Contains(fmt.Sprintf("%v", s), "[redacted]") || !strings.Contains(outputs[len(outputs)-3], "[redacted]") {
		t.Fatal("redaction marker missing")
	}
	if s.Reveal() != fixtureToken || s.Len() != len(fixtureToken) || s.IsZero() {
		t.Fatal("Reveal/Len/IsZero wrong")
	}
}

// A panic that carries a Secret prints it redacted too.
func TestSecretInPanic(t *testing.T) {
	defer func() {
		r := recover()
		if msg := fmt.Sprint(r); strings.Contains(msg, fixtureToken) {
			t.Fatalf("panic value shows the secret: %s", msg)
		}
	}()
	panic(NewSecret([]byte(fixtureToken)))
}
