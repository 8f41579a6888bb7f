//! Capture reading (stub, filled in by the pipeline work).
