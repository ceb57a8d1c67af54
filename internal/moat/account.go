package moat

import "time"

// Account is a tenant: it owns instances and AccessKeys. Its ID has the
// shape of an Alibaba Cloud account ID (a long decimal number).
type Account struct {
	ID        string
	CreatedAt time.Time
	// ResourceGroupID is the account's default resource group, which its
	// instances join (Alibaba gives every account one, rg-acfm…).
	ResourceGroupID string
}

// AccessKey is an AccessKey pair of an account.
type AccessKey struct {
	ID        string
	Secret    string
	AccountID string
	Active    bool
	CreatedAt time.Time
}

// Caller is the authenticated principal of a request.
type Caller struct {
	AccountID   string
	AccessKeyID string
}
