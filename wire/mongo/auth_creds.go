package mongo

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// SCRAM as mongod does it: SCRAM-SHA-256 over the SASLprep'ed password (15000 iterations), and
// SCRAM-SHA-1 over MongoDB's legacy digest hex(md5(user + ":mongo:" + password)) (10000
// iterations), each with its own random salt. Only salted keys are stored, never the password.
const (
	mechSHA256  = "SCRAM-SHA-256"
	mechSHA1    = "SCRAM-SHA-1"
	itersSHA256 = 15000
	itersSHA1   = 10000
)

// scramKeys is one mechanism's stored credentials, as kept in meta (BSON).
type scramKeys struct {
	Salt      []byte `bson:"salt"`
	Iters     int    `bson:"iterationCount"`
	StoredKey []byte `bson:"storedKey"`
	ServerKey []byte `bson:"serverKey"`
}

// credentials are a user's keys for both mechanisms: meta.User.Credentials.
type credentials struct {
	SHA256 scramKeys `bson:"SCRAM-SHA-256"`
	SHA1   scramKeys `bson:"SCRAM-SHA-1"`
}

// newCredentials salts and derives both mechanisms' keys for user's password.
func newCredentials(user, password string) ([]byte, error) {
	var c credentials
	var err error
	if c.SHA256, err = deriveKeys(scram.SHA256, user, password, itersSHA256, 28, true); err != nil {
		return nil, err
	}
	if c.SHA1, err = deriveKeys(scram.SHA1, user, mongoDigest(user, password), itersSHA1, 16, false); err != nil {
		return nil, err
	}
	return bson.Marshal(c)
}

func deriveKeys(h scram.HashGeneratorFcn, user, password string, iters, saltLen int, prep bool) (scramKeys, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return scramKeys{}, err
	}
	var client *scram.Client
	var err error
	if prep {
		client, err = h.NewClient(user, password, "")
	} else {
		client, err = h.NewClientUnprepped(user, password, "")
	}
	if err != nil {
		return scramKeys{}, fmt.Errorf("password: %w", err)
	}
	sc := client.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: iters})
	return scramKeys{Salt: salt, Iters: iters, StoredKey: sc.StoredKey, ServerKey: sc.ServerKey}, nil
}

// mongoDigest is the password SCRAM-SHA-1 uses in MongoDB.
func mongoDigest(user, password string) string {
	sum := md5.Sum([]byte(user + ":mongo:" + password))
	return hex.EncodeToString(sum[:])
}

// stored returns the keys of mechanism mech from a user's credentials.
func stored(raw []byte, mech string) (scram.StoredCredentials, error) {
	var c credentials
	if err := bson.Unmarshal(raw, &c); err != nil {
		return scram.StoredCredentials{}, err
	}
	k := c.SHA256
	if mech == mechSHA1 {
		k = c.SHA1
	}
	if len(k.StoredKey) == 0 {
		return scram.StoredCredentials{}, fmt.Errorf("no %s credentials", mech)
	}
	return scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(k.Salt), Iters: k.Iters}, StoredKey: k.StoredKey, ServerKey: k.ServerKey}, nil
}
