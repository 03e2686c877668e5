//! What a valid account field is, for every way accounts are changed (the
//! CLI and the admin API), so both refuse the same input in the same words.

use std::net::IpAddr;

use ipnet::IpNet;

/// Longest system_id and password we accept. SMPP 3.4 allows 16 and 9
/// octets, but many clients send longer ones; 64 is a sane bound.
pub const MAX_CREDENTIAL_LEN: usize = 64;

/// Sessions a new account may have bound at once, unless told otherwise.
pub const DEFAULT_MAX_BINDS: u32 = 4;

/// Requests a new account's session may have in flight, unless told otherwise.
pub const DEFAULT_WINDOW: u32 = 10;

/// deliver_sm a new account's session may have unanswered, unless told otherwise.
pub const DEFAULT_DELIVER_WINDOW: u32 = 10;

/// The largest deliver window: what a customer session is opened with
/// before its account is known (permits are counts, so a large cap costs
/// nothing until used).
pub const MAX_DELIVER_WINDOW: u32 = 1000;

/// Checks a deliver window: 1 to [`MAX_DELIVER_WINDOW`].
pub fn check_deliver_window(window: u32) -> Result<(), String> {
    if window == 0 || window > MAX_DELIVER_WINDOW {
        return Err(format!(
            "deliver_window is 1 to {MAX_DELIVER_WINDOW} (got {window})"
        ));
    }
    Ok(())
}

/// The longest password SMPP 3.4 carries in a bind (a C-Octet String of 9
/// octets with its NUL); many clients cut anything longer.
pub const SMPP_PASSWORD_LEN: usize = 8;

/// A warning for a password longer than [`SMPP_PASSWORD_LEN`]: smsgate
/// takes it, but an SMPP client that cuts it can never bind with it.
pub fn smpp_password_warning(password: &str) -> Option<String> {
    let length = password.chars().count();
    (length > SMPP_PASSWORD_LEN).then(|| {
        format!(
            "the password has {length} characters: SMPP 3.4 carries at most \
             {SMPP_PASSWORD_LEN} in a bind and many clients (smpplib, carrier platforms) \
             cut longer ones, so they could never bind with it; the HTTP API takes it whole"
        )
    })
}

/// Checks a system_id: 1 to 64 printable ASCII characters, no spaces.
pub fn check_system_id(text: &str) -> Result<(), String> {
    let length = text.chars().count();
    if length == 0 || length > MAX_CREDENTIAL_LEN {
        return Err(format!(
            "a system_id is 1 to {MAX_CREDENTIAL_LEN} characters long (this one has {length})"
        ));
    }
    if !text.chars().all(|c| c.is_ascii_graphic()) {
        return Err(
            "a system_id is printable ASCII without spaces (letters, digits, punctuation)"
                .to_string(),
        );
    }
    Ok(())
}

/// Checks a password's length (1 to 64 octets). Never echoes it.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.is_empty() || password.len() > MAX_CREDENTIAL_LEN {
        return Err(format!(
            "the password must be 1 to {MAX_CREDENTIAL_LEN} octets long (it is {})",
            password.len()
        ));
    }
    Ok(())
}

/// Reads an address range: CIDR (`203.0.113.0/24`, `2001:db8::/32`, host
/// bits dropped) or one address.
pub fn parse_ip_range(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
        format!(
            "{text:?} is not an address range: write CIDR like 203.0.113.0/24 or \
             2001:db8::/32, or a single address like 203.0.113.7"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_ids_are_printable_ascii_up_to_64() {
        assert!(check_system_id("acme-1").is_ok());
        assert!(check_system_id("").is_err());
        assert!(check_system_id("has space").is_err());
        assert!(check_system_id(&"x".repeat(65)).is_err());
    }

    #[test]
    fn address_ranges_are_cidr_or_one_address_with_host_bits_dropped() {
        assert_eq!(
            parse_ip_range("203.0.113.7/24").expect("cidr").to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            parse_ip_range("2001:db8::1").expect("address").to_string(),
            "2001:db8::1/128"
        );
        assert!(parse_ip_range("not an address").is_err());
    }
}
