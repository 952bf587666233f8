package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestAccept(t *testing.T) {
	t.Parallel()
	firing, err := os.ReadFile("../../testdata/payloads/alertmanager/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body string
		want       int
	}{
		{"alertmanager webhook", string(firing), http.StatusAccepted},
		{"not JSON", "alert!", http.StatusBadRequest},
		{"no alerts", `{"version":"4","alerts":[]}`, http.StatusBadRequest},
		{"over the size limit", `{"x":"` + strings.Repeat("a", maxBody) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			accept(rec, httptest.NewRequest(http.MethodPost, "/v1/alertmanager/chatwork/1", strings.NewReader(c.body)))
			if rec.Code != c.want {
				t.Fatalf("got %d, want %d", rec.Code, c.want)
			}
			if c.want != http.StatusAccepted {
				return
			}
			var a answer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil || len(a.ID) != 32 || a.Messages != 1 {
				t.Errorf("answer %s: want {id: 32 hex digits, messages: 1}", rec.Body)
			}
		})
	}
}
