package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBaselineHandlerAnswersEverything(t *testing.T) {
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		rec := httptest.NewRecorder()
		BaselineHandler().ServeHTTP(rec, httptest.NewRequest(m, "/?Action=Anything", nil))
		if rec.Code != 200 || rec.Body.String() != BaselineBody || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q", m, rec.Code, rec.Body.String())
		}
	}
}
