package moat

import (
	"crypto/rand"
	"math/big"
)

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	mixedAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	digits     = "0123456789"
)

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand failed: " + err.Error()) // the kernel's CSPRNG does not fail on Linux
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// NewInstanceID returns an ID in the documented shapes: ddoscoo-cn-… for
// Anti-DDoS Pro, ddosDip-sg-… for Anti-DDoS Premium (the IDs DescribeInstances returns). Twelve
// random characters make a collision vanishingly rare; the store still
// rejects one and the caller draws again.
func NewInstanceID(r Region) string {
	if r == RegionOverseas {
		return "ddosDip-sg-" + randomString(lowerAlnum, 12)
	}
	return "ddoscoo-cn-" + randomString(lowerAlnum, 12)
}

// NewAccountID returns a 16-digit account ID like Alibaba's.
func NewAccountID() string {
	return randomString("123456789", 1) + randomString(digits, 15)
}

// NewAccessKeyPair returns an AccessKeyId in Alibaba's LTAI… shape and a
// 30-character secret.
func NewAccessKeyPair() (id, secret string) {
	return "LTAI" + randomString(mixedAlnum, 20), randomString(mixedAlnum, 30)
}

// NewResourceGroupID returns an ID in the shape of an account's default
// resource group.
func NewResourceGroupID() string {
	return "rg-acfm" + randomString(lowerAlnum, 11)
}

// NewOrderID returns a 15-digit BSS order number.
func NewOrderID() string {
	return randomString("123456789", 1) + randomString(digits, 14)
}
