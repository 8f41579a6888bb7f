//! Calls (stub).
