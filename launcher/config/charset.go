package config

// Character-class matchers for the config rules. They replace regular
// expressions on purpose: compiling nine patterns at init cost the
// launcher over a millisecond of start-up, more than all its other work
// before the client's exec.

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// IsAlnum reports whether c is an ASCII letter or digit.
func IsAlnum(c byte) bool { return isLower(c) || isDigit(c) || (c >= 'A' && c <= 'Z') }
func isHex(c byte) bool   { return isDigit(c) || (c >= 'a' && c <= 'f') }

// in returns a matcher for alphanumerics plus the bytes of extra.
func in(extra string) func(byte) bool {
	return func(c byte) bool {
		if IsAlnum(c) {
			return true
		}
		for i := 0; i < len(extra); i++ {
			if extra[i] == c {
				return true
			}
		}
		return false
	}
}

// matches reports whether s has min to max bytes, its first byte passes
// first and every other byte passes rest.
func matches(s string, first, rest func(byte) bool, min, max int) bool {
	if len(s) < min || len(s) > max || (len(s) > 0 && !first(s[0])) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

var (
	nameChars       = in("_-")
	credentialChars = in("_.-")
	envNameRest     = in("_")
	envNameFirst    = func(c byte) bool { return envNameRest(c) && !isDigit(c) }
	diskChars       = in("._-")
	emailLocalChars = in("._%+-")
	domainChars     = in(".-")
)

// validName: [A-Za-z0-9_-]{1,64}.
func validName(s string) bool { return matches(s, nameChars, nameChars, 1, 64) }

// validCredential: systemd's credential names, [A-Za-z0-9_.-]{1,255}, not
// starting with '.'.
func validCredential(s string) bool {
	return matches(s, nameChars, credentialChars, 1, 255)
}

// validEnvName: [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool { return matches(s, envNameFirst, envNameRest, 1, 1<<20) }

// validDiskID: dsk- and 16 lowercase hex digits.
func validDiskID(s string) bool {
	return len(s) == 20 && s[:4] == "dsk-" && matches(s[4:], isHex, isHex, 16, 16)
}

// validDiskPart: an owner or disk name, [A-Za-z0-9][A-Za-z0-9._-]*.
func validDiskPart(s string) bool { return matches(s, IsAlnum, diskChars, 1, maxDiskNameBytes) }

// validEmailOwner: user@domain, each part starting with a letter or digit.
func validEmailOwner(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			return matches(s[:i], IsAlnum, emailLocalChars, 1, maxDiskNameBytes) &&
				matches(s[i+1:], IsAlnum, domainChars, 1, maxDiskNameBytes)
		}
	}
	return false
}

// validRegion: ^[a-z][a-z0-9]*-[a-z0-9-]+[0-9]$, at most 64 bytes, no "--".
func validRegion(s string) bool {
	if len(s) > 64 || len(s) < 4 || !isLower(s[0]) || !isDigit(s[len(s)-1]) {
		return false
	}
	dash := -1
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' && s[i-1] == '-':
			return false
		case c == '-' && dash < 0:
			dash = i
		case !isLower(c) && !isDigit(c) && c != '-':
			return false
		}
	}
	// After the first dash: at least one of [a-z0-9-], then the final digit.
	return dash > 0 && len(s)-dash-1 >= 2
}
