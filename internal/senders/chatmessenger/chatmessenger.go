// Package chatmessenger posts messages to Chat&Messenger rooms and direct
// messages with POST {serverURL}/sendMessage. A Sender makes exactly one
// request per call and classifies every failure, including a 200 answer
// with status 520, as a *delivery.Error; it never retries or sleeps.
package chatmessenger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/relayhq/relay/internal/delivery"
	"github.com/relayhq/relay/internal/secret"
	"github.com/relayhq/relay/internal/senders/internal/upstream"
)

// statusFailed is the status field of an answer that reports an error.
const statusFailed = 520

// Sender posts to Chat&Messenger. It is safe for concurrent use.
type Sender struct {
	endpoint string
	token    secret.Secret
	scrubber *secret.Scrubber
	client   *http.Client
	logger   *zap.Logger
	now      func() time.Time
}

// New returns a Sender for cfg. It checks the server URL and that a token
// is set; it does not contact the server.
func New(cfg Config, client *http.Client, logger *zap.Logger) (*Sender, error) {
	if cfg.URL == "" {
		return nil, errors.New("chatmessenger: server URL is empty")
	}
	base, err := upstream.ParseBaseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("chatmessenger: %w", err)
	}
	if !upstream.ValidToken(cfg.Token.Reveal()) {
		return nil, errors.New("chatmessenger: token is empty or not a valid header value")
	}
	if client == nil {
		client = http.DefaultClient
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	scrubber := cfg.Scrub
	if scrubber == nil {
		scrubber = secret.NewScrubber(cfg.Token)
	}
	return &Sender{
		endpoint: base.JoinPath("sendMessage").String(), token: cfg.Token, scrubber: scrubber,
		client: client, logger: logger, now: time.Now,
	}, nil
}

// sendArgs is the JSON carried in the message form field.
type sendArgs struct {
	PanelName       string          `json:"panelName"`
	Message         string          `json:"message"`
	IsOpened        bool            `json:"isOpened"`
	GeneralPurposes generalPurposes `json:"generalPurposes"`
}

type generalPurposes struct {
	Users string `json:"users"`
}

// Send posts body to the panel of dest.Address (see Address): the panel
// "messenger" is a direct message to its users, any other panel is a room
// where its users are mentioned.
// A missing panel, a direct message without users or an empty body fails as
// Permanent without a request.
func (s *Sender) Send(ctx context.Context, d delivery.Destination, body string) (delivery.Receipt, error) {
	dest := ParseAddress(d.Address)
	switch {
	case dest.Panel == "":
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "bad_panel"}
	case dest.Panel == PanelMessenger && len(dest.Users) == 0:
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "no_users"}
	case body == "":
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "empty_body"}
	}
	msg, err := encodeArgs(sendArgs{
		PanelName: dest.Panel, Message: body, IsOpened: dest.Sealed,
		GeneralPurposes: generalPurposes{Users: strings.Join(dest.Users, ",")},
	})
	if err != nil {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "bad_request", Err: err}
	}
	form := url.Values{"message": {msg}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return delivery.Receipt{}, &delivery.Error{Class: delivery.Permanent, Reason: "bad_request",
			Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("x-cam-apiToken", s.token.Reveal())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	resp, err := s.client.Do(req)
	if err != nil {
		return delivery.Receipt{}, upstream.TransportError(ctx, fmt.Errorf("post to chatmessenger: %w", err))
	}
	answer, readErr := upstream.ReadAnswer(resp)
	s.logger.Debug("chatmessenger answered", zap.String("panel", dest.Panel), zap.Int("status", resp.StatusCode))
	if resp.StatusCode != http.StatusOK {
		return delivery.Receipt{}, upstream.StatusError(resp, s.scrub(string(answer)), s.now())
	}
	if e := s.answerError(answer); e != nil {
		return delivery.Receipt{}, e
	}
	if readErr != nil {
		s.logger.Warn("chatmessenger accepted a message but its answer was cut short", zap.Error(readErr))
	}
	return delivery.Receipt{}, nil
}

// answer is the JSON of an HTTP 200 answer.
type answer struct {
	Status int `json:"status"`
	Errors []struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	} `json:"errors"`
}

// answerError classifies a 200 answer that carries status 520 or errors;
// it returns nil for a success. An answer that is not JSON counts as a
// success: the server took the message, and failing it would send it again.
func (s *Sender) answerError(b []byte) *delivery.Error {
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		s.logger.Debug("chatmessenger answer is not JSON", zap.String("answer", upstream.Truncate(s.scrub(string(b)))))
		return nil
	}
	if a.Status != statusFailed && len(a.Errors) == 0 {
		return nil
	}
	code := "unknown"
	var parts []string
	for i, e := range a.Errors {
		c := strings.Trim(string(e.Code), `" `)
		if i == 0 && c != "" {
			code = c
		}
		parts = append(parts, strings.TrimSpace(c+" "+e.Message))
	}
	e := &delivery.Error{Class: delivery.Permanent, Reason: reason(code), Status: http.StatusOK,
		Answer: upstream.Truncate(s.scrub(strings.Join(parts, "; ")))}
	switch code {
	case "491":
		e.Class = delivery.RateLimited
	case "500", "503":
		e.Class = delivery.Retryable
	}
	return e
}

// reason keeps the Reason label bounded: documented codes name themselves,
// anything else is "cam_other".
func reason(code string) string {
	switch code {
	case "400", "405", "406", "451", "452", "490", "491", "500", "503", "800", "802", "805":
		return "cam_" + code
	}
	return "cam_other"
}

// encodeArgs writes the JSON without HTML escaping, so the message text
// arrives as written.
func encodeArgs(a sendArgs) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return "", fmt.Errorf("encode message: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// scrub removes every configured credential from an upstream answer,
// should one ever echo it.
func (s *Sender) scrub(answer string) string { return s.scrubber.Scrub(answer) }
