//! The session layer shared by server and client.
