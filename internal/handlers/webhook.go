package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/relayhq/relay/internal/auth"
	"github.com/relayhq/relay/internal/intake"
)

// shape is which of the two webhook URL shapes a handler serves.
type shape int

const (
	shapeRoute  shape = iota // /v1/{source}/{route}
	shapeDirect              // /v1/{source}/{kind}/{dest}
)

// unknownLabel stands for a source or route the relay does not know in
// metric labels, which must not take values from clients.
const unknownLabel = "unknown"

// webhooks serves the webhook and preview endpoints.
type webhooks struct {
	pipeline Pipeline
	maxBody  int64
	now      func() time.Time
	metrics  *metrics
	errs     *errorWriter
	// previews holds one token per preview being served: previews render
	// for anyone who may post webhooks and store nothing, so their cost
	// is bounded, not their rate.
	previews chan struct{}
	// storeTimeout bounds Accept, so that the answer (503 at worst) is
	// written before the server's write timeout.
	storeTimeout time.Duration
	// directKinds are the kinds that take direct URLs.
	directKinds map[string]bool
}

// preview is the answer to a preview request.
type preview struct {
	Messages []intake.Rendered `json:"messages"`
}

// labels are a webhook's metric labels; both stay unknownLabel until the
// value is known to be bounded (a known source, a configured route).
type labels struct {
	source, route string
}

// handle returns the handler of one URL shape: it parses the URL, reads the
// bounded body, checks auth, and calls Accept (202) or, for previews,
// Preview (200). It counts every webhook by source, route and status.
func (h *webhooks) handle(s shape, isPreview bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := labels{source: unknownLabel, route: unknownLabel}
		status := h.serve(w, r, s, isPreview, &l)
		if isPreview {
			l.route = "preview"
		}
		h.metrics.received(l.source, l.route, status)
	}
}

// serve answers one webhook, fills in l and returns the status it wrote.
func (h *webhooks) serve(w http.ResponseWriter, r *http.Request, s shape, isPreview bool, l *labels) int {
	if isPreview {
		select {
		case h.previews <- struct{}{}:
			defer func() { <-h.previews }()
		default:
			w.Header().Set("Retry-After", "1")
			return h.errs.write(w, r, &statusError{status: http.StatusTooManyRequests,
				msg: "too many previews at once; retry in a second"})
		}
	}
	req, err := parseRequest(r, s)
	if err != nil {
		return h.errs.write(w, r, err)
	}
	l.source = req.Source
	if req.Direct != nil && !h.directKinds[req.Direct.Kind] {
		return h.errs.write(w, r, intake.Errorf(intake.NotFound, "unknown sender kind %.32q for a direct URL", req.Direct.Kind))
	}
	cfg, routeErr := h.pipeline.Auth(req.Route)
	switch {
	case routeErr == nil:
		l.route = routeLabel(req)
	case req.Route != "" && isNotFound(routeErr):
		// An unknown route is answered 404 only after the global auth
		// passed, so that clients without credentials cannot probe
		// which routes exist.
		if cfg, err = h.pipeline.Auth(""); err != nil {
			return h.errs.write(w, r, err)
		}
	default:
		return h.errs.write(w, r, routeErr)
	}

	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return h.errs.write(w, r, err)
	}
	if err := auth.Check(cfg, r, body, h.now()); err != nil {
		return h.errs.write(w, r, err)
	}
	if routeErr != nil {
		return h.errs.write(w, r, routeErr)
	}
	req.Body = body
	req.ContentType = r.Header.Get("Content-Type")
	req.Header = withoutCredentials(r.Header, cfg)

	if isPreview {
		msgs, err := h.pipeline.Preview(r.Context(), req)
		if err != nil {
			return h.errs.write(w, r, err)
		}
		if msgs == nil {
			msgs = []intake.Rendered{}
		}
		writeJSON(w, http.StatusOK, preview{Messages: msgs})
		return http.StatusOK
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.storeTimeout)
	defer cancel()
	res, err := h.pipeline.Accept(ctx, req)
	if err != nil {
		return h.errs.write(w, r, err)
	}
	writeJSON(w, http.StatusAccepted, res)
	return http.StatusAccepted
}

