//! MO messages handed to an Asterisk PBX as call files, the way the WebSMS
//! bridge (`websmsd`) does it: a call file per message in Asterisk's
//! outgoing spool, which sets up a Local channel and runs the dialplan with
//! the message in the `MESSAGE()` variables, so Asterisk forwards it to a
//! soft-phone over SIP SIMPLE.
//!
//! A call file is read line by line, so the text travels percent-encoded
//! (RFC 3986, `MESSAGE_ENCODE=rfc3986`; the dialplan decodes it with
//! `URIDECODE`). The numbers go in as they are and could add lines of their
//! own, so a number with anything but `A-Z a-z 0-9 + * # - . _` is refused.
//!
//! Asterisk acts on a file as soon as it appears in the outgoing directory,
//! so it must never see one half written: the file is written and synced
//! in the staging directory, then renamed into the outgoing directory,
//! which is atomic only within one filesystem. The two directories must
//! therefore be on the same filesystem (checked at start). Asterisk also
//! reads a file's modification time as the time to place the call; a file
//! written now carries the present time, so the message goes at once.
//!
//! The file is created with the process's umask: Asterisk must be able to
//! read it (and, to remove it, write the outgoing directory), so run
//! smsgate in Asterisk's group or with a umask that lets it.
//!
//! In smsgate.toml, with the defaults (those of `websms.conf`'s `[astqueue]`):
//!
//! ```toml
//! [asterisk.pbx]
//! outgoing_dir = "/var/spool/asterisk/outgoing" # must exist (Asterisk's spool)
//! staging_dir = "/var/spool/asterisk/staging"   # created if missing; same filesystem
//! channel_context = "default"  # dialplan context that sets up the channel
//! context = "default"          # dialplan context that handles the message
//! # extension = "..."          # default: the destination number
//! priority = 1
//! wait_time = "45s"            # how long to wait for an answer (whole seconds)
//! max_retries = 0              # 0: do not retry a failed call
//! retry_time = "300s"          # between retries (whole seconds)
//! archive = false              # true: Asterisk keeps it in outgoing_done
//! caller_name = ""             # the name in CallerID: "<name>" <from>
//! message_encode = "rfc3986"   # the only encoding a call file can carry
//! ```
//!
//! With the PrivateDial dialplan the contexts are `dp_entry_channel_open`
//! and `dp_entry_trunk_texting`.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::settings::InvalidSetting;

/// What RFC 3986 encodes: everything but the unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`), as PHP's `rawurlencode` does.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest number, extension or context name accepted.
const MAX_TOKEN_LEN: usize = 64;

/// One `[asterisk.NAME]` table: where the spool is and what goes into each
/// call file. See the module documentation for the TOML and the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsteriskSpoolConfig {
    /// Where Asterisk picks up call files (`outgoingdir`). It must exist.
    pub outgoing_dir: PathBuf,
    /// Where call files are written before being moved into
    /// `outgoing_dir` (`stagingdir`); created if missing. It must be on
    /// the same filesystem as `outgoing_dir`, and not be it.
    pub staging_dir: PathBuf,
    /// The dialplan context that answers the call, i.e. sets up the
    /// channel: `Channel: Local/<to>@<channel_context>`.
    pub channel_context: String,
    /// The dialplan context that handles the message.
    pub context: String,
    /// The dialplan extension that handles the message; `None` (the
    /// default): the destination number.
    pub extension: Option<String>,
    /// The dialplan priority that handles the message.
    pub priority: u32,
    /// How long to wait for an answer before the call fails (`WaitTime`).
    #[serde(with = "crate::settings::duration")]
    pub wait_time: Duration,
    /// Retries before failing (`MaxRetries`); 0: do not retry.
    pub max_retries: u32,
    /// The wait between retries (`RetryTime`).
    #[serde(with = "crate::settings::duration")]
    pub retry_time: Duration,
    /// Whether Asterisk keeps the call file in `outgoing_done` (`Archive`).
    pub archive: bool,
    /// The name part of the CallerID (`"<caller_name>" <from>`); empty by
    /// default, as WebSMS writes it.
    pub caller_name: String,
    /// How the text is encoded into its single line.
    pub message_encode: MessageEncode,
}

