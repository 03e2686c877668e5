//! SQLite store: see mod.rs.
