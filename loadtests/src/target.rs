//! The server address, checked once before any socket is opened: plain HTTP, no path, and a
//! loopback host unless the operator explicitly allows another one.
//!
//! This workplace forbids load traffic to other machines, so a typo in `--url` must fail here
//! rather than hammer somebody else's server.

use std::net::IpAddr;

use anyhow::{Context, Result, bail};
use reqwest::Url;

/// Parses `--url` and refuses anything the harness must not talk to.
pub fn parse_target(url: &str, allow_remote: bool) -> Result<Url> {
    let parsed = Url::parse(url).with_context(|| format!("--url {url:?} is not a URL"))?;
    if parsed.scheme() != "http" {
        bail!("--url {url:?}: only http:// is supported (this harness is built without TLS)");
    }
    let host = parsed.host_str().with_context(|| format!("--url {url:?} has no host"))?;
    if !allow_remote && !is_loopback_host(host) {
        bail!(
            "--url {url:?}: host {host:?} is not a loopback address (127.0.0.0/8, ::1, localhost); \
             pass --allow-remote to load a remote server"
        );
    }
    if parsed.path() != "/" || parsed.query().is_some() {
        // Endpoint URLs are built from the root, so a path would be silently dropped.
        bail!("--url {url:?}: give only scheme, host and port; the API is always under /api");
    }
    Ok(parsed)
}

/// True for `localhost`, any 127.0.0.0/8 address and `::1`, including IPv4-mapped forms.
/// Takes the host as [`Url::host_str`] writes it: IPv6 addresses in brackets.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        let cases = [
            ("127.0.0.1", true),
            ("127.1.2.3", true),
            ("localhost", true),
            ("LOCALHOST", true),
            ("localhost.", true),
            ("[::1]", true),
            ("[::ffff:127.0.0.1]", true),
            ("10.0.0.1", false),
            ("128.0.0.1", false),
            ("0.0.0.0", false),
            ("[::]", false),
            ("[2001:db8::1]", false),
            ("example.com", false),
            ("localhost.example.com", false),
            ("mylocalhost", false),
        ];
        for (host, expected) in cases {
            assert_eq!(is_loopback_host(host), expected, "{host}");
        }
    }

    #[test]
    fn loopback_urls_are_accepted() {
        for url in ["http://127.0.0.1:8080", "http://localhost:3000/", "http://[::1]:8080", "http://127.0.0.2"] {
            assert!(parse_target(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn remote_urls_need_allow_remote() {
        for url in ["http://192.168.1.10:8080", "http://example.com", "http://2130706433.example"] {
            let err = parse_target(url, false).unwrap_err().to_string();
            assert!(err.contains("--allow-remote"), "{url}: {err}");
            assert!(parse_target(url, true).is_ok(), "{url}");
        }
    }

    #[test]
    fn the_url_parser_normalises_before_the_check() {
        // Decimal and hex IPv4 forms are canonicalised by the URL parser, so they cannot be
        // used to slip a remote address past the check, nor to refuse a loopback one.
        assert!(parse_target("http://2130706433:8080", false).is_ok());
        assert!(parse_target("http://0x7f.1:8080", false).is_ok());
        assert!(parse_target("http://3232235786:8080", false).is_err());
    }

    #[test]
    fn urls_with_a_path_or_query_are_refused() {
        assert!(parse_target("http://127.0.0.1:8080/", false).is_ok());
        assert!(parse_target("http://127.0.0.1:8080/app", false).is_err());
        assert!(parse_target("http://127.0.0.1:8080/?x=1", false).is_err());
    }

    #[test]
    fn non_http_and_garbage_are_refused() {
        for url in ["https://127.0.0.1", "ftp://127.0.0.1", "127.0.0.1:8080", "not a url", "file:///tmp"] {
            assert!(parse_target(url, true).is_err(), "{url}");
        }
    }
}
