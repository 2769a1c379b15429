"""Peer libraries configured for the benchmarks; each runs in the benchmark's own environment."""