impl Default for AsteriskSpoolConfig {
    fn default() -> Self {
        AsteriskSpoolConfig {
            outgoing_dir: PathBuf::from("/var/spool/asterisk/outgoing"),
            staging_dir: PathBuf::from("/var/spool/asterisk/staging"),
            channel_context: "default".to_string(),
            context: "default".to_string(),
            extension: None,
            priority: 1,
            wait_time: Duration::from_secs(45),
            max_retries: 0,
            retry_time: Duration::from_secs(300),
            archive: false,
            caller_name: String::new(),
            message_encode: MessageEncode::default(),
        }
    }
}

/// How the text is written into a call file (`MESSAGE_ENCODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageEncode {
    /// Percent-encoded UTF-8, RFC 3986.
    #[default]
    Rfc3986,
}

impl MessageEncode {
    /// The name the dialplan sees in `MESSAGE_ENCODE`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageEncode::Rfc3986 => "rfc3986",
        }
    }
}

/// A checked spool: its directories exist, on one filesystem, and every
/// value that goes into a call file is safe there.
#[derive(Debug)]
pub struct AsteriskSpool {
    config: AsteriskSpoolConfig,
}

impl AsteriskSpool {
    /// Checks `[asterisk.<name>]` and creates its staging directory if
    /// missing.
    pub fn new(name: &str, config: AsteriskSpoolConfig) -> Result<AsteriskSpool, InvalidSetting> {
        let invalid = |problem: String| InvalidSetting(format!("asterisk.{name}: {problem}"));
        for (key, value) in [
            ("channel_context", Some(&config.channel_context)),
            ("context", Some(&config.context)),
            ("extension", config.extension.as_ref()),
        ] {
            if let Some(value) = value
                && !is_safe_token(value)
            {
                return Err(invalid(format!(
                    "{key} {value:?} is not a dialplan name: use 1 to {MAX_TOKEN_LEN} of \
                     A-Z a-z 0-9 + * # - . _"
                )));
            }
        }
        if config
            .caller_name
            .chars()
            .any(|c| c.is_control() || matches!(c, '"' | '<' | '>' | ';' | '\\'))
        {
            return Err(invalid(format!(
                "caller_name {:?} may not hold control characters or any of \" < > ; \\",
                config.caller_name
            )));
        }
        if config.priority == 0 {
            return Err(invalid("priority must be at least 1".into()));
        }
        for (key, value) in [
            ("wait_time", config.wait_time),
            ("retry_time", config.retry_time),
        ] {
            if value.subsec_nanos() != 0 || value.is_zero() {
                return Err(invalid(format!(
                    "{key} must be a whole number of seconds, at least 1s (call files \
                     count in seconds)"
                )));
            }
        }
        let outgoing = fs::metadata(&config.outgoing_dir)
            .ok()
            .filter(|meta| meta.is_dir())
            .ok_or_else(|| {
                invalid(format!(
                    "outgoing_dir {} is not a directory: it is Asterisk's spool, which \
                     Asterisk creates; check the path",
                    config.outgoing_dir.display()
                ))
            })?;
        fs::create_dir_all(&config.staging_dir).map_err(|e| {
            invalid(format!(
                "cannot create staging_dir {}: {e}",
                config.staging_dir.display()
            ))
        })?;
        let staging = fs::metadata(&config.staging_dir).map_err(|e| {
            invalid(format!(
                "cannot read staging_dir {}: {e}",
                config.staging_dir.display()
            ))
        })?;
        if staging.dev() != outgoing.dev() {
            return Err(invalid(format!(
                "staging_dir {} and outgoing_dir {} are on different filesystems: a call \
                 file is moved into the spool by a rename, which is atomic only within one \
                 filesystem; put staging_dir next to outgoing_dir",
                config.staging_dir.display(),
                config.outgoing_dir.display()
            )));
        }
        if staging.ino() == outgoing.ino() {
            return Err(invalid(format!(
                "staging_dir and outgoing_dir are the same directory ({}): Asterisk would \
                 read call files before they are complete",
                config.outgoing_dir.display()
            )));
        }
        Ok(AsteriskSpool { config })
    }

