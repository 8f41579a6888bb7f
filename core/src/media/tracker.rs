//! The media stage the pipeline feeds.
