package alert

import (
	"fmt"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// textAlertname is the alertname of a text/plain webhook's alert.
const textAlertname = "text"

// decodeText decodes a text/plain generic webhook: the body, trimmed, is
// the message (Data.Text), and its one firing alert has alertname "text",
// the first line as summary and the whole text as description. A charset
// parameter other than UTF-8 (Shift_JIS, EUC-JP, ...) is converted; one
// relay does not know is a *MediaTypeError.
func decodeText(contentType, charset string, body []byte) (*Data, error) {
	text, err := toUTF8(charset, body)
	if err != nil {
		return nil, &MediaTypeError{Source: SourceGeneric, ContentType: contentType}
	}
	text = strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD"))
	if text == "" {
		return nil, &DecodeError{Source: SourceGeneric, Msg: "empty body"}
	}
	d := single(KindText, nil, Alert{
		Status:      StatusFiring,
		Labels:      KV{"alertname": textAlertname},
		Annotations: KV{"summary": firstLine(text), "description": text},
	})
	d.Text = text
	return d, nil
}

// toUTF8 converts body from charset to UTF-8.
func toUTF8(charset string, body []byte) (string, error) {
	switch strings.ToLower(charset) {
	case "", "utf-8", "utf8", "us-ascii":
		return string(body), nil
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return "", fmt.Errorf("look up charset: %w", err)
	}
	b, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return "", fmt.Errorf("convert from %s: %w", charset, err)
	}
	return string(b), nil
}
