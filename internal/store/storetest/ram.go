package storetest

import (
	"errors"
	"testing"
	"time"

	"moat/internal/moat"
)

// testUsersPoliciesKeys: a RAM user's name is unique in its account and its
// ID everywhere; PutUserPolicy replaces a policy of the same name and
// UserPolicies lists a user's policies by name; an STS key keeps every
// field; deleting what is absent is ErrNotFound.
func testUsersPoliciesKeys(t *testing.T, s moat.Store) {
	u := moat.User{AccountID: acctA, Name: "alice", ID: "2000000000000001", CreatedAt: base}
	sts := moat.AccessKey{ID: "STS.key1", Secret: "sealed", AccountID: acctA, Active: true, CreatedAt: base,
		UserName: "alice", TokenHash: "ab12", Expires: base.Add(time.Hour), SessionPolicy: `{"Statement":[]}`}
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		for _, dup := range []moat.User{
			{AccountID: acctA, Name: "alice", ID: "2000000000000002", CreatedAt: base}, // name taken in the account
			{AccountID: "other", Name: "bob", ID: u.ID, CreatedAt: base},               // ID taken anywhere
		} {
			if err := tx.InsertUser(dup); !errors.Is(err, moat.ErrConflict) {
				t.Errorf("InsertUser(%+v) = %v, want ErrConflict", dup, err)
			}
		}
		if got, err := tx.User(acctA, "alice"); err != nil || got != u {
			t.Errorf("Tx.User = %+v, %v; want %+v", got, err, u)
		}
		if _, err := tx.User(acctA, "nobody"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.User(missing) = %v, want ErrNotFound", err)
		}
		for _, p := range []moat.UserPolicy{
			{AccountID: acctA, UserName: "alice", Name: "b", Document: "doc-b", UpdatedAt: base},
			{AccountID: acctA, UserName: "alice", Name: "a", Document: "doc-a", UpdatedAt: base},
			{AccountID: acctA, UserName: "alice", Name: "b", Document: "doc-b2", UpdatedAt: base.Add(time.Minute)},
		} {
			if err := tx.PutUserPolicy(p); err != nil {
				return err
			}
		}
		if err := tx.DeleteUserPolicy(acctA, "alice", "absent"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("DeleteUserPolicy(absent) = %v, want ErrNotFound", err)
		}
		return tx.InsertAccessKey(sts)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.User(t.Context(), acctA, "alice"); err != nil || got != u {
		t.Errorf("User = %+v, %v; want %+v", got, err, u)
	}
	ps, err := s.UserPolicies(t.Context(), acctA, "alice")
	if err != nil || len(ps) != 2 || ps[0].Name != "a" || ps[1].Document != "doc-b2" || !ps[1].UpdatedAt.Equal(base.Add(time.Minute)) {
		t.Errorf("UserPolicies = %+v, %v", ps, err)
	}
	if got, err := s.AccessKey(t.Context(), sts.ID); err != nil || got != sts {
		t.Errorf("AccessKey = %+v, %v; want %+v", got, err, sts)
	}
	err = s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.DeleteUserPolicy(acctA, "alice", "a"); err != nil {
			return err
		}
		return tx.DeleteAccessKey(sts.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessKey(t.Context(), sts.ID); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("AccessKey after DeleteAccessKey = %v, want ErrNotFound", err)
	}
	if err := s.Update(t.Context(), func(tx moat.Tx) error { return tx.DeleteAccessKey(sts.ID) }); !errors.Is(err, moat.ErrNotFound) {
		t.Errorf("second DeleteAccessKey = %v, want ErrNotFound", err)
	}
	if ps, err := s.UserPolicies(t.Context(), acctA, "alice"); err != nil || len(ps) != 1 {
		t.Errorf("UserPolicies after a delete = %+v, %v", ps, err)
	}
}
