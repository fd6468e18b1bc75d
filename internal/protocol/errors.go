package protocol

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Display limits for the text of error replies.
const (
	// MaxErrorTextBytes is how much of an error body that is not JSON is kept.
	MaxErrorTextBytes = 200
	// MaxErrorMessageBytes caps a JSON error message.
	MaxErrorMessageBytes = 1000
)

// DecodeError reads the code and message of an error reply. It never fails:
//
//   - {"error":"<code>","message":"<text>"}, this protocol's ErrorBody;
//   - {"error":"<text>"}: a single token becomes the code, text with spaces
//     the message;
//   - {"error":{"code","message"}}, {"code"} and {"message"} alone
//     (error_description and detail are read as the message too);
//   - anything else: the first MaxErrorTextBytes of the body as the message.
//
// Texts are sanitised (SanitizeText). redact runs on each text whole, before
// it is cut to its display length, so a secret is never cut in half and
// half-shown.
func DecodeError(body []byte, redact func(string) string) (code, message string) {
	if o, ok := objectOf(body); ok {
		errText, _ := textOf(firstOf(o, "error", "code"))
		message, _ = textOf(firstOf(o, "message", "error_description", "detail"))
		if nested, ok := objectOf(o["error"]); ok {
			errText, _ = textOf(firstOf(nested, "code", "error"))
			if message == "" {
				message, _ = textOf(nested["message"])
			}
		}
		errText = SanitizeText(redact(errText), MaxErrorMessageBytes)
		message = SanitizeText(redact(message), MaxErrorMessageBytes)
		switch {
		case errText == "":
		case IsCode(errText):
			code = errText
		case message == "":
			message = errText
		}
		if code != "" || message != "" {
			return code, message
		}
	}
	return "", SanitizeText(redact(string(body)), MaxErrorTextBytes)
}

// IsCode reports whether s looks like a machine code: short, one token of
// letters, digits, '_', '-' or '.'.
func IsCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// SanitizeText keeps the first limit bytes of s, as valid UTF-8, with
// control characters (terminal escapes included) replaced by spaces and runs
// of spaces collapsed: text from the wire, safe to show in a terminal.
func SanitizeText(s string, limit int) string {
	if len(s) > limit {
		s = s[:limit]
		// Drop a rune cut in half rather than emitting U+FFFD.
		for len(s) > 0 {
			r, size := utf8.DecodeLastRuneInString(s)
			if r != utf8.RuneError || size != 1 {
				break
			}
			s = s[:len(s)-1]
		}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
