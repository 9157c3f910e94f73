package mql

import (
	"regexp"
	"strings"
)

// compileRegex compiles a MongoDB (PCRE) regular expression with its options into Go's RE2.
// Supported options: i, m, s, x (whitespace and # comments outside classes are dropped), u.
func compileRegex(pattern, options string) (*regexp.Regexp, error) {
	flags := ""
	for _, o := range options {
		switch o {
		case 'i', 'm', 's':
			if !strings.ContainsRune(flags, o) {
				flags += string(o)
			}
		case 'x':
			pattern = stripExtended(pattern)
		case 'u', 'l':
		default:
			return nil, errf(codeBadValue, "invalid flag in regex options: %c", o)
		}
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, errf(51091, "Regular expression is invalid: %v", err)
	}
	return re, nil
}

func stripExtended(p string) string {
	var b strings.Builder
	inClass, esc, comment := false, false, false
	for _, r := range p {
		switch {
		case comment:
			if r == '\n' {
				comment = false
			}
			continue
		case esc:
			esc = false
		case r == '\\':
			esc = true
		case inClass:
			if r == ']' {
				inClass = false
			}
		case r == '[':
			inClass = true
		case r == '#':
			comment = true
			continue
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
