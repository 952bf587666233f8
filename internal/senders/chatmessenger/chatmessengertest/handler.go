package chatmessengertest

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// camError is one entry of the errors list of a status 520 answer.
type camError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// codeMessage returns the text the real API sends with an error code.
func codeMessage(code string) string {
	switch code {
	case "400":
		return "このリクエストは無効です。"
	case "405":
		return "存在しないグループです。"
	case "452":
		return "ユーザが登録されていません。"
	case "491":
		return "リクエスト回数が多すぎます。"
	case "500":
		return "予期せぬエラーが発生しました。"
	case "503":
		return "サービスが利用できません。"
	case "805":
		return "APIトークンが正しくありません"
	}
	return "エラーが発生しました。"
}

// sendArgs is the JSON in the message field of /sendMessage. Pointers tell
// a missing field from a zero one.
type sendArgs struct {
	PanelName       *string `json:"panelName"`
	Message         *string `json:"message"`
	IsOpened        *bool   `json:"isOpened"`
	GeneralPurposes *struct {
		Users *string `json:"users"`
	} `json:"generalPurposes"`
}

// batchItem is one entry of the messages field of /sendMessages.
type batchItem struct {
	Message  *string `json:"message"`
	Property *struct {
		Users *string `json:"users"`
	} `json:"property"`
}

// serve answers one request. HTTP errors only for what is not an API call
// at all (method, path); every API-level failure is 200 with status 520.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	switch {
	case r.Method != http.MethodPost:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	case r.URL.Path != "/sendMessage" && r.URL.Path != "/sendMessages":
		http.NotFound(w, r)
		return
	case s.failHN > 0:
		s.failHN--
		http.Error(w, http.StatusText(s.failHTTP), s.failHTTP)
		return
	}
	code, accepted := s.decide(r, b)
	w.Header().Set("Content-Type", "application/json")
	if code != "" {
		_ = json.NewEncoder(w).Encode(map[string]any{"status": 520,
			"errors": []camError{{Code: code, Message: codeMessage(code)}}})
		return
	}
	s.accept(accepted)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": 200})
}

// decide checks a request and returns an error code, or the messages to
// accept. s.mu must be held.
func (s *Server) decide(r *http.Request, body []byte) (string, []Message) {
	if r.Header.Get("x-cam-apiToken") != s.token {
		return "805", nil
	}
	if s.failN > 0 {
		s.failN--
		return s.failCode, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return "400", nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "400", nil
	}
	now := time.Now()
	if r.URL.Path == "/sendMessages" {
		return s.batch(form.Get("messages"), now)
	}
	var a sendArgs
	if json.Unmarshal([]byte(form.Get("message")), &a) != nil || a.PanelName == nil ||
		a.Message == nil || *a.Message == "" || a.IsOpened == nil {
		return "400", nil
	}
	var users []string
	if a.GeneralPurposes != nil && a.GeneralPurposes.Users != nil {
		users = split(*a.GeneralPurposes.Users)
	}
	if code := s.checkUsers(users); code != "" {
		return code, nil
	}
	switch {
	case *a.PanelName == "messenger" && len(users) == 0:
		return "400", nil
	case *a.PanelName != "messenger" && !s.rooms[*a.PanelName]:
		return "405", nil
	}
	return "", []Message{{PanelName: *a.PanelName, Message: *a.Message, IsOpened: *a.IsOpened, Users: users, At: now}}
}

// batch checks a /sendMessages request: all messages are accepted or none.
func (s *Server) batch(field string, now time.Time) (string, []Message) {
	var items []batchItem
	if json.Unmarshal([]byte(field), &items) != nil || len(items) == 0 {
		return "400", nil
	}
	res := make([]Message, 0, len(items))
	for _, it := range items {
		if it.Message == nil || *it.Message == "" || it.Property == nil || it.Property.Users == nil {
			return "400", nil
		}
		users := split(*it.Property.Users)
		if len(users) == 0 {
			return "400", nil
		}
		if code := s.checkUsers(users); code != "" {
			return code, nil
		}
		res = append(res, Message{PanelName: "messenger", Message: *it.Message, Users: users, At: now})
	}
	return "", res
}

func (s *Server) checkUsers(users []string) string {
	for _, u := range users {
		if !s.users[u] {
			return "452"
		}
	}
	return ""
}

// split parses a comma-separated users field.
func split(users string) []string {
	var res []string
	for _, u := range strings.Split(users, ",") {
		if u = strings.TrimSpace(u); u != "" {
			res = append(res, u)
		}
	}
	return res
}