    /// The call file for one message from `from` to `to`, exactly as it is
    /// written. Fails (`InvalidInput`) when a number holds anything but
    /// `A-Z a-z 0-9 + * # - . _`: it could add lines to the file.
    pub fn call_file(&self, to: &str, from: &str, body: &str) -> io::Result<String> {
        for (field, value) in [("to", to), ("from", from)] {
            if !is_safe_token(value) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "refusing to write a call file: {field} {value:?} is not a number \
                         (1 to {MAX_TOKEN_LEN} of A-Z a-z 0-9 + * # - . _)"
                    ),
                ));
            }
        }
        let config = &self.config;
        let seconds = |d: Duration| d.as_secs();
        let mut file = String::with_capacity(320 + body.len() * 3);
        // Writing to a String cannot fail.
        let _ = write!(
            file,
            "Channel: Local/{to}@{channel_context}\n\
             CallerID: \"{caller_name}\" <{from}>\n\
             WaitTime: {wait}\n\
             MaxRetries: {max_retries}\n\
             RetryTime: {retry}\n\
             Context: {context}\n\
             Extension: {extension}\n\
             Priority: {priority}\n\
             Archive: {archive}\n\
             setvar: MESSAGE(to)={to}\n\
             setvar: MESSAGE(from)={from}\n\
             setvar: MESSAGE(body)={body}\n\
             setvar: MESSAGE_ENCODE={encode}\n",
            channel_context = config.channel_context,
            caller_name = config.caller_name,
            wait = seconds(config.wait_time),
            max_retries = config.max_retries,
            retry = seconds(config.retry_time),
            context = config.context,
            extension = config.extension.as_deref().unwrap_or(to),
            priority = config.priority,
            archive = if config.archive { "yes" } else { "no" },
            body = utf8_percent_encode(body, RFC3986),
            encode = config.message_encode.as_str(),
        );
        Ok(file)
    }

    /// Puts one message into the spool and returns the call file's path
    /// in the outgoing directory. The file is written and synced in the
    /// staging directory, renamed into the outgoing directory, and that
    /// directory synced, so once this returns the file survives a crash.
    ///
    /// The file is named after `id` (our message id; anything but
    /// `A-Z a-z 0-9 - _` is replaced, and a hash of the id added, so
    /// different ids keep different names). Writing the same id again
    /// replaces a file Asterisk has not taken yet instead of adding a
    /// second one.
    pub async fn write(&self, id: &str, to: &str, from: &str, body: &str) -> io::Result<PathBuf> {
        let content = self.call_file(to, from, body)?;
        let name = file_name(id);
        let staging = self.config.staging_dir.join(&name);
        let outgoing_dir = self.config.outgoing_dir.clone();
        tokio::task::spawn_blocking(move || spool(&staging, &outgoing_dir, &name, &content))
            .await
            .map_err(io::Error::other)?
    }
}

