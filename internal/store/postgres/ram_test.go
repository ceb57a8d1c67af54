package postgres_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"moat/internal/moat"
	"moat/internal/store/postgres"
)

// The RAM and audit parts of the contract, until the conformance suite
// covers them: the same semantics as the SQLite store.

func TestUsersPoliciesKeys(t *testing.T) {
	s := open(t, freshDB(t, false), postgres.Options{})
	base := time.Date(2031, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	u := moat.User{AccountID: acct, Name: "alice", ID: "2000000000000001", CreatedAt: base}
	sts := moat.AccessKey{ID: "STS.key1", Secret: "sealed", AccountID: acct, Active: true, CreatedAt: base,
		UserName: "alice", TokenHash: "ab12", Expires: base.Add(time.Hour), SessionPolicy: `{"Statement":[]}`}
	err := s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		for _, dup := range []moat.User{
			{AccountID: acct, Name: "alice", ID: "2000000000000002", CreatedAt: base}, // name taken in the account
			{AccountID: "other", Name: "bob", ID: u.ID, CreatedAt: base},              // ID taken anywhere
		} {
			if err := tx.InsertUser(dup); !errors.Is(err, moat.ErrConflict) {
				t.Errorf("InsertUser(%+v) = %v, want ErrConflict", dup, err)
			}
		}
		if got, err := tx.User(acct, "alice"); err != nil || got != u {
			t.Errorf("Tx.User = %+v, %v; want %+v", got, err, u)
		}
		if _, err := tx.User(acct, "nobody"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("Tx.User(missing) = %v, want ErrNotFound", err)
		}
		for _, p := range []moat.UserPolicy{
			{AccountID: acct, UserName: "alice", Name: "b", Document: "doc-b", UpdatedAt: base},
			{AccountID: acct, UserName: "alice", Name: "a", Document: "doc-a", UpdatedAt: base},
			{AccountID: acct, UserName: "alice", Name: "b", Document: "doc-b2", UpdatedAt: base.Add(time.Minute)},
		} {
			if err := tx.PutUserPolicy(p); err != nil {
				return err
			}
		}
		if err := tx.DeleteUserPolicy(acct, "alice", "absent"); !errors.Is(err, moat.ErrNotFound) {
			t.Errorf("DeleteUserPolicy(absent) = %v, want ErrNotFound", err)
		}
		return tx.InsertAccessKey(sts)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.User(t.Context(), acct, "alice"); err != nil || got != u {
		t.Errorf("User = %+v, %v; want %+v", got, err, u)
	}
	ps, err := s.UserPolicies(t.Context(), acct, "alice")
	if err != nil || len(ps) != 2 || ps[0].Name != "a" || ps[1].Document != "doc-b2" || !ps[1].UpdatedAt.Equal(base.Add(time.Minute)) {
		t.Errorf("UserPolicies = %+v, %v", ps, err)
	}
	if got, err := s.AccessKey(t.Context(), sts.ID); err != nil || got != sts {
		t.Errorf("AccessKey = %+v, %v; want %+v", got, err, sts)
	}
	err = s.Update(t.Context(), func(tx moat.Tx) error {
		if err := tx.DeleteUserPolicy(acct, "alice", "a"); err != nil {
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
	if ps, err := s.UserPolicies(t.Context(), acct, "alice"); err != nil || len(ps) != 1 {
		t.Errorf("UserPolicies after a delete = %+v, %v", ps, err)
	}
}

func TestAudit(t *testing.T) {
	s := open(t, freshDB(t, false), postgres.Options{})
	base := time.Date(2031, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	recs := []moat.AuditRecord{
		{Time: base, AccountID: "a", Principal: "root", SourceIP: "127.0.0.1", Action: "ddoscoo:ReleaseInstance", Resources: []string{"i-1"}, RequestID: "r1"},
		{Time: base.Add(time.Minute), AccountID: "b", Principal: "user/bob", SourceIP: "::1", Action: "bss:CreateInstance", Resources: []string{}, Code: "Forbidden", RequestID: "r2"},
		{Time: base.Add(2 * time.Minute), AccountID: "a", Principal: "sts/alice", Action: "ddoscoo:DescribeInstances", Resources: []string{"i-2", `i-"3"`}, RequestID: "r3"},
	}
	if err := s.AppendAudit(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if !(recs[0].Seq > 0 && recs[1].Seq > recs[0].Seq && recs[2].Seq > recs[1].Seq) {
		t.Fatalf("Seqs %d %d %d, want increasing in order", recs[0].Seq, recs[1].Seq, recs[2].Seq)
	}
	more := []moat.AuditRecord{{Time: base.Add(3 * time.Minute), AccountID: "a", Action: "ddoscoo:ReleaseInstance", Resources: nil}}
	if err := s.AppendAudit(t.Context(), more); err != nil || more[0].Seq <= recs[2].Seq {
		t.Fatalf("later AppendAudit: seq %d, %v", more[0].Seq, err)
	}
	seqs := func(f moat.AuditFilter) []int64 {
		t.Helper()
		got, err := s.Audit(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range got {
			out = append(out, r.Seq)
		}
		return out
	}
	all, err := s.Audit(t.Context(), moat.AuditFilter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("Audit = %+v, %v", all, err)
	}
	for i, r := range append(slices.Clone(recs), more[0]) {
		want := r
		if want.Resources == nil {
			want.Resources = []string{}
		}
		got := all[i]
		if got.Seq != want.Seq || !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC || got.AccountID != want.AccountID ||
			got.Principal != want.Principal || got.SourceIP != want.SourceIP || got.Action != want.Action ||
			!slices.Equal(got.Resources, want.Resources) || got.Resources == nil || got.Code != want.Code || got.RequestID != want.RequestID {
			t.Errorf("record %d = %+v, want %+v", i, got, want)
		}
	}
	for _, c := range []struct {
		f    moat.AuditFilter
		want []int64
	}{
		{moat.AuditFilter{AccountID: "a"}, []int64{recs[0].Seq, recs[2].Seq, more[0].Seq}},
		{moat.AuditFilter{Action: "ReleaseInstance"}, []int64{recs[0].Seq, more[0].Seq}},
		{moat.AuditFilter{Action: "ddoscoo:ReleaseInstance"}, []int64{recs[0].Seq, more[0].Seq}},
		{moat.AuditFilter{Action: "bss:ReleaseInstance"}, nil},
		{moat.AuditFilter{InstanceID: `i-"3"`}, []int64{recs[2].Seq}},
		{moat.AuditFilter{InstanceID: "i-"}, nil},
		{moat.AuditFilter{AfterSeq: recs[0].Seq, Limit: 2}, []int64{recs[1].Seq, recs[2].Seq}},
	} {
		if got := seqs(c.f); !slices.Equal(got, c.want) {
			t.Errorf("Audit(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	if n, err := s.PurgeAudit(t.Context(), base.Add(2*time.Minute), 1); err != nil || n != 1 {
		t.Errorf("PurgeAudit(limit 1) = %d, %v; want 1", n, err)
	}
	if n, err := s.PurgeAudit(t.Context(), base.Add(2*time.Minute), 0); err != nil || n != 1 {
		t.Errorf("PurgeAudit(no limit) = %d, %v; want 1", n, err)
	}
	if got := seqs(moat.AuditFilter{}); !slices.Equal(got, []int64{recs[2].Seq, more[0].Seq}) {
		t.Errorf("Audit after purging = %v", got)
	}
}
