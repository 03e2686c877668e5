//! Accounts: who may bind, with which credentials and limits. The accounts
//! themselves live in the store; this module holds the logic around them.

pub mod ip_guard;
pub mod password;
pub mod verifier;