/// Writes `content` to `staging`, syncs it, renames it to `name` in
/// `outgoing_dir` and syncs that directory. A failure removes the staging
/// file.
fn spool(staging: &Path, outgoing_dir: &Path, name: &str, content: &str) -> io::Result<PathBuf> {
    let outgoing = outgoing_dir.join(name);
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(staging)
        .and_then(|mut file| {
            file.write_all(content.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(staging, &outgoing));
    if let Err(e) = written {
        let _ = fs::remove_file(staging);
        return Err(e);
    }
    File::open(outgoing_dir)?.sync_all()?;
    Ok(outgoing)
}

/// A safe, unique file name for message `id`.
fn file_name(id: &str) -> String {
    let is_safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !id.is_empty() && id.len() <= MAX_TOKEN_LEN && id.chars().all(is_safe) {
        return format!("{id}.call");
    }
    let cleaned: String = id
        .chars()
        .take(MAX_TOKEN_LEN)
        .map(|c| if is_safe(c) { c } else { '_' })
        .collect();
    let digest = Sha256::digest(id.as_bytes());
    format!("{cleaned}-{}.call", super::hex(&digest[..8]))
}

/// A number, extension or context name that cannot break a call-file line
/// or the `Local/<to>@<context>` channel name.
fn is_safe_token(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_TOKEN_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+*#-._".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spool in a fresh temporary directory, with the contexts of the
    /// WebSMS example.
    fn spool_in(dir: &Path, archive: bool) -> AsteriskSpool {
        let outgoing_dir = dir.join("outgoing");
        fs::create_dir(&outgoing_dir).expect("create outgoing");
        AsteriskSpool::new(
            "pbx",
            AsteriskSpoolConfig {
                outgoing_dir,
                staging_dir: dir.join("staging"),
                channel_context: "dp_entry_channel_open".into(),
                context: "dp_entry_trunk_texting".into(),
                archive,
                ..AsteriskSpoolConfig::default()
            },
        )
        .expect("valid spool")
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn call_file_is_the_websms_example_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = spool_in(dir.path(), true);
        let file = spool
            .call_file("+12025550160", "+15017122661", "Incoming message!.")
            .expect("safe numbers");
        assert_eq!(
            file,
            "Channel: Local/+12025550160@dp_entry_channel_open\n\
             CallerID: \"\" <+15017122661>\n\
             WaitTime: 45\n\
             MaxRetries: 0\n\
             RetryTime: 300\n\
             Context: dp_entry_trunk_texting\n\
             Extension: +12025550160\n\
             Priority: 1\n\
             Archive: yes\n\
             setvar: MESSAGE(to)=+12025550160\n\
             setvar: MESSAGE(from)=+15017122661\n\
             setvar: MESSAGE(body)=Incoming%20message%21.\n\
             setvar: MESSAGE_ENCODE=rfc3986\n"
        );
    }

    #[test]
    fn configured_extension_caller_name_and_timings_are_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outgoing_dir = dir.path().join("outgoing");
        fs::create_dir(&outgoing_dir).expect("create outgoing");
        let config: AsteriskSpoolConfig = toml::from_str(&format!(
            "outgoing_dir = {:?}\nstaging_dir = {:?}\nextension = \"sms\"\npriority = 2\n\
             wait_time = \"1m\"\nmax_retries = 3\nretry_time = \"10s\"\ncaller_name = \"SMS\"\n",
            outgoing_dir,
            dir.path().join("staging")
        ))
        .expect("valid toml");
        let spool = AsteriskSpool::new("pbx", config).expect("valid spool");
        let file = spool.call_file("100", "+31611", "x").expect("safe");
        assert!(file.starts_with(
            "Channel: Local/100@default\nCallerID: \"SMS\" <+31611>\nWaitTime: 60\n\
             MaxRetries: 3\nRetryTime: 10\nContext: default\nExtension: sms\nPriority: 2\n\
             Archive: no\n"
        ));
    }

    #[test]
    fn non_ascii_and_emoji_body_is_percent_encoded_utf8() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = spool_in(dir.path(), false);
        let file = spool
            .call_file("100", "200", "Grüße 😀\nline2; ~a-b_c.d")
            .expect("safe numbers");
        assert!(file.contains(
            "setvar: MESSAGE(body)=Gr%C3%BC%C3%9Fe%20%F0%9F%98%80%0Aline2%3B%20~a-b_c.d\n"
        ));
        assert_eq!(file.lines().count(), 13, "the body stays on one line");
    }

    #[test]
    fn numbers_that_could_add_lines_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = spool_in(dir.path(), false);
        for bad in [
            "123\nChannel: Local/666@evil",
            "123\r",
            "",
            "12 34",
            "a@b",
            "a/b",
            "1;2",
            "\"x\"",
            "<1>",
            "٣",
        ] {
            let to = spool.call_file(bad, "200", "hi").expect_err("bad to");
            assert_eq!(to.kind(), io::ErrorKind::InvalidInput, "to {bad:?}");
            let from = spool.call_file("100", bad, "hi").expect_err("bad from");
            assert_eq!(from.kind(), io::ErrorKind::InvalidInput, "from {bad:?}");
        }
        spool
            .call_file("+31699887766", "*#-._Ab9", "ok")
            .expect("the allowed characters pass");
    }

    #[tokio::test]
    async fn unsafe_numbers_write_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = spool_in(dir.path(), false);
        spool
            .write("01HX", "1\nApplication: System", "2", "hi")
            .await
            .expect_err("refused");
        assert!(names_in(&dir.path().join("outgoing")).is_empty());
        assert!(names_in(&dir.path().join("staging")).is_empty());
    }

    #[tokio::test]
    async fn write_moves_the_complete_file_into_outgoing_and_leaves_staging_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = spool_in(dir.path(), false);
        let path = spool
            .write("01HXAMPLE0000000000000000", "100", "200", "hello")
            .await
            .expect("written");
        assert_eq!(
            path,
            dir.path().join("outgoing/01HXAMPLE0000000000000000.call")
        );
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            spool.call_file("100", "200", "hello").expect("safe")
        );
        assert!(names_in(&dir.path().join("staging")).is_empty());
    }

    #[tokio::test]
    async fn a_watcher_of_outgoing_never_sees_a_partial_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = spool_in(dir.path(), false);
        let body = "long text ".repeat(20_000);
        let expected = spool.call_file("100", "200", &body).expect("safe");
        let outgoing = dir.path().join("outgoing");
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = {
            let (outgoing, expected, done) = (outgoing.clone(), expected.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen = 0usize;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    for entry in fs::read_dir(&outgoing).expect("read dir") {
                        let path = entry.expect("entry").path();
                        let content = fs::read_to_string(&path).expect("read");
                        assert_eq!(content.len(), expected.len(), "{}", path.display());
                        seen += 1;
                    }
                }
                seen
            })
        };
        for n in 0..40 {
            spool
                .write(&format!("msg{n}"), "100", "200", &body)
                .await
                .expect("written");
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let seen = watcher.join().expect("no partial file was seen");
        assert!(seen > 0, "the watcher looked at files");
        assert_eq!(names_in(&outgoing).len(), 40);
        assert!(names_in(&dir.path().join("staging")).is_empty());
    }

    #[tokio::test]
    async fn writing_the_same_id_again_replaces_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = spool_in(dir.path(), false);
        spool.write("m1", "100", "200", "first").await.expect("ok");
        let path = spool.write("m1", "100", "200", "second").await.expect("ok");
        assert_eq!(names_in(&dir.path().join("outgoing")), vec!["m1.call"]);
        assert!(
            fs::read_to_string(path)
                .expect("read")
                .contains("MESSAGE(body)=second\n")
        );
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(
            file_name("01J0ABCDEFGHJKMNPQRSTVWXYZ"),
            "01J0ABCDEFGHJKMNPQRSTVWXYZ.call"
        );
        let dotted = file_name("../../etc/passwd");
        let underscored = file_name("______etc_passwd");
        assert!(dotted.starts_with("______etc_passwd-"), "{dotted}");
        assert!(!dotted.contains('/'));
        assert_ne!(dotted, underscored);
        assert_ne!(file_name("a.b"), file_name("a:b"));
        assert!(file_name("").ends_with(".call"));
        assert!(file_name(&"x".repeat(500)).len() < 100);
    }

    #[test]
    fn missing_outgoing_dir_is_refused_and_staging_is_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = AsteriskSpoolConfig {
            outgoing_dir: dir.path().join("nope"),
            staging_dir: dir.path().join("staging"),
            ..AsteriskSpoolConfig::default()
        };
        let error = AsteriskSpool::new("pbx", config.clone()).expect_err("no outgoing");
        assert!(
            error.to_string().contains("asterisk.pbx: outgoing_dir"),
            "{error}"
        );
        fs::create_dir(dir.path().join("nope")).expect("create");
        AsteriskSpool::new("pbx", config).expect("valid now");
        assert!(dir.path().join("staging").is_dir());
    }

    #[test]
    fn staging_equal_to_outgoing_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = AsteriskSpoolConfig {
            outgoing_dir: dir.path().to_path_buf(),
            staging_dir: dir.path().join("."),
            ..AsteriskSpoolConfig::default()
        };
        let error = AsteriskSpool::new("pbx", config).expect_err("same dir");
        assert!(error.to_string().contains("same directory"), "{error}");
    }

    #[test]
    fn staging_on_another_filesystem_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Ok(shm) = tempfile::tempdir_in("/dev/shm") else {
            return; // no second filesystem to try here
        };
        let (Ok(a), Ok(b)) = (fs::metadata(dir.path()), fs::metadata(shm.path())) else {
            return;
        };
        if a.dev() == b.dev() {
            return;
        }
        let config = AsteriskSpoolConfig {
            outgoing_dir: dir.path().to_path_buf(),
            staging_dir: shm.path().join("staging"),
            ..AsteriskSpoolConfig::default()
        };
        let error = AsteriskSpool::new("pbx", config).expect_err("two filesystems");
        assert!(
            error.to_string().contains("different filesystems"),
            "{error}"
        );
    }

    #[test]
    fn unsafe_settings_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = AsteriskSpoolConfig {
            outgoing_dir: dir.path().to_path_buf(),
            staging_dir: dir.path().join("staging"),
            ..AsteriskSpoolConfig::default()
        };
        let cases = [
            AsteriskSpoolConfig {
                context: "a\nb".into(),
                ..base.clone()
            },
            AsteriskSpoolConfig {
                channel_context: "x@y".into(),
                ..base.clone()
            },
            AsteriskSpoolConfig {
                extension: Some(String::new()),
                ..base.clone()
            },
            AsteriskSpoolConfig {
                caller_name: "a\" <1>".into(),
                ..base.clone()
            },
            AsteriskSpoolConfig {
                priority: 0,
                ..base.clone()
            },
            AsteriskSpoolConfig {
                wait_time: Duration::from_millis(1500),
                ..base.clone()
            },
            AsteriskSpoolConfig {
                retry_time: Duration::ZERO,
                ..base.clone()
            },
        ];
        for config in cases {
            assert!(
                AsteriskSpool::new("pbx", config.clone()).is_err(),
                "{config:?}"
            );
        }
        AsteriskSpool::new("pbx", base).expect("the base is valid");
    }

    #[test]
    fn empty_table_gives_the_astqueue_defaults_and_unknown_keys_are_refused() {
        let config: AsteriskSpoolConfig = toml::from_str("").expect("empty is valid");
        assert_eq!(config, AsteriskSpoolConfig::default());
        assert_eq!(config.wait_time, Duration::from_secs(45));
        assert_eq!(config.retry_time, Duration::from_secs(300));
        assert!(!config.archive);
        assert!(toml::from_str::<AsteriskSpoolConfig>("waittime = 45").is_err());
        assert!(toml::from_str::<AsteriskSpoolConfig>("message_encode = \"base64\"").is_err());
    }
}