// isNotFound reports whether err is the pipeline's "unknown route".
func isNotFound(err error) bool {
	var ie *intake.Error
	return errors.As(err, &ie) && ie.Code == intake.NotFound
}

// parseRequest validates the source and builds the request from the URL.
func parseRequest(r *http.Request, s shape) (intake.Request, error) {
	source := chi.URLParam(r, "source")
	if !knownSource(source) {
		return intake.Request{}, intake.Errorf(intake.NotFound, "unknown source %q: want alertmanager, grafana or generic", source)
	}
	req := intake.Request{Source: source}
	switch s {
	case shapeRoute:
		req.Route = chi.URLParam(r, "route")
	case shapeDirect:
		q := query(r)
		req.Direct = &intake.Direct{Kind: chi.URLParam(r, "kind"), Dest: chi.URLParam(r, "dest"),
			Query: q, Template: q.Get("template")}
	}
	return req, nil
}

// query is r's query; nil, without parsing, when it has none.
func query(r *http.Request) url.Values {
	if r.URL.RawQuery == "" {
		return nil
	}
	return r.URL.Query()
}

// knownSource reports whether the relay decodes source's payloads.
func knownSource(source string) bool {
	switch source {
	case "alertmanager", "grafana", "generic":
		return true
	}
	return false
}

// routeLabel is the bounded route label of a webhook metric: the route, or
// direct_<kind> for a direct URL of a known kind.
func routeLabel(req intake.Request) string {
	if req.Direct != nil {
		return "direct_" + req.Direct.Kind
	}
	return req.Route
}

// readBody reads the whole body, at most limit bytes; more is an
// *http.MaxBytesError (413), none at all a 400, and a body that could not
// be read (cut short, too slow) a 503.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), r.ContentLength)
	if err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			return nil, err
		}
		// A body cut short or sent too slowly is a transport failure that
		// a retry can fix, so it must not be a 4xx (Alertmanager drops
		// those).
		return nil, &intake.Error{Code: intake.Unavailable, Msg: "could not read the whole request body; retry", Err: err}
	}
	if len(body) == 0 {
		return nil, intake.Errorf(intake.Invalid, "empty request body: want the webhook payload")
	}
	return body, nil
}

// maxPrealloc bounds the buffer readAll allocates before the body arrives,
// so that clients that announce large bodies and send nothing do not pin
// memory for them.
const maxPrealloc = 64 << 10

// readAll reads rd to the end. A body of known size (size >= 0) goes into
// one buffer of size+1 bytes: the extra byte takes the read that finds EOF,
// so a body of the announced size needs no growing and copying, which
// io.ReadAll does in steps of 512 bytes and more. Beyond maxPrealloc, and
// for a body longer than announced (not over net/http, which stops at
// Content-Length), the buffer grows as the body arrives.
func readAll(rd io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(rd)
	}
	b := make([]byte, 0, min(size, maxPrealloc)+1)
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// withoutCredentials deletes from h the headers that carry credentials
// (the pipeline may log or render headers), including a custom Grafana
// signature header of cfg, and returns h. It edits the request's own
// headers instead of a copy, which cost a map and a slice per webhook:
// auth has been checked by then, and nothing reads them after.
func withoutCredentials(h http.Header, cfg auth.Config) http.Header {
	for _, k := range credentialHeaders {
		delete(h, k) // canonical keys, as net/http stores them
	}
	if cfg.GrafanaHMAC != nil && cfg.GrafanaHMAC.Header != "" {
		h.Del(cfg.GrafanaHMAC.Header)
	}
	return h
}

// credentialHeaders are the headers that carry credentials, in canonical
// form.
var credentialHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie",
	"X-Gitlab-Token", "X-Hub-Signature", "X-Hub-Signature-256",
	http.CanonicalHeaderKey(auth.DefaultGrafanaHeader),
}
