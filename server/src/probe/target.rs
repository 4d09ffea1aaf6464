//! What to probe: an `rtsp://` URL without credentials, and the user name
//! and password kept beside it. A password is never part of the URL, so
//! the URL can be printed, logged and stored as it is.

use crate::config::Secret;

/// A camera stream to probe. `Debug` shows the password as `[redacted]`.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    url: url::Url,
    user: Option<String>,
    password: Option<Secret>,
}

/// Why a URL cannot be probed; the messages name the field and say what to
/// do, in English and Turkish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the URL is not valid ({0}) / URL geçersiz ({0})")]
    Invalid(String),
    #[error(
        "the URL must start with rtsp:// (got {0}://) / URL rtsp:// ile başlamalı ({0}:// verildi)"
    )]
    Scheme(String),
    #[error("the URL has no host / URL'de sunucu adresi yok")]
    NoHost,
    #[error(
        "the URL contains a password: remove it and give it in the GOZCU_CAMERA_PASSWORD \
         environment variable or with --password-file, so it does not end up in the shell \
         history or the process list / URL şifre içeriyor: şifreyi URL'den çıkarın ve \
         GOZCU_CAMERA_PASSWORD ortam değişkeniyle ya da --password-file ile verin"
    )]
    PasswordInUrl,
    #[error(
        "the URL names user {in_url:?} but --user says {given:?}: give the user once / \
         URL'deki kullanıcı ({in_url:?}) ile --user ({given:?}) farklı: kullanıcıyı bir kez verin"
    )]
    UserConflict { in_url: String, given: String },
    #[error("a password was given without a user name (--user) / şifre verildi ama kullanıcı adı (--user) yok")]
    PasswordWithoutUser,
}

impl ProbeTarget {
    /// Parses `rtsp://host[:port]/path`. A user name in the URL
    /// (`rtsp://admin@host/…`) is taken as the user; a password there is
    /// refused, because a URL travels through logs and process lists.
    pub fn parse(
        url: &str,
        user: Option<String>,
        password: Option<Secret>,
    ) -> Result<ProbeTarget, TargetError> {
        let mut parsed = url::Url::parse(url.trim()).map_err(|e| {
            // The parser's message never repeats the input, so a password in
            // a malformed URL cannot leak through it.
            TargetError::Invalid(e.to_string())
        })?;
        if parsed.password().is_some() {
            return Err(TargetError::PasswordInUrl);
        }
        if parsed.scheme() != "rtsp" {
            return Err(TargetError::Scheme(parsed.scheme().to_owned()));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(TargetError::NoHost);
        }
        let in_url = percent_decode(parsed.username());
        let user = match (in_url.is_empty(), user.filter(|u| !u.is_empty())) {
            (true, given) => given,
            (false, None) => Some(in_url),
            (false, Some(given)) if given == in_url => Some(given),
            (false, Some(given)) => return Err(TargetError::UserConflict { in_url, given }),
        };
        if user.is_none() && password.is_some() {
            return Err(TargetError::PasswordWithoutUser);
        }
        // Cannot fail for an rtsp URL with a host.
        let _ = parsed.set_username("");
        Ok(ProbeTarget {
            url: parsed,
            user,
            password,
        })
    }

    /// The URL without any credentials.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(crate) fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// Host and port for the TCP connection (554 is RTSP's default port).
    pub fn host_port(&self) -> (String, u16) {
        let host = match self.url.host() {
            // `host_str` keeps the brackets of an IPv6 literal, which the
            // resolver does not want.
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => self.url.host_str().unwrap_or_default().to_owned(),
        };
        (host, self.url.port().unwrap_or(554))
    }
}

impl std::fmt::Display for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// `%XX` escapes in the user part of a URL, decoded as UTF-8 (lossy).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_url_is_accepted() {
        let t = ProbeTarget::parse("rtsp://10.0.0.5/Streaming/101", None, None).unwrap();
        assert_eq!(t.to_string(), "rtsp://10.0.0.5/Streaming/101");
        assert_eq!(t.host_port(), ("10.0.0.5".to_owned(), 554));
        assert_eq!(t.user(), None);
        let t = ProbeTarget::parse("rtsp://[::1]:8554/a", None, None).unwrap();
        assert_eq!(t.host_port(), ("::1".to_owned(), 8554));
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_repeating_it() {
        for url in [
            "rtsp://admin:hunter2@10.0.0.5/live",
            "rtsp://:hunter2@10.0.0.5/live",
            "http://admin:hunter2@10.0.0.5/live",
        ] {
            let err = ProbeTarget::parse(url, None, None).unwrap_err();
            assert_eq!(err, TargetError::PasswordInUrl, "{url}");
            let text = err.to_string();
            assert!(!text.contains("hunter2"));
            assert!(text.contains("GOZCU_CAMERA_PASSWORD"));
            assert!(text.contains("--password-file"));
        }
    }

    #[test]
    fn a_user_in_the_url_is_moved_out_of_it() {
        let t = ProbeTarget::parse("rtsp://ad%40min@cam.local/x", None, Some(Secret::new("pw")))
            .unwrap();
        assert_eq!(t.user(), Some("ad@min"));
        assert_eq!(t.to_string(), "rtsp://cam.local/x");
        let same =
            ProbeTarget::parse("rtsp://admin@cam.local/x", Some("admin".into()), None).unwrap();
        assert_eq!(same.user(), Some("admin"));
        assert!(matches!(
            ProbeTarget::parse("rtsp://admin@cam.local/x", Some("root".into()), None),
            Err(TargetError::UserConflict { .. })
        ));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        assert!(matches!(
            ProbeTarget::parse("not a url", None, None),
            Err(TargetError::Invalid(_))
        ));
        assert_eq!(
            ProbeTarget::parse("rtsps://cam/x", None, None).unwrap_err(),
            TargetError::Scheme("rtsps".into())
        );
        assert_eq!(
            ProbeTarget::parse("rtsp:///x", None, None).unwrap_err(),
            TargetError::NoHost
        );
        assert_eq!(
            ProbeTarget::parse("rtsp://cam/x", None, Some(Secret::new("pw"))).unwrap_err(),
            TargetError::PasswordWithoutUser
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let t = ProbeTarget::parse(
            "rtsp://cam/x",
            Some("admin".into()),
            Some(Secret::new("hunter2")),
        )
        .unwrap();
        let debug = format!("{t:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }
}
