package admin

import (
	"io"
	"net/http"
	"time"

	"moat/internal/moat"
)

// The admin routes of RAM: users, their AccessKeys and policies, STS
// credentials, and the status of any AccessKey.

// UserRequest creates a RAM user.
type UserRequest struct {
	UserName string
}

// UserResponse is a created RAM user.
type UserResponse struct {
	AccountId string
	UserName  string
	UserId    string
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var req UserRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	u, err := s.svc.CreateUser(r.Context(), r.PathValue("AccountId"), req.UserName)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, UserResponse{AccountId: u.AccountID, UserName: u.Name, UserId: u.ID})
}

// KeyResponse is a new AccessKey pair; the secret is shown only here.
type KeyResponse struct {
	AccessKeyId     string
	AccessKeySecret string
}

func (s *Server) createUserKey(w http.ResponseWriter, r *http.Request) {
	k, err := s.svc.CreateAccessKey(r.Context(), r.PathValue("AccountId"), r.PathValue("UserName"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, KeyResponse{AccessKeyId: k.ID, AccessKeySecret: k.Secret})
}

// PolicyResponse acknowledges a policy change.
type PolicyResponse struct {
	AccountId  string
	UserName   string
	PolicyName string
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) {
	doc, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		writeError(w, moat.Errorf(moat.CodeInvalidParameter, "The policy document could not be read."))
		return
	}
	if len(doc) > MaxBody {
		writeError(w, moat.Errorf(moat.CodeRequestTooLarge, "The policy document is larger than %d bytes.", MaxBody))
		return
	}
	acct, user, name := r.PathValue("AccountId"), r.PathValue("UserName"), r.PathValue("PolicyName")
	if err := s.svc.PutUserPolicy(r.Context(), acct, user, name, string(doc)); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, PolicyResponse{AccountId: acct, UserName: user, PolicyName: name})
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	acct, user, name := r.PathValue("AccountId"), r.PathValue("UserName"), r.PathValue("PolicyName")
	if err := s.svc.DeleteUserPolicy(r.Context(), acct, user, name); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, PolicyResponse{AccountId: acct, UserName: user, PolicyName: name})
}

// STSRequest asks for temporary credentials of a RAM user.
type STSRequest struct {
	DurationSeconds int64
	Policy          string // an inline policy document narrowing the user's
}

// STSResponse are temporary credentials.
type STSResponse struct {
	AccessKeyId     string
	AccessKeySecret string
	SecurityToken   string
	Expiration      string // RFC 3339, UTC
}

func (s *Server) issueSTS(w http.ResponseWriter, r *http.Request) {
	var req STSRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.DurationSeconds == 0 {
		req.DurationSeconds = 3600
	}
	d, err := moat.STSDuration(req.DurationSeconds)
	if err != nil {
		writeError(w, err)
		return
	}
	c, err := s.svc.IssueSTS(r.Context(), r.PathValue("AccountId"), r.PathValue("UserName"), d, req.Policy)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, STSResponse{AccessKeyId: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret,
		SecurityToken: c.SecurityToken, Expiration: c.Expiration.UTC().Format(time.RFC3339)})
}

// KeyStatusRequest enables or disables a key.
type KeyStatusRequest struct {
	Status string // Active or Inactive
}

// KeyStatusResponse is a key's new state.
type KeyStatusResponse struct {
	AccessKeyId string
	Status      string
}

func (s *Server) setKeyStatus(w http.ResponseWriter, r *http.Request) {
	var req KeyStatusRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("AccessKeyId")
	if err := s.svc.SetAccessKeyStatus(r.Context(), id, moat.KeyStatus(req.Status)); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, KeyStatusResponse{AccessKeyId: id, Status: req.Status})
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("AccessKeyId")
	if err := s.svc.DeleteAccessKey(r.Context(), id); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, KeyStatusResponse{AccessKeyId: id, Status: "Deleted"})
}

// AuditRecord is one authenticated call.
