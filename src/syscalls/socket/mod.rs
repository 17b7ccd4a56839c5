//! socket(): the course's first line.
pub mod chain;
pub mod claims;
pub mod lesson;
