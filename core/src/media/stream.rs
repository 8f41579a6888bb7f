//! Per-stream statistics defined as Wireshark's RTP Stream Analysis.
