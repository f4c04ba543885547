package providertest

import (
	"net/url"
	"testing"
)

// TestAliyunSignatureDocumentedExample checks the fake's independent RPC
// signature against the worked example of Alibaba Cloud's signature
// documentation (DescribeRegions, AccessKeySecret "testsecret").
func TestAliyunSignatureDocumentedExample(t *testing.T) {
	p := url.Values{
		"AccessKeyId":      {"testid"},
		"Action":           {"DescribeRegions"},
		"Format":           {"XML"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
		"SignatureVersion": {"1.0"},
		"Timestamp":        {"2016-02-23T12:46:24Z"},
		"Version":          {"2014-05-26"},
	}
	if got, want := AliyunSignature("GET", p, "testsecret"), "OLeaidS1JvxuMvnyHOwuJ+uX5qY="; got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"a b":   "a%20b",
		"*":     "%2A",
		"~-_.":  "~-_.",
		"短信":    "%E7%9F%AD%E4%BF%A1",
		"a+b=c": "a%2Bb%3Dc",
	} {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}
