package chatmessengertest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const token = "cam-token"

type reply struct {
	httpStatus int
	status     int
	code       string
	message    string
}

func post(t *testing.T, s *Server, method, path, tok, contentType string, form url.Values) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("x-cam-apiToken", tok)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{httpStatus: resp.StatusCode}
	var a struct {
		Status int
		Errors []struct{ Code, Message string }
	}
	if json.Unmarshal(b, &a) == nil {
		r.status = a.Status
		if len(a.Errors) > 0 {
			r.code, r.message = a.Errors[0].Code, a.Errors[0].Message
		}
	}
	return r
}

func msg(js string) url.Values { return url.Values{"message": {js}} }

const form = "application/x-www-form-urlencoded"

func TestEnforcesTheAPI(t *testing.T) {
	t.Parallel()
	dm := `{"panelName":"messenger","message":"hi","isOpened":false,"generalPurposes":{"users":"a@x.com"}}`
	cases := []struct {
		name         string
		method, path string
		token, ctype string
		form         url.Values
		httpStatus   int
		code         string
		accepted     int
	}{
		{"direct message", "POST", "/sendMessage", token, form, msg(dm), 200, "", 1},
		{"room with mention", "POST", "/sendMessage", token, form, msg(`{"panelName":"ops","message":"hi","isOpened":true,"generalPurposes":{"users":"a@x.com"}}`), 200, "", 1},
		{"room without users", "POST", "/sendMessage", token, form, msg(`{"panelName":"ops","message":"hi","isOpened":false}`), 200, "", 1},
		{"batch", "POST", "/sendMessages", token, form, url.Values{"messages": {`[{"message":"1","property":{"users":"a@x.com"}},{"message":"2","property":{"users":"a@x.com,b@x.com"}}]`}}, 200, "", 2},
		{"bad token", "POST", "/sendMessage", "wrong", form, msg(dm), 200, "805", 0},
		{"no token", "POST", "/sendMessage", "", form, msg(dm), 200, "805", 0},
		{"JSON instead of form", "POST", "/sendMessage", token, "application/json", msg(dm), 200, "400", 0},
		{"message not JSON", "POST", "/sendMessage", token, form, msg("hi"), 200, "400", 0},
		{"isOpened missing", "POST", "/sendMessage", token, form, msg(`{"panelName":"messenger","message":"hi","generalPurposes":{"users":"a@x.com"}}`), 200, "400", 0},
		{"isOpened a string", "POST", "/sendMessage", token, form, msg(`{"panelName":"messenger","message":"hi","isOpened":"false","generalPurposes":{"users":"a@x.com"}}`), 200, "400", 0},
		{"users a list", "POST", "/sendMessage", token, form, msg(`{"panelName":"messenger","message":"hi","isOpened":false,"generalPurposes":{"users":["a@x.com"]}}`), 200, "400", 0},
		{"messenger without users", "POST", "/sendMessage", token, form, msg(`{"panelName":"messenger","message":"hi","isOpened":false}`), 200, "400", 0},
		{"unknown user", "POST", "/sendMessage", token, form, msg(`{"panelName":"messenger","message":"hi","isOpened":false,"generalPurposes":{"users":"z@x.com"}}`), 200, "452", 0},
		{"unknown room", "POST", "/sendMessage", token, form, msg(`{"panelName":"dev","message":"hi","isOpened":false}`), 200, "405", 0},
		{"batch with unknown user", "POST", "/sendMessages", token, form, url.Values{"messages": {`[{"message":"1","property":{"users":"a@x.com"}},{"message":"2","property":{"users":"z@x.com"}}]`}}, 200, "452", 0},
		{"GET", "GET", "/sendMessage", token, form, nil, 405, "", 0},
		{"unknown path", "POST", "/send", token, form, msg(dm), 404, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{Token: token, Users: []string{"a@x.com", "b@x.com"}, Rooms: []string{"ops"}})
			r := post(t, s, c.method, c.path, c.token, c.ctype, c.form)
			if r.httpStatus != c.httpStatus || r.code != c.code {
				t.Errorf("got HTTP %d code %q, want HTTP %d code %q", r.httpStatus, r.code, c.httpStatus, c.code)
			}
			if c.code != "" && (r.status != 520 || r.message == "") {
				t.Errorf("got status %d message %q, want 520 with a message", r.status, r.message)
			}
			if c.code == "805" && r.message != "APIトークンが正しくありません" {
				t.Errorf("got %q, want the real 805 message", r.message)
			}
			if got := len(s.Messages()); got != c.accepted {
				t.Errorf("got %d messages, want %d", got, c.accepted)
			}
		})
	}
}

func TestFailNextAndWait(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Token: token, Users: []string{"a@x.com"}})
	dm := msg(`{"panelName":"messenger","message":"hi","isOpened":false,"generalPurposes":{"users":"a@x.com"}}`)
	s.FailNext(1, "491")
	s.FailNextHTTP(1, 503)
	if r := post(t, s, "POST", "/sendMessage", token, form, dm); r.httpStatus != 503 {
		t.Errorf("first: got HTTP %d, want 503", r.httpStatus)
	}
	if r := post(t, s, "POST", "/sendMessage", token, form, dm); r.httpStatus != 200 || r.code != "491" {
		t.Errorf("second: got HTTP %d code %q, want 200 code 491", r.httpStatus, r.code)
	}
	if r := post(t, s, "POST", "/sendMessage", token, form, dm); r.code != "" || r.status != 200 {
		t.Errorf("third: got code %q status %d, want success", r.code, r.status)
	}
	if !s.WaitMessages(1, time.Second) || s.WaitMessages(2, 10*time.Millisecond) {
		t.Error("WaitMessages disagrees with the one accepted message")
	}
	if got := s.Requests(); got != 3 {
		t.Errorf("got %d requests, want 3", got)
	}
}
