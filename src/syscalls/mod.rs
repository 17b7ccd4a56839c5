//! One module per system call: what it traces, how its evidence is judged, how the lesson tells it.
pub mod socket;
