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

// AccessKey is an AccessKey pair: of the account itself (UserName ""), of
// one of its RAM users, or a RAM user's temporary STS credentials (with a
// SecurityToken and an expiry). Secret is the plain secret in memory; the
// store keeps it sealed.
type AccessKey struct {
	ID        string
	Secret    string
	AccountID string
	Active    bool
	CreatedAt time.Time

	UserName string // "" for the account's own keys
	// STS credentials only:
	TokenHash     string    // hex SHA-256 of the SecurityToken
	Expires       time.Time // zero for permanent keys
	SessionPolicy string    // an inline policy that narrows the user's; "" for none
}

// STS reports whether the key is a temporary credential.
func (k *AccessKey) STS() bool { return k.TokenHash != "" }

// Caller is the authenticated principal of a request.
type Caller struct {
	AccountID   string
	AccessKeyID string
	Type        PrincipalType
	UserName    string
	Env         Env
	// Access narrows what listings show a RAM principal (nil: everything).
	Access *Access
	// sessionPolicy is the STS key's inline policy, if any.
	SessionPolicy string
}

// Principal names the caller for audit records and access-denied details.
func (c *Caller) Principal() string {
	switch c.Type {
	case PrincipalRAMUser:
		return "user/" + c.UserName
	case PrincipalSTS:
		return "sts/" + c.UserName
	}
	return "root"
}
