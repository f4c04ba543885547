// Package benchkit holds what the benchmark drivers under bench/ share:
// a registry of cleanups run at exit, the /proc readings (children, CPU
// ticks, memory) and the PM2 command line. It is not part of node-agent.
package benchkit
