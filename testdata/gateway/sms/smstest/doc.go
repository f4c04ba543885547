// Package smstest holds the real parts the gateway's tests and benchmarks
// run against: a redis-server of their own on a free loopback port
// (StartRedis), and a simulated SMS provider service that deduplicates by
// out id as real providers do and fails a chosen share of calls (Provider).
package smstest
