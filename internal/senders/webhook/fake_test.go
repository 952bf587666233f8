package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fake is a strict webhook endpoint on 127.0.0.1: it answers 405 to
// anything but POST, 404 off its secret path, 415 to another Content-Type,
// 403 when a required header is missing or wrong, and 401 when the
// X-Relay-Signature is missing or is not the HMAC-SHA256 of the body
// under its key. Requests that pass are logged and get the next queued
// answer (200 when none is left).
type fake struct {
	srv *httptest.Server
	// path is the secret part of the URL.
	path        string
	contentType string
	headers     map[string]string
	key         string // "" requires no signature

	mu      sync.Mutex
	answers []answer
	got     []string // bodies accepted
	refused []int    // statuses of requests refused
}

type answer struct {
	status int
	header map[string]string
	body   string
}

func newFake(t *testing.T, path, key string, headers map[string]string) *fake {
	t.Helper()
	f := &fake{path: path, contentType: "application/json", headers: headers, key: key}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// url is the endpoint's full, secret URL.
func (f *fake) url() string { return f.srv.URL + f.path }

func (f *fake) queue(as ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, as...)
}

func (f *fake) bodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func (f *fake) refusals() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.refused...)
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.refuse(w, http.StatusBadRequest, "unreadable body")
		return
	}
	switch {
	case r.Method != http.MethodPost:
		f.refuse(w, http.StatusMethodNotAllowed, "POST only")
		return
	case r.URL.RequestURI() != f.path:
		f.refuse(w, http.StatusNotFound, "no_service")
		return
	case r.Header.Get("Content-Type") != f.contentType:
		f.refuse(w, http.StatusUnsupportedMediaType, "want "+f.contentType)
		return
	}
	for k, v := range f.headers {
		if r.Header.Get(k) != v {
			f.refuse(w, http.StatusForbidden, "missing or wrong "+k)
			return
		}
	}
	if f.key != "" {
		m := hmac.New(sha256.New, []byte(f.key))
		m.Write(body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		if !hmac.Equal([]byte(r.Header.Get("X-Relay-Signature")), []byte(want)) {
			f.refuse(w, http.StatusUnauthorized, "bad signature")
			return
		}
	}
	f.mu.Lock()
	f.got = append(f.got, string(body))
	a := answer{status: http.StatusOK, body: "ok"}
	if len(f.answers) > 0 {
		a, f.answers = f.answers[0], f.answers[1:]
	}
	f.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fake) refuse(w http.ResponseWriter, status int, why string) {
	f.mu.Lock()
	f.refused = append(f.refused, status)
	f.mu.Unlock()
	http.Error(w, why, status)
}
