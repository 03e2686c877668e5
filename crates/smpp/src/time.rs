//! SMPP time formats: absolute and relative.
