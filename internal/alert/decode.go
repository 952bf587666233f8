package alert

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// Decode decodes a webhook body of the given source (SourceAlertmanager,
// SourceGrafana or SourceGeneric) sent with contentType. header carries the
// event headers GitHub and GitLab send; it may be nil. Errors are a
// *MediaTypeError (415), a *DecodeError (400), or wrap ErrUnknownSource (404).
func Decode(source, contentType string, header http.Header, body []byte) (*Data, error) {
	switch source {
	case SourceAlertmanager, SourceGrafana:
		mt, _, err := mediaType(source, contentType)
		if err != nil {
			return nil, err
		}
		if mt == mediaText {
			return nil, &MediaTypeError{Source: source, ContentType: contentType}
		}
		if source == SourceAlertmanager {
			return DecodeAlertmanager(body)
		}
		return DecodeGrafana(body)
	case SourceGeneric:
		return DecodeGeneric(contentType, header, body)
	}
	return nil, fmt.Errorf("%w %s: want %s, %s or %s", ErrUnknownSource, quote(source),
		SourceAlertmanager, SourceGrafana, SourceGeneric)
}

// media is the kind of body a Content-Type announces.
type media int

const (
	mediaNone media = iota // no Content-Type
	mediaJSON              // application/json or any +json
	mediaText              // text/plain
)

// mediaType classifies contentType; anything but JSON, text/plain or
// nothing is a *MediaTypeError. It returns the media type's parameters.
func mediaType(source, contentType string) (media, map[string]string, error) {
	if strings.TrimSpace(contentType) == "" {
		return mediaNone, nil, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
		return 0, nil, &MediaTypeError{Source: source, ContentType: contentType}
	case mt == "application/json", strings.HasSuffix(mt, "+json"):
		return mediaJSON, params, nil
	case mt == "text/plain":
		return mediaText, params, nil
	}
	return 0, nil, &MediaTypeError{Source: source, ContentType: contentType}
}
