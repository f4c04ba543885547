//go:build gatewaydeps

// Package gatewaydeps keeps the reference gateway's dependencies in go.mod.
//
// The gateway lives under testdata/, which `go mod tidy` does not look into,
// so without these imports tidy would drop the modules it needs. The build
// tag keeps this file out of every build.
package gatewaydeps

import (
	_ "github.com/aliyun/alibaba-cloud-sdk-go/services/dysmsapi"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	_ "modernc.org/sqlite"
)
