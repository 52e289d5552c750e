// Command telemetry-minio-admin gives the cluster profile's clients a MinIO user
// of their own, limited to the pipeline's buckets, so they never hold the root
// credentials. Everything comes from the environment (never from arguments,
// which other users can read):
//
//	MINIO_ENDPOINT        host:port of MinIO's S3 API (TLS)
//	MINIO_CA_FILE         PEM file of the CA that signed MinIO's certificate
//	MINIO_ROOT_USER       MinIO's root user and password
//	MINIO_ROOT_PASSWORD
//	CLIENT_ACCESS_KEY     the user to create (or update) and its secret
//	CLIENT_SECRET_KEY
//	BUCKETS               comma-separated buckets the user may read and write
//
// It creates (or replaces) the policy "telemetry-buckets", creates or updates
// the user, and attaches the policy to it. Running it again changes nothing.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/madmin-go/v3"
)

const policyName = "telemetry-buckets"

func env(name string) string {
	value := os.Getenv(name)
	if value == "" {
		fail(fmt.Errorf("%s is not set", name))
	}
	return value
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "telemetry-minio-admin:", err)
	os.Exit(1)
}

// policy allows the bucket-level and object-level S3 actions on the buckets only.
func policy(buckets []string) []byte {
	var resources []string
	for _, bucket := range buckets {
		resources = append(resources, "arn:aws:s3:::"+bucket, "arn:aws:s3:::"+bucket+"/*")
	}
	document := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":   "Allow",
			"Action":   []string{"s3:*"},
			"Resource": resources,
		}},
	}
	text, err := json.Marshal(document)
	if err != nil {
		fail(err)
	}
	return text
}

func main() {
	pem, err := os.ReadFile(env("MINIO_CA_FILE"))
	if err != nil {
		fail(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		fail(fmt.Errorf("no certificate in %s", os.Getenv("MINIO_CA_FILE")))
	}
	client, err := madmin.New(env("MINIO_ENDPOINT"), env("MINIO_ROOT_USER"), env("MINIO_ROOT_PASSWORD"), true)
	if err != nil {
		fail(err)
	}
	client.SetCustomTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	buckets := strings.Split(env("BUCKETS"), ",")
	if err := client.AddCannedPolicy(ctx, policyName, policy(buckets)); err != nil {
		fail(fmt.Errorf("add policy: %w", err))
	}
	user := env("CLIENT_ACCESS_KEY")
	if err := client.AddUser(ctx, user, env("CLIENT_SECRET_KEY")); err != nil {
		fail(fmt.Errorf("add user: %w", err))
	}
	_, err = client.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{policyName}, User: user})
	if err != nil && !strings.Contains(err.Error(), "already") {
		fail(fmt.Errorf("attach policy: %w", err))
	}
	fmt.Printf("user %s may use %s\n", user, strings.Join(buckets, ", "))
}
